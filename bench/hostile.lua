-- wrk script for bench/run.py's guarded row: hostile POSTs to /graphql (one JSON body a line), rotating,
-- counting the answers of 500 or more, which must be none; done() prints one JSON line.
--   wrk -t1 -c8 -d10s -s bench/hostile.lua http://127.0.0.1:8000/graphql -- var/bench/hostile.bodies

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  prepared = {}
  for line in io.lines(args[1]) do
    prepared[#prepared + 1] = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, line)
  end
  position = id % #prepared
  server_errors = 0
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function response(status, headers, body)
  if status >= 500 then
    server_errors = server_errors + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("server_errors")
  end
  io.write(string.format('{"requests":%d,"server_errors":%d}\n', summary.requests, total))
end
