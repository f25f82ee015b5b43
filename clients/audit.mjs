// graphql-http's GraphQL-over-HTTP audit against URL: prints every result as one JSON array and exits 0,
// so the Python test (tests/test_clients.py) is the one that judges.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}

let results;
try {
  results = (await auditServer({ url, fetchFn: fetch })).map(({ id, name, status, reason }) => ({
    id,
    name,
    status,
    reason: reason ?? null,
  }));
} catch (error) {
  // A fatal audit (e.g. the server is unreachable) is reported as one error result, not a crash.
  results = [{ id: 'fatal', name: 'auditServer threw', status: 'error', reason: String(error?.stack ?? error) }];
}
console.log(JSON.stringify(results));
