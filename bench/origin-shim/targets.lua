-- wrk script for bench/origin-shim/run.sh.
-- Usage: wrk ... -s targets.lua URL -- TARGETS_FILE THREADS
-- Each wrk thread takes every THREADS-th line of TARGETS_FILE (request
-- targets such as /small.bin?t=TOKEN) and sends them in order, so with a
-- file of pre-minted single-use links no link is sent twice unless the file
-- runs out (then it wraps, and the extra requests show as non-2xx).
-- done() prints one JSON line for run.sh to read.

local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  targets = {}
  local i = 0
  for line in io.lines(file) do
    if line ~= "" then
      if i % nthreads == tid then
        targets[#targets + 1] = line
      end
      i = i + 1
    end
  end
  if #targets == 0 then
    error("no request targets for thread " .. tid .. " in " .. file)
  end
  pos = 0
end

function request()
  pos = pos + 1
  if pos > #targets then
    pos = 1
  end
  return wrk.format("GET", targets[pos], { ["User-Agent"] = "wrk-bench" })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
