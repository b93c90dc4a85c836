-- bench/wrk/post.lua: wrk script that POSTs one fixed XML-RPC request body.
-- The body is read once from the file named by the BODY_FILE environment variable.
local path = os.getenv("BODY_FILE")
if not path then
  error("BODY_FILE is not set (path of the XML-RPC request body)")
end

local f = assert(io.open(path, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "text/xml"
