//! What the cadres send: realistic check-ins, household visits and daily logs (docs/records.md),
//! one by one or as offline batches, with positions inside, near and outside their village,
//! mostly from their own phone, and now and then the exact same record again, as a phone does
//! when it never saw the answer.
//!
//! Cheap per request by design: positions come from pools computed once per village, record
//! JSON is written straight into a scratch buffer (no serde tree), and the only allocations per
//! record are its bytes (kept for resends) and a small item list.

use super::org::mix64;
use super::places::{accuracy, scatter, whereabouts, Rng, VillageGeo};
use super::setup::{ReadyCadre, ReadyHousehold};
use bytes::Bytes;
use hyper::header::HeaderValue;
use std::collections::VecDeque;
use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

pub const SINGLE_PATH: &str = "/v1/records";
pub const BATCH_PATH: &str = "/v1/records/batch";
/// The most records one batch may carry (the server's limit).
pub const MAX_BATCH: usize = 500;

/// A batch holds what was captured between this long ago …
const BATCH_SPAN: Duration = Duration::hours(8);
/// … and this long ago.
const BATCH_MIN_AGE: Duration = Duration::minutes(1);
/// Records kept per cadre as candidates for a resend.
const RESEND_RING: usize = 8;
/// Phones in China show county time; captured_at carries that offset as a phone would send it.
const CHINA: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

const NOTES: [&str; 6] = [
    "到村开展工作",
    "参加村两委会议",
    "走访困难群众",
    "村部值班",
    "组织党员学习",
    "查看产业项目进展",
];
const PURPOSES: [&str; 5] = [
    "走访慰问",
    "政策宣传",
    "了解生产生活情况",
    "核实帮扶措施落实",
    "协助办理医保报销",
];
const LOG_LINES: [&str; 8] = [
    "走访三户，了解就业和收入情况。",
    "调解一起邻里纠纷，双方达成一致。",
    "参加乡镇防汛工作部署会。",
    "督促村集体经济项目施工进度。",
    "整理脱贫户档案资料。",
    "组织村民代表会议，讨论道路硬化方案。",
    "陪同农技员查看小麦长势。",
    "更新低保户动态管理台账。",
];
const TASKS: [&str; 5] = ["走访脱贫户", "整理档案", "召开会议", "项目督导", "政策宣讲"];
const TASK_STATUS: [&str; 3] = ["todo", "in_progress", "done"];

/// The share of each record kind, as `--mix checkin=80,visit=10,log=10` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    pub checkin: u32,
    pub visit: u32,
    pub log: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            checkin: 80,
            visit: 10,
            log: 10,
        }
    }
}

impl FromStr for Mix {
    type Err = String;

    /// Weights, not percentages: `checkin=8,visit=1,log=1` is the default too. Kinds left out
    /// get 0.
    fn from_str(raw: &str) -> Result<Mix, String> {
        let mut mix = Mix {
            checkin: 0,
            visit: 0,
            log: 0,
        };
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected kind=weight"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("{part:?}: the weight must be a whole number"))?;
            match kind.trim() {
                "checkin" => mix.checkin = weight,
                "visit" => mix.visit = weight,
                "log" => mix.log = weight,
                other => {
                    return Err(format!(
                        "unknown kind {other:?} (use checkin, visit and log)"
                    ))
                }
            }
        }
        if u64::from(mix.checkin) + u64::from(mix.visit) + u64::from(mix.log) == 0 {
            return Err("at least one kind needs a weight above 0".into());
        }
        Ok(mix)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "checkin={},visit={},log={}",
            self.checkin, self.visit, self.log
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CheckIn,
    Visit,
    Log,
}

/// One cadre as one slot sees it.
pub struct CadreTraffic {
    pub authorization: HeaderValue,
    device_id: String,
    other_device: String,
    geo: Arc<VillageGeo>,
    households: Vec<ReadyHousehold>,
    sent: VecDeque<Bytes>,
    /// Seeds where the cadre is when (see [`whereabouts`]).
    seed: u64,
}

