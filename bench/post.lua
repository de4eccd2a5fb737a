-- wrk script: POST one robot message; count answers that are not DingTalk's exact success body.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json; charset=utf-8"
wrk.body = os.getenv("BENCH_BODY")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  ok = 0
end

function response(status, headers, body)
  if body == '{"errcode":0,"errmsg":"ok"}' then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local total_ok, total_bad = 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_bad = total_bad + t:get("bad")
  end
  io.write(string.format("RESULT ok=%d bad=%d requests=%d p50=%d p90=%d p99=%d max=%d duration_us=%d\n",
    total_ok, total_bad, summary.requests, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, summary.duration))
end
