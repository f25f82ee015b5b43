// Apollo Client 4's automatic persisted queries against URL: the same query twice over the persisted-queries
// link (GET for hashed queries) and once as a plain POST. Every request and response is recorded so the
// Python test (tests/test_clients.py) can check the protocol, not just the data. Always exits 0.
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';

const url = process.argv[2];
if (!url) {
  console.error('usage: node apq.mjs URL');
  process.exit(2);
}

const QUERY = gql`
  query ClientsFront($first: Int!) {
    articles(first: $first) {
      nodes {
        slug
        title
      }
    }
  }
`;
const variables = { first: 3 };

const requests = [];
let phase = 'apq_first';

// Records what went over the wire: for a GET the URL's parameters, for a POST its JSON body.
async function recordingFetch(input, init = {}) {
  const target = new URL(String(input));
  const method = (init.method ?? 'GET').toUpperCase();
  let params = {};
  if (method === 'GET') {
    const extensions = target.searchParams.get('extensions');
    params = { query: target.searchParams.get('query'), extensions: extensions && JSON.parse(extensions) };
  } else if (typeof init.body === 'string') {
    params = JSON.parse(init.body);
  }
  const entry = {
    phase,
    method,
    has_query: Boolean(params.query),
    persisted_query: params.extensions?.persistedQuery ?? null,
    url_length: target.href.length,
  };
  requests.push(entry);
  try {
    const response = await fetch(input, init);
    entry.status = response.status;
    entry.content_type = response.headers.get('content-type');
    const text = await response.clone().text();
    try {
      const body = JSON.parse(text);
      entry.has_data = body.data != null;
      entry.errors = (body.errors ?? []).map((e) => ({ message: e.message, code: e.extensions?.code ?? null }));
    } catch {
      entry.body = text.slice(0, 500);
    }
    return response;
  } catch (error) {
    entry.fetch_error = String(error);
    throw error;
  }
}

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const http = new HttpLink({ uri: url, fetch: recordingFetch });
const apq = new ApolloClient({
  link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(http),
  cache: new InMemoryCache(),
});
const plain = new ApolloClient({ link: http, cache: new InMemoryCache() });

// The data of one run, or its error as a string (the test reports it; the script does not crash).
async function run(client) {
  try {
    const { data, error } = await client.query({ query: QUERY, variables, fetchPolicy: 'no-cache' });
    return error ? { error: String(error) } : data;
  } catch (error) {
    return { error: String(error) };
  }
}

const data_apq_first = await run(apq);
phase = 'apq_second';
const data_apq_second = await run(apq);
phase = 'plain';
const data_plain = await run(plain);
console.log(JSON.stringify({ requests, data_apq_first, data_apq_second, data_plain }));