impl CadreTraffic {
    pub fn new(cadre: &ReadyCadre, authorization: HeaderValue, geo: Arc<VillageGeo>) -> Self {
        CadreTraffic {
            authorization,
            device_id: cadre.device_id.clone(),
            other_device: format!("{}-b", cadre.device_id),
            geo,
            households: cadre.households.clone(),
            sent: VecDeque::with_capacity(RESEND_RING),
            seed: mix64(cadre.index as u64 ^ 0x7768_6572_6520_6174),
        }
    }
}

/// One record of a request: its exact bytes, and whether it is a deliberate resend.
pub struct Item {
    pub record: Bytes,
    pub resend: bool,
}

/// One request, ready to send (and to send again after a transport error).
pub struct Outgoing {
    pub cadre: usize,
    pub path: &'static str,
    pub body: Bytes,
    pub items: Vec<Item>,
    /// Set when this is a retry of a request that got no usable answer.
    pub retry: bool,
}

/// Generates the requests of one slot, cycling through its cadres.
pub struct Generator {
    cadres: Vec<CadreTraffic>,
    next: usize,
    rng: Rng,
    thresholds: [u64; 2],
    total_weight: u64,
    batch: Option<usize>,
    resend_ratio: f64,
    scratch: Vec<u8>,
    body: Vec<u8>,
}

impl Generator {
    pub fn new(
        cadres: Vec<CadreTraffic>,
        mix: Mix,
        batch: Option<usize>,
        resend_ratio: f64,
        seed: u64,
    ) -> Generator {
        let (c, v, l) = (
            u64::from(mix.checkin),
            u64::from(mix.visit),
            u64::from(mix.log),
        );
        Generator {
            cadres,
            next: 0,
            rng: Rng::new(seed),
            thresholds: [c, c + v],
            total_weight: (c + v + l).max(1),
            batch: batch.map(|k| k.clamp(1, MAX_BATCH)),
            resend_ratio,
            scratch: Vec::with_capacity(1024),
            body: Vec::with_capacity(4096),
        }
    }

    pub fn authorization(&self, cadre: usize) -> &HeaderValue {
        &self.cadres[cadre].authorization
    }

    /// Keeps an acknowledged record as a candidate for a later resend.
    pub fn acknowledged(&mut self, cadre: usize, record: Bytes) {
        let sent = &mut self.cadres[cadre].sent;
        if sent.len() == RESEND_RING {
            sent.pop_front();
        }
        sent.push_back(record);
    }

