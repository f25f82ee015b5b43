-- wrk script for bench/run.py: POST with the bodies of a file (one JSON request body a line), rotating
-- through them, each thread from its own line so the threads ask for different things. A line
-- "GET<tab>path<tab>etag" is a GET of that path with If-None-Match: etag (a revalidation) instead, and a
-- line "GET<tab>path" a plain GET of that path (a feed).
-- done() prints one JSON line (latencies in microseconds) that bench/run.py reads.
--   wrk -t2 -c32 -d10s -s bench/graphql.lua http://127.0.0.1:8000/graphql -- var/bench/front.bodies

local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  prepared = {}
  for line in io.lines(args[1]) do
    local path, etag = line:match("^GET\t([^\t]+)\t(.+)$")
    local plain = line:match("^GET\t([^\t]+)$")
    if path then
      prepared[#prepared + 1] = wrk.format("GET", path, { ["If-None-Match"] = etag })
    elseif plain then
      prepared[#prepared + 1] = wrk.format("GET", plain)
    else
      prepared[#prepared + 1] = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, line)
    end
  end
  position = (id * 7919) % #prepared
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.6f,"p50":%d,"p99":%d,"failed":%d,"timeouts":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.status, errors.timeout
  ))
end
