-- The legacy edge's behaviour. The candidate fixture (candidate.go)
-- re-implements exactly this; keep the two in step.
local _M = {}

local CACHE_RULES = {
    -- uri prefix, Cache-Control for successful answers
    { "/api/items", "public, max-age=60" },
    { "/api/noisy", "no-store" },
    { "/echo", "no-store" },
    { "/stream", "no-store" },
    { "/edge/", "no-cache" },
}
local CACHE_DEFAULT = "public, max-age=300"

function _M.init_worker()
    math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
end

local function request_id()
    return string.format("%08x%08x%08x%08x",
        math.random(0, 0x7fffffff), math.random(0, 0x7fffffff),
        math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
end

-- rewrite: give every request a fresh id, and serve the old versioned
-- item URLs from the current API.
function _M.rewrite()
    local id = request_id()
    ngx.var.edge_request_id = id
    ngx.req.set_header("X-Request-Id", id)
    local m = ngx.re.match(ngx.var.uri, [[^/v1/items/(\d+)$]], "jo")
    if m then
        ngx.req.set_uri("/api/items/" .. m[1])
    end
end

function _M.health()
    ngx.say('{"status":"ok","served_by":"edge"}')
end

local function cache_control(uri, status)
    if status >= 400 then
        return "no-store"
    end
    for _, rule in ipairs(CACHE_RULES) do
        if uri:sub(1, #rule[1]) == rule[1] then
            return rule[2]
        end
    end
    return CACHE_DEFAULT
end

-- header_filter: stamp every answer the way the edge always has.
function _M.header_filter()
    local h = ngx.header
    h["X-Request-Id"] = ngx.var.edge_request_id
    h["X-Edge-Time"] = string.format("%.3f", ngx.now())
    h["X-Served-By"] = "edge-test-1"
    h["Cache-Control"] = cache_control(ngx.var.uri, ngx.status)
end

return _M
