-- wrk script: POST /v1/records with realistic check-ins, each with a fresh record id.
--
-- Environment:
--   CADRES       a file with one line per cadre, "<token> <lon> <lat> <device id>" (as
--                `bench_client cadres` writes it); requests go round-robin over the cadres,
--                each thread starting at a different one
--   TOKEN, LON, LAT, DEVICE
--                instead of CADRES: a single cadre (LON/LAT default to the demo's 城东村)
--   RUN          a hex nonce unique to this run (part of every record id)
--
-- A body as a phone sends it (and as `fieldtrail loadtest` writes it): UUID id, kind, captured a
-- second ago in China's offset, a position a few metres from the cadre's spot with an accuracy
-- of 5-50 m, the cadre's phone, a note on about a third, and sent_at. The clock is read once per
-- second per thread, which is all the resolution the times need.
local run = tonumber(os.getenv("RUN") or "0", 16) % 0x100000000
local cadres = {}

local path = os.getenv("CADRES")
if path then
    for line in io.lines(path) do
        local token, lon, lat, device = line:match("^(%S+) (%S+) (%S+) (%S+)$")
        if token then
            cadres[#cadres + 1] = {
                auth = "Bearer " .. token, lon = tonumber(lon), lat = tonumber(lat), device = device,
            }
        end
    end
else
    cadres[1] = {
        auth = "Bearer " .. (os.getenv("TOKEN") or ""),
        lon = tonumber(os.getenv("LON") or "116.81283"),
        lat = tonumber(os.getenv("LAT") or "34.11187"),
        device = os.getenv("DEVICE") or "bench-phone",
    }
end
if #cadres == 0 then
    error("no cadres: set CADRES to a file of '<token> <lon> <lat> <device>' lines, or TOKEN")
end

local notes = { "到村开展工作", "参加村两委会议", "走访困难群众", "村部值班" }
local next_thread = 0
local counter = 0
local clock_second = -1
local captured_at, sent_at

function setup(thread)
    thread:set("tid", next_thread)
    next_thread = next_thread + 1
end

function init(args)
    math.randomseed(run + (tid or 0) * 7919)
    -- Threads start at different cadres, so they do not all send as the same one at once.
    counter = (tid or 0) * 9973
end

-- China's wall clock (UTC+8), as phones there write their times.
local function china(t)
    return os.date("!%Y-%m-%dT%H:%M:%S+08:00", t + 8 * 3600)
end

function request()
    counter = counter + 1
    local now = os.time()
    if now ~= clock_second then
        clock_second = now
        captured_at = china(now - 1)
        sent_at = china(now)
    end
    local c = cadres[(counter % #cadres) + 1]
    -- 48 bits of counter, 16 of thread, 32 of run: unique within and across runs.
    local id = string.format("%08x-%04x-7%03x-8%03x-%012x",
        run, tid or 0, math.floor(counter / 2 ^ 48) % 0x1000, math.random(0, 0xfff), counter % 2 ^ 48)
    local lon = c.lon + (math.random() - 0.5) * 0.00008
    local lat = c.lat + (math.random() - 0.5) * 0.00008
    local note = ""
    if math.random() < 0.3 then
        note = string.format(',"note":"%s"', notes[math.random(#notes)])
    end
    local body = string.format(
        '{"id":"%s","kind":"check_in","captured_at":"%s","device_id":"%s",' ..
        '"position":{"lon":%.6f,"lat":%.6f,"accuracy_m":%.1f}%s,"sent_at":"%s"}',
        id, captured_at, c.device, lon, lat, 5 + math.random() * 45, note, sent_at)
    return wrk.format("POST", "/v1/records",
        { ["Content-Type"] = "application/json", ["Authorization"] = c.auth }, body)
end

-- One JSON line for scripts/bench: throughput, latency and how many answers were not 2xx.
function done(summary, latency, requests)
    local seconds = summary.duration / 1e6
    io.write(string.format(
        '{"requests":%d,"seconds":%.3f,"requests_per_s":%.1f,"non_2xx":%d,"socket_errors":%d,' ..
        '"p50_ms":%.3f,"p99_ms":%.3f}\n',
        summary.requests, seconds, summary.requests / seconds, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
