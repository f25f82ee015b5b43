-- What PostGraphile 5 serves beside the CMS's tables (bench/run.py runs this on the benchmark's database,
-- after the import): the CMS's visibility rule for the public, which PostGraphile has no rule for, as a plain
-- view (PUBLISHED and published_at passed), and an article's visible translations as a computed column.
-- server.mjs's smart tags give the view its key and its relations.
CREATE OR REPLACE VIEW visible_article AS
SELECT * FROM article WHERE status = 'PUBLISHED' AND published_at <= now();

CREATE OR REPLACE FUNCTION visible_article_translations(a visible_article) RETURNS SETOF visible_article
LANGUAGE sql STABLE AS $$
  SELECT * FROM visible_article t
  WHERE t.translation_group = a.translation_group AND t.id <> a.id
  ORDER BY t.language, t.id
$$;
