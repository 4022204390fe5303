-- Replays pre-signed POST /webhook requests from a file of "<signature>\t<body>" lines (wrk has no
-- HMAC). Each wrk thread takes every n-th line, so no two threads send the same message_id.
-- Usage: wrk -s bench/wrk.lua URL -- <file> <threads>
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  local file, count = args[1], tonumber(args[2])
  requests = {}
  local i = 0
  for line in io.lines(file) do
    if i % count == tid then
      local signature, body = line:match("^(%x+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", "/webhook",
        { ["Content-Type"] = "application/json", ["X-Signature"] = signature }, body)
    end
    i = i + 1
  end
  sent = 0
end

function request()
  sent = sent + 1
  return requests[(sent - 1) % #requests + 1]
end
