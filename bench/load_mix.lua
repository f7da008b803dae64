-- wrk script for bench/load_run.py: what visitors do on Payung, mixed at random.
--
--   wrk -t2 -c8 -d30s -s bench/load_mix.lua http://127.0.0.1:PORT -- CODES_FILE SLUGS THREADS
--
-- CODES_FILE: claimable bundle codes, one a line, already URL-encoded. SLUGS: bundle slugs,
-- comma-separated. THREADS: wrk's -t. Mix: 55 % directory (first page, filters, sorts, search,
-- pages 2-400), 25 % bundle pages (catalogue, bundle detail), 20 % claims (GET /klaim, and
-- POST /klaim with a real code, each code posted once: the per-code and per-phone SMS limits
-- and the per-IP failure limit are never reached by legitimate traffic).
-- Every status >= 400 counts as an error (no expected 4xx in this mix). Prints one JSON line.

local thread_list = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  table.insert(thread_list, thread)
  next_id = next_id + 1
end

local codes = {}
local slugs = {}
local code_at = 1
local cookie = nil
local token = nil
statuses = {}
posts = 0

local DIRECTORY = {
  "/pekerja",
  "/pekerja?occupation=farmer",
  "/pekerja?occupation=ojek_online&province=32",
  "/pekerja?status=uncovered",
  "/pekerja?occupation=market_trader&province=31&status=uncovered",
  "/pekerja?q=siti",
  "/pekerja?q=pasar",
  "/pekerja?sort=lapsing-soonest",
  "/pekerja?gender=female&sort=lapsing-soonest",
}

local function url_encode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  local threads = tonumber(args[3])
  local n = 0
  for line in io.lines(args[1]) do
    n = n + 1
    if n % threads == (id - 1) then table.insert(codes, line) end
  end
  for slug in string.gmatch(args[2], "[^,]+") do table.insert(slugs, slug) end
  math.randomseed(id * 7919)
end

local function get(path)
  return wrk.format("GET", path)
end

function request()
  if token == nil then
    return get("/klaim")  -- a visitor's first page: the session cookie and its CSRF token
  end
  local roll = math.random(100)
  if roll <= 35 then
    return get(DIRECTORY[math.random(#DIRECTORY)])
  elseif roll <= 55 then
    return get("/pekerja?page=" .. math.random(2, 400))
  elseif roll <= 62 then
    return get("/paket")
  elseif roll <= 80 then
    return get("/paket/" .. slugs[math.random(#slugs)])
  elseif roll <= 90 or code_at > #codes then
    return get("/klaim")
  end
  local code = codes[code_at]
  code_at = code_at + 1
  posts = posts + 1
  local body = "csrf_token=" .. url_encode(token) .. "&code=" .. code
  return wrk.format("POST", "/klaim", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if token == nil and status == 200 then
    local set_cookie = headers["Set-Cookie"] or ""
    local found_cookie = set_cookie:match("(payung_session=[^;]+)")
    local found_token = body:match('name="csrf_token" type="hidden" value="([^"]+)"')
    if found_cookie and found_token then
      -- Kept for the whole run: the session holds the CSRF secret, and a signed cookie stays
      -- valid, so later Set-Cookie headers (a claim in progress) need not be followed.
      cookie, token = found_cookie, found_token
    end
  end
end

function done(summary, latency, requests)
  local counts = {}
  local total_posts = 0
  for _, thread in ipairs(thread_list) do
    local mine = thread:get("statuses")
    for status, n in pairs(mine) do
      counts[status] = (counts[status] or 0) + n
    end
    total_posts = total_posts + thread:get("posts")
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  io.write(string.format(
    'JSON {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "claim_posts": %d, ' ..
    '"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout, total_posts,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, table.concat(parts, ", ")))
end
