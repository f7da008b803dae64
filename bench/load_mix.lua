-- wrk script for bench/load_run.py: what visitors do on Payung, mixed at random.
--
--   wrk -t2 -c8 -d30s -s bench/load_mix.lua http://127.0.0.1:PORT -- CODES_FILE SLUGS THREADS
--
-- CODES_FILE: claimable bundle codes, one a line, already URL-encoded. SLUGS: bundle slugs,
-- comma-separated. THREADS: wrk's -t. Mix: 55 % directory (first page, filters, sorts, search,
-- pages 2-400), 25 % bundle pages (catalogue, bundle detail), 20 % claims (GET /klaim, and
-- POST /klaim with a real code, each code posted once: the per-phone SMS limit and the per-IP
-- failure limit are never reached by legitimate traffic).
-- Every status >= 400 counts as an error (no expected 4xx in this mix). Prints one JSON line.
--
-- Two switches, read from the environment (wrk's done() never sees the script's arguments):
-- LOAD_RATE=N paces the run: each thread sends on a fixed timetable of N / THREADS requests a
-- second (wrk's delay(); run one connection per thread), so the offered load is N whatever the
-- answers take; a request that waited for its connection is late, and its latency counts from
-- its slot in the timetable (as wrk2 does), not from when it was sent. LOAD_SAMPLES=FILE writes
-- one line per answer, "kind status ms_from_send ms_from_slot", for latency by kind of page;
-- right only with one connection per thread (wrk's hooks do not say which connection answered).
-- LOAD_REFERENCE=1 sends, instead of the mix, the reference catalog's requests (as
-- ../shared/perf/reference/wrk_catalog.lua does: a random category and page) to the reference
-- server given as the URL: the control of a paced run, on the same timetable.

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

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } load_timespec;
int clock_gettime(int clock, load_timespec *now);
]]
local clock = ffi.new("load_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1e6 + tonumber(clock.tv_nsec) / 1e3
end

local reference = (os.getenv("LOAD_REFERENCE") or "") ~= ""
local rate = tonumber(os.getenv("LOAD_RATE") or "")
local sampling = (os.getenv("LOAD_SAMPLES") or "") ~= ""
samples = {}
local interval_us = nil
local next_slot = nil
local slot = nil
local sent_at = nil
local kind = nil

if rate then
  function delay()
    slot = next_slot
    next_slot = next_slot + interval_us
    local wait = slot - now_us()
    if wait <= 0 then return 0 end
    return math.ceil(wait / 1000)  -- wrk's timers count whole ms: never send early
  end
end

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
  if rate then
    interval_us = threads * 1e6 / rate
    next_slot = now_us() + interval_us * (id - 1) / threads  -- threads staggered
  end
end

local function get(path, what)
  kind = what
  return wrk.format("GET", path)
end

local function sent(request_text)
  sent_at = now_us()
  if not slot then slot = sent_at end
  return request_text
end

local function next_request()
  if reference then
    local path = "/catalog?cat=" .. math.random(1, 50) .. "&page=" .. math.random(1, 10)
    return get(path, "reference catalog")
  end
  if token == nil then
    return get("/klaim", "first visit")  -- the session cookie and its CSRF token
  end
  local roll = math.random(100)
  if roll <= 35 then
    local path = DIRECTORY[math.random(#DIRECTORY)]
    local what = "directory"
    if path:find("q=", 1, true) then what = "directory, text search" end
    return get(path, what)
  elseif roll <= 55 then
    return get("/pekerja?page=" .. math.random(2, 400), "directory, pages 2-400")
  elseif roll <= 62 then
    return get("/paket", "bundle catalogue")
  elseif roll <= 80 then
    return get("/paket/" .. slugs[math.random(#slugs)], "bundle page")
  elseif roll <= 90 or code_at > #codes then
    return get("/klaim", "claim page (GET)")
  end
  local code = codes[code_at]
  code_at = code_at + 1
  posts = posts + 1
  kind = "claim (POST)"
  local body = "csrf_token=" .. url_encode(token) .. "&code=" .. code
  return wrk.format("POST", "/klaim", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }, body)
end

function request()
  return sent(next_request())
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if sampling then
    local now = now_us()
    table.insert(samples, string.format("%s\t%d\t%.3f\t%.3f", kind, status,
      (now - sent_at) / 1000, (now - slot) / 1000))
  end
  slot = nil
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
  local path = os.getenv("LOAD_SAMPLES") or ""
  if path ~= "" then
    local out = assert(io.open(path, "w"))
    for _, thread in ipairs(thread_list) do
      for _, line in ipairs(thread:get("samples")) do out:write(line, "\n") end
    end
    out:close()
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
