-- wrk script for benchmarks/run.py: replays pre-rendered requests from a file per thread.
--
--   wrk -t2 -c32 -d10s --latency -s benchmarks/requests.lua URL -- PREFIX TOKEN IDEMPOTENT SALT
--
-- PREFIX.<thread index> holds one request per line: METHOD <TAB> PATH <TAB> BODY (JSON, may
-- be empty). Each wrk thread walks its own file in order and wraps around at the end (the
-- runner gives single-use requests -- a visit day, say -- enough lines for the whole run).
-- TOKEN (or "-") becomes the bearer token; IDEMPOTENT = "1" adds a unique Idempotency-Key
-- to every request (SALT keeps keys unique across runs).

local counter = 1
local seq = 0
local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   local prefix, token, idempotent = args[1], args[2], args[3]
   salt = args[4] or "0"
   with_key = idempotent == "1"
   headers = { ["Content-Type"] = "application/json" }
   if token and token ~= "-" then
      headers["Authorization"] = "Bearer " .. token
   end
   lines = {}
   for line in io.lines(prefix .. "." .. tid) do
      local method, path, body = line:match("^([^\t]*)\t([^\t]*)\t?(.*)$")
      if body == "" then body = nil end
      table.insert(lines, { method, path, body })
   end
   if not with_key then
      -- everything can be formatted once, up front
      for i, l in ipairs(lines) do
         lines[i] = wrk.format(l[1], l[2], headers, l[3])
      end
   end
end

function request()
   local l = lines[counter]
   counter = counter % #lines + 1
   if with_key then
      seq = seq + 1
      headers["Idempotency-Key"] = "bench-" .. salt .. "-" .. tid .. "-" .. seq
      return wrk.format(l[1], l[2], headers, l[3])
   end
   return l
end
