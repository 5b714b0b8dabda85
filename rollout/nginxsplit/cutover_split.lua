-- cutover's split for NGINX/Lua: the legacy NGINX routes a sticky share
-- of users to the candidate by itself, with the same bucket hash as
-- cutover's mirror (mirror/split.go: FNV-1a 64 of the user key, modulo
-- 10000 buckets; a weight of N% sends buckets [0, N*100) to the
-- candidate). A user's side depends only on their key, and raising the
-- weight only moves users from legacy to the candidate.
--
-- The weight (in basis points) and what each side served live in the
-- lua_shared_dict "cutover_split", shared by every worker and kept across
-- reloads: a change takes effect on the next request. Until a weight is
-- set, legacy serves everything.
--
-- Generated includes call: route() in the proxying location (through
-- set_by_lua_block), log() in its log phase, admin() in the admin
-- location. See `cutover nginx-split`.
local bit = require("bit")

local _M = {}

local BUCKETS = 10000ULL
local FNV_OFFSET = 0xcbf29ce484222325ULL
local FNV_PRIME = 0x100000001b3ULL

local function dict()
    local d = ngx.shared.cutover_split
    if not d then
        error("cutover_split: lua_shared_dict cutover_split is not declared (include the http snippet)")
    end
    return d
end

-- bucket maps a user key to [0, 10000), exactly as mirror's bucket("", key).
function _M.bucket(key)
    local h = FNV_OFFSET
    for i = 1, #key do
        h = bit.bxor(h, key:byte(i)) * FNV_PRIME
    end
    return tonumber(h % BUCKETS)
end

-- user is the key of this request: the configured variable, else the
-- client address (the mirror's fallback too).
local function user(key)
    if key == nil or key == "" then
        return ngx.var.remote_addr or ""
    end
    return key
end

-- route returns the upstream that serves this request and remembers the
-- side for log().
function _M.route(key, legacy, candidate)
    local bp = dict():get("weight_bp") or 0
    local side = "legacy"
    if bp > 0 and _M.bucket(user(key)) < bp then
        side = "candidate"
    end
    ngx.ctx.cutover_side = side
    if side == "candidate" then
        return candidate
    end
    return legacy
end

-- log counts the request on its side: served, and errors (5xx, which
-- includes NGINX's own 502/504 when the upstream gave no answer).
function _M.log()
    local side = ngx.ctx.cutover_side
    if not side then
        return
    end
    local d = dict()
    d:incr(side .. ":requests", 1, 0)
    local status = ngx.status or 0
    if status >= 500 or status == 0 then
        d:incr(side .. ":errors", 1, 0)
    end
end

local function state(d, key)
    local bp = d:get("weight_bp") or 0
    local parts = {
        string.format('"weight":%s', tostring(bp / 100)),
        string.format('"weight_set":%s', tostring(d:get("weight_bp") ~= nil)),
    }
    local served = {}
    for _, side in ipairs({ "legacy", "candidate" }) do
        served[#served + 1] = string.format('"%s":{"requests":%d,"errors":%d}', side,
            d:get(side .. ":requests") or 0, d:get(side .. ":errors") or 0)
    end
    parts[#parts + 1] = '"served":{' .. table.concat(served, ",") .. "}"
    if key then
        local b = _M.bucket(key)
        local side = "legacy"
        if b < bp then
            side = "candidate"
        end
        parts[#parts + 1] = string.format('"key":"%s","bucket":%d,"side":"%s"',
            key:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end), b, side)
    end
    return "{" .. table.concat(parts, ",") .. "}\n"
end

local function answer(status, body)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Cache-Control"] = "no-store"
    ngx.print(body)
    return ngx.exit(status)
end

-- admin serves the admin location: GET reads the weight and the counts
-- (?key=K also says which bucket and side K gets), PUT {"weight": N} sets
-- the weight. Every request needs "Authorization: Bearer <token>"; the
-- comparison is of digests, so its time says nothing about the token.
function _M.admin(token)
    if token == nil or #token < 16 then
        return answer(500, '{"error":"cutover_split: the admin token must be at least 16 characters"}\n')
    end
    local auth = ngx.var.http_authorization or ""
    if ngx.sha1_bin(auth) ~= ngx.sha1_bin("Bearer " .. token) then
        ngx.header["WWW-Authenticate"] = 'Bearer realm="cutover"'
        return answer(401, '{"error":"unauthorized"}\n')
    end
    local d = dict()
    local method = ngx.req.get_method()
    if method == "GET" then
        local key = ngx.req.get_uri_args()["key"]
        if type(key) ~= "string" then
            key = nil
        end
        return answer(200, state(d, key))
    end
    if method ~= "PUT" and method ~= "POST" then
        ngx.header["Allow"] = "GET, PUT"
        return answer(405, '{"error":"method not allowed"}\n')
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data() or ""
    local w = tonumber(body:match('^%s*{%s*"weight"%s*:%s*([%d%.eE+-]+)%s*}%s*$') or "")
    if w == nil or w ~= w or w < 0 or w > 100 then
        return answer(400, '{"error":"want {\\"weight\\": N} with N from 0 to 100"}\n')
    end
    local ok, err = d:set("weight_bp", math.floor(w * 100 + 0.5))
    if not ok then
        return answer(500, string.format('{"error":"shared dict: %s"}\n', tostring(err)))
    end
    return answer(200, state(d, nil))
end

return _M