    pub fn next(&mut self, now: OffsetDateTime) -> Outgoing {
        let cadre = self.next;
        self.next = (self.next + 1) % self.cadres.len().max(1);
        match self.batch {
            None => {
                let age = Duration::milliseconds(500 + (self.rng.float() * 4500.0) as i64);
                let item = self.item(cadre, now - age);
                Outgoing {
                    cadre,
                    path: SINGLE_PATH,
                    body: item.record.clone(),
                    items: vec![item],
                    retry: false,
                }
            }
            Some(k) => {
                // A phone coming back online: what it captured over the past hours, oldest
                // first, as its outbox holds them.
                let span = (BATCH_SPAN - BATCH_MIN_AGE).whole_milliseconds() as f64;
                let mut ages: Vec<Duration> = (0..k)
                    .map(|_| {
                        BATCH_MIN_AGE + Duration::milliseconds((self.rng.float() * span) as i64)
                    })
                    .collect();
                ages.sort_unstable_by(|a, b| b.cmp(a));
                let items: Vec<Item> = ages
                    .into_iter()
                    .map(|age| self.item(cadre, now - age))
                    .collect();
                self.body.clear();
                self.body.extend_from_slice(b"{\"records\":[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.body.push(b',');
                    }
                    self.body.extend_from_slice(&item.record);
                }
                self.body.extend_from_slice(b"],\"sent_at\":\"");
                write_time(&mut self.body, now);
                self.body.extend_from_slice(b"\"}");
                Outgoing {
                    cadre,
                    path: BATCH_PATH,
                    body: Bytes::copy_from_slice(&self.body),
                    items,
                    retry: false,
                }
            }
        }
    }

    fn item(&mut self, cadre: usize, captured_at: OffsetDateTime) -> Item {
        let sent = &self.cadres[cadre].sent;
        if !sent.is_empty() && self.rng.chance(self.resend_ratio) {
            let record = sent[self.rng.below(sent.len())].clone();
            return Item {
                record,
                resend: true,
            };
        }
        let now = OffsetDateTime::now_utc();
        let kind = self.kind(cadre);
        self.scratch.clear();
        self.write_record(cadre, kind, captured_at, now);
        Item {
            record: Bytes::copy_from_slice(&self.scratch),
            resend: false,
        }
    }

    fn kind(&mut self, cadre: usize) -> Kind {
        let roll = self.rng.next_u64() % self.total_weight;
        let kind = if roll < self.thresholds[0] {
            Kind::CheckIn
        } else if roll < self.thresholds[1] {
            Kind::Visit
        } else {
            Kind::Log
        };
        if kind == Kind::Visit && self.cadres[cadre].households.is_empty() {
            Kind::CheckIn
        } else {
            kind
        }
    }

    fn write_record(
        &mut self,
        cadre: usize,
        kind: Kind,
        captured_at: OffsetDateTime,
        now: OffsetDateTime,
    ) {
        let rng = &mut self.rng;
        let c = &self.cadres[cadre];
        let whereabouts = whereabouts(&c.geo, &c.households, c.seed, captured_at);
        let out = &mut self.scratch;
        let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let id = uuid::Uuid::now_v7().hyphenated().encode_lower(&mut id);
        let kind_name = match kind {
            Kind::CheckIn => "check_in",
            Kind::Visit => "household_visit",
            Kind::Log => "daily_log",
        };
        let _ = write!(
            out,
            "{{\"id\":\"{id}\",\"kind\":\"{kind_name}\",\"captured_at\":\""
        );
        write_time(out, captured_at);
        out.extend_from_slice(b"\",\"device_id\":\"");
        // Mostly the cadre's own phone; now and then a borrowed one, but never for a cadre's
        // first records of a run, since the server binds the phone a cadre first uses.
        let device = if !c.sent.is_empty() && rng.chance(0.02) {
            &c.other_device
        } else {
            &c.device_id
        };
        out.extend_from_slice(device.as_bytes());
        out.push(b'"');
        match kind {
            Kind::CheckIn => {
                let p = scatter(whereabouts.spot, rng);
                write_position(out, p, accuracy(rng), rng.chance(0.005));
                if rng.chance(0.3) {
                    let _ = write!(out, ",\"note\":\"{}\"", rng.pick(&NOTES));
                }
            }
            Kind::Visit => {
                // At a household, the visit is to it; elsewhere the cadre files the visit from
                // where they are, which the household check will show.
                let household = match whereabouts.household {
                    Some(k) => &c.households[k],
                    None => rng.pick(&c.households),
                };
                let _ = write!(out, ",\"household_id\":\"{}\"", household.id);
                write_position(out, scatter(whereabouts.spot, rng), accuracy(rng), false);
                let _ = write!(out, ",\"purpose\":\"{}\"", rng.pick(&PURPOSES));
                if rng.chance(0.5) {
                    let _ = write!(out, ",\"notes\":\"{}\"", rng.pick(&LOG_LINES));
                }
            }
            Kind::Log => {
                let day = captured_at.to_offset(CHINA).date();
                let _ = write!(
                    out,
                    ",\"date\":\"{:04}-{:02}-{:02}\",\"text\":\"",
                    day.year(),
                    u8::from(day.month()),
                    day.day()
                );
                for _ in 0..1 + rng.below(3) {
                    out.extend_from_slice(rng.pick(&LOG_LINES).as_bytes());
                }
                out.push(b'"');
                let tasks = rng.below(4);
                if tasks > 0 {
                    out.extend_from_slice(b",\"tasks\":[");
                    for t in 0..tasks {
                        if t > 0 {
                            out.push(b',');
                        }
                        let _ = write!(
                            out,
                            "{{\"title\":\"{}\",\"status\":\"{}\"}}",
                            rng.pick(&TASKS),
                            rng.pick(&TASK_STATUS)
                        );
                    }
                    out.push(b']');
                }
                if rng.chance(0.6) {
                    let p = scatter(whereabouts.spot, rng);
                    write_position(out, p, accuracy(rng), false);
                }
            }
        }
        if self.batch.is_none() {
            out.extend_from_slice(b",\"sent_at\":\"");
            write_time(out, now);
            out.push(b'"');
        }
        out.push(b'}');
    }
}

