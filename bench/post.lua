-- wrk -s bench/post.lua: every request a POST of the file $BENCH_BODY (default
-- config/inventory.json, the example game's 200-byte inventory snapshot) as
-- application/json. bench/run.sh sends it to /inventory/alice, a route with a
-- path parameter and request_body = "json" in config/guild_game.toml.
local path = os.getenv("BENCH_BODY") or "config/inventory.json"
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
