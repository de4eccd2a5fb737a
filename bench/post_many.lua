-- wrk script: POST one robot message per request, each to a robot picked at random from the
-- tokens in $BENCH_TOKENS (one per line); count answers other than DingTalk's success body.
local paths = {}
for token in io.lines(os.getenv("BENCH_TOKENS")) do
  paths[#paths + 1] = "/robot/send?access_token=" .. token
end
local body = os.getenv("BENCH_BODY")
local headers = { ["Content-Type"] = "application/json; charset=utf-8" }
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  ok = 0
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  return wrk.format("POST", paths[math.random(#paths)], headers, body)
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
