// PostGraphile 5 (the amber preset) over the benchmark's PostgreSQL database, on 127.0.0.1:CMS_PORT, as
// bench/run.py serves its other servers; CMS_DATABASE_URL names the database. GET /healthz answers 200
// once the schema is built. Smart tags make schema.sql's view an article table: its key, its natural key
// (slug, language) and the relations of its bylines, sources, tags and category.
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { jsonPgSmartTags } from "postgraphile/utils";

// PostGraphile 5 asks for Node 22, whose one addition it calls is Promise.withResolvers (ES2024); on Node
// 20 its reads fail without it, so it is given here, as the specification defines it.
Promise.withResolvers ??= () => {
  let resolve, reject;
  const promise = new Promise((yes, no) => [resolve, reject] = [yes, no]);
  return { promise, resolve, reject };
};

const toView = (table) => ({ [table]: { tags: { foreignKey: "(article_id) references visible_article (id)" } } });
const tags = jsonPgSmartTags({
  version: 1,
  config: {
    class: {
      visible_article: {
        tags: {
          primaryKey: "id",
          unique: "slug,language",
          foreignKey: "(category_id) references category (id)",
        },
      },
      ...toView("article_author"),
      ...toView("article_source"),
      ...toView("article_tag"),
    },
  },
});

const pgl = postgraphile({
  extends: [PostGraphileAmberPreset],
  plugins: [tags],
  pgServices: [makePgService({ connectionString: process.env.CMS_DATABASE_URL, schemas: ["public"] })],
  grafserv: { graphqlPath: "/graphql", graphiql: false },
});
await pgl.getSchema();
const handle = pgl.createServ(grafserv).createHandler();
const server = createServer((request, response) =>
  handle(request, response, () => {
    const healthz = request.url === "/healthz";
    response.writeHead(healthz ? 200 : 404, { "Content-Type": "application/json" });
    response.end(healthz ? '{"status":"ok"}' : '{"errors":[{"message":"not found"}]}');
  }),
);
server.listen(Number(process.env.CMS_PORT), "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => pgl.release().then(() => process.exit(0))));
}
