-- wrk script: POST /v1/records with a fresh record id per request.
-- Environment: TOKEN (a cadre's bearer token), RUN (a hex nonce unique to this run),
-- LON, LAT (where the check-in is), CAPTURED_AT (an RFC 3339 time not in the future).
local token = os.getenv("TOKEN")
local run = os.getenv("RUN") or "0"
local lon = os.getenv("LON") or "116.81283"
local lat = os.getenv("LAT") or "34.11187"
local captured_at = os.getenv("CAPTURED_AT")
local next_thread = 0
local counter = 0

function setup(thread)
    thread:set("tid", next_thread)
    next_thread = next_thread + 1
end

function request()
    counter = counter + 1
    local id = string.format("%08x-%04x-4000-8000-%012x", tonumber(run, 16) % 0xffffffff, tid, counter)
    local body = string.format(
        '{"id":"%s","kind":"check_in","captured_at":"%s","position":{"lon":%s,"lat":%s,"accuracy_m":15},"device_id":"bench-phone"}',
        id, captured_at, lon, lat)
    return wrk.format("POST", "/v1/records",
        {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

function done(summary, latency, requests)
    local non2xx = summary.errors.status
    io.write(string.format("requests %d, non-2xx %d, p50 %.2f ms, p99 %.2f ms\n",
        summary.requests, non2xx, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