fn write_position(out: &mut Vec<u8>, p: [f64; 2], accuracy_m: f64, mock: bool) {
    let _ = write!(
        out,
        ",\"position\":{{\"lon\":{:.6},\"lat\":{:.6},\"accuracy_m\":{:.1}",
        p[0], p[1], accuracy_m
    );
    if mock {
        out.extend_from_slice(b",\"mock\":true");
    }
    out.push(b'}');
}

/// RFC 3339 in China's offset, to the millisecond, as a phone writes it.
fn write_time(out: &mut Vec<u8>, at: OffsetDateTime) {
    let at = at.to_offset(CHINA);
    let at = at
        .replace_nanosecond(at.millisecond() as u32 * 1_000_000)
        .unwrap_or(at);
    let _ = at.format_into(out, &Rfc3339);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadtest::org::{households_of, village};
    use crate::loadtest::places::STAY_SECONDS;
    use fieldtrail_domain::geo::Position;
    use serde_json::Value;

    fn cadre() -> ReadyCadre {
        let v = village(3);
        let households = households_of(0, &v.code, 3)
            .into_iter()
            .enumerate()
            .map(|(k, h)| ReadyHousehold {
                id: format!("0190f1a4-3c55-7d2e-9e1f-00000000000{k}"),
                lon: h.lon,
                lat: h.lat,
            })
            .collect();
        ReadyCadre {
            index: 0,
            person_id: "p".into(),
            token: "t".into(),
            village: v,
            device_id: "lt-phone-0001".into(),
            households,
        }
    }

    fn generator(mix: Mix, batch: Option<usize>, resend: f64) -> Generator {
        let c = cadre();
        let geo = Arc::new(VillageGeo::new(&c.village, 1));
        let traffic = CadreTraffic::new(&c, HeaderValue::from_static("Bearer t"), geo);
        Generator::new(vec![traffic], mix, batch, resend, 42)
    }

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn mixes_parse_and_refuse_nonsense() {
        assert_eq!(
            "checkin=80,visit=10,log=10".parse::<Mix>(),
            Ok(Mix::default())
        );
        assert_eq!(
            "visit=1".parse::<Mix>(),
            Ok(Mix {
                checkin: 0,
                visit: 1,
                log: 0
            })
        );
        assert!("checkin=0".parse::<Mix>().is_err());
        assert!("walk=3".parse::<Mix>().is_err());
        assert!("checkin".parse::<Mix>().is_err());
        assert!("checkin=-1".parse::<Mix>().is_err());
    }

    /// Every generated record is what the server's parser accepts: well-formed, of the asked
    /// kinds, each with a fresh id.
    #[test]
    fn records_are_well_formed_and_of_the_mixed_kinds() {
        let mut g = generator(Mix::default(), None, 0.0);
        let now = OffsetDateTime::now_utc();
        let mut kinds = std::collections::HashMap::new();
        let mut ids = std::collections::HashSet::new();
        for _ in 0..2000 {
            let out = g.next(now);
            assert_eq!(out.path, SINGLE_PATH);
            let record = parse(&out.body);
            let submission = fieldtrail_domain::submission::parse_record(&record, "", now)
                .unwrap_or_else(|e| panic!("{record}: {e:?}"));
            *kinds.entry(submission.kind.as_str()).or_insert(0) += 1;
            assert!(ids.insert(submission.id), "ids are fresh");
            assert_eq!(submission.id.get_version_num(), 7);
            let accuracy = record["position"]["accuracy_m"].as_f64();
            if let Some(a) = accuracy {
                assert!((5.0..=200.0).contains(&a), "{a}");
            }
        }
        let share = |k: &str| f64::from(*kinds.get(k).unwrap_or(&0)) / 2000.0;
        assert!((share("check_in") - 0.8).abs() < 0.05, "{kinds:?}");
        assert!((share("household_visit") - 0.1).abs() < 0.04, "{kinds:?}");
        assert!((share("daily_log") - 0.1).abs() < 0.04, "{kinds:?}");
    }

    fn fix_of(record: &Value) -> Option<Position> {
        let p = &record["position"];
        Some(Position::parse(p["lon"].as_f64()?, p["lat"].as_f64()?).unwrap())
    }

    /// Sorted by captured time, a cadre's fixes stay within metres of each other (less than two
    /// accuracy radii) except where one ten-minute stay ends and the next begins: records sent in
    /// quick succession are not impossible speed.
    #[test]
    fn fixes_move_only_between_stays() {
        let mut g = generator(Mix::default(), Some(400), 0.0);
        let now = OffsetDateTime::now_utc();
        let out = g.next(now);
        let body = parse(&out.body);
        let mut fixes: Vec<(OffsetDateTime, Position)> = body["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| {
                let at =
                    fieldtrail_domain::canonical::parse_rfc3339(r["captured_at"].as_str()?).ok()?;
                Some((at, fix_of(r)?))
            })
            .collect();
        fixes.sort_by_key(|(at, _)| *at);
        let (mut still, mut moves) = (0, 0);
        for pair in fixes.windows(2) {
            let same_stay = pair[0].0.unix_timestamp().div_euclid(STAY_SECONDS)
                == pair[1].0.unix_timestamp().div_euclid(STAY_SECONDS);
            let d = fieldtrail_domain::geo::distance_m(pair[0].1, pair[1].1);
            if same_stay {
                assert!(d < 9.0, "{d} m within one stay");
                still += 1;
            } else {
                moves += 1;
            }
        }
        assert!(still > moves * 3, "{still} {moves}");
        // Single records captured now all fall in the same stay or two.
        let mut single = generator(Mix::default(), None, 0.0);
        let first = fix_of(&parse(&single.next(now).body));
        for _ in 0..200 {
            if let (Some(a), Some(b)) = (first, fix_of(&parse(&single.next(now).body))) {
                let d = fieldtrail_domain::geo::distance_m(a, b);
                assert!(d < 9.0 || now.unix_timestamp() % STAY_SECONDS < 6, "{d}");
            }
        }
    }

    #[test]
    fn batches_carry_k_records_captured_over_past_hours_and_resends_repeat_acked_bytes() {
        let mut g = generator(Mix::default(), Some(50), 0.2);
        let now = OffsetDateTime::now_utc();
        let first = g.next(now);
        assert_eq!(first.path, BATCH_PATH);
        let body = parse(&first.body);
        let records = body["records"].as_array().unwrap();
        assert_eq!(records.len(), 50);
        assert!(first.items.iter().all(|i| !i.resend), "nothing acked yet");
        for record in records {
            let at = fieldtrail_domain::canonical::parse_rfc3339(
                record["captured_at"].as_str().unwrap(),
            )
            .unwrap();
            assert!(at < now - Duration::seconds(59) && at > now - Duration::hours(9));
        }
        for item in &first.items {
            g.acknowledged(0, item.record.clone());
        }
        let acked: Vec<Bytes> = first
            .items
            .iter()
            .rev()
            .take(8)
            .map(|i| i.record.clone())
            .collect();
        let second = g.next(now);
        let resends: Vec<&Item> = second.items.iter().filter(|i| i.resend).collect();
        assert!(
            !resends.is_empty() && resends.len() < 25,
            "{}",
            resends.len()
        );
        for item in resends {
            assert!(
                acked.contains(&item.record),
                "a resend is an acked record, byte for byte"
            );
        }
    }
}
