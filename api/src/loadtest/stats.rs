//! What a run measured: per-slot counters kept without locks or allocation on the request path,
//! merged once at the end into a [`Report`], which renders as the `--json` object or as text.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// HTTP statuses are three digits; anything else a server could send is counted as 0.
const STATUSES: usize = 600;

/// Counts by status without a map lookup per request.
#[derive(Clone)]
pub struct StatusCounts(Box<[u64; STATUSES]>);

impl StatusCounts {
    pub fn new() -> StatusCounts {
        StatusCounts(Box::new([0; STATUSES]))
    }

    pub fn add(&mut self, status: u16) {
        let slot = usize::from(status);
        self.0[if slot < STATUSES { slot } else { 0 }] += 1;
    }

    pub fn get(&self, status: u16) -> u64 {
        self.0.get(usize::from(status)).copied().unwrap_or(0)
    }

    fn merge(&mut self, other: &StatusCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }

    /// The statuses seen, as `"201": n` members (keys are strings in JSON anyway).
    pub fn to_map(&self) -> BTreeMap<String, u64> {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(status, n)| (status.to_string(), *n))
            .collect()
    }
}

impl Default for StatusCounts {
    fn default() -> Self {
        Self::new()
    }
}

/// One slot's (one connection's) tallies.
pub struct SlotStats {
    /// Request latency in microseconds.
    pub latency_us: Histogram<u64>,
    /// HTTP status of every answered request.
    pub status: StatusCounts,
    /// Outcome of every answered record: the HTTP status for a single record, the item's own
    /// status inside a batch answer.
    pub record_status: StatusCounts,
    /// Outcome of the records that were deliberate resends of an acknowledged record.
    pub resend_status: StatusCounts,
    pub requests: u64,
    pub records: u64,
    pub transport_errors: u64,
    pub resends: u64,
    pub retries: u64,
}

impl SlotStats {
    pub fn new() -> SlotStats {
        // Three significant digits from 1 µs to an hour; it grows if an answer takes longer.
        let mut latency_us = Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .expect("1 µs to 1 h at 3 significant digits are valid bounds");
        latency_us.auto(true);
        SlotStats {
            latency_us,
            status: StatusCounts::new(),
            record_status: StatusCounts::new(),
            resend_status: StatusCounts::new(),
            requests: 0,
            records: 0,
            transport_errors: 0,
            resends: 0,
            retries: 0,
        }
    }

    pub fn record_latency(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        // Auto-resizing makes this infallible in practice; a value it still refuses is dropped
        // rather than ending the run.
        let _ = self.latency_us.record(micros);
    }

    pub fn merge(&mut self, other: &SlotStats) {
        let _ = self.latency_us.add(&other.latency_us);
        self.status.merge(&other.status);
        self.record_status.merge(&other.record_status);
        self.resend_status.merge(&other.resend_status);
        self.requests += other.requests;
        self.records += other.records;
        self.transport_errors += other.transport_errors;
        self.resends += other.resends;
        self.retries += other.retries;
    }
}

impl Default for SlotStats {
    fn default() -> Self {
        Self::new()
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// What setting up the organisation created (everything else was found and reused).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SetupCounts {
    pub units_created: u64,
    pub people_created: u64,
    pub assignments_created: u64,
    pub households_created: u64,
    pub pairings_created: u64,
    pub seconds: f64,
}

/// The result of a run; its JSON form is what `--json` prints (documented in docs/operations.md
/// and in `fieldtrail loadtest --help`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub target: String,
    pub duration_s: f64,
    pub concurrency: usize,
    /// Records per batch request; null when single records were sent.
    pub batch: Option<usize>,
    /// Requests per second the run was paced at; null for a closed loop.
    pub rate: Option<f64>,
    pub cadres: usize,
    pub villages: usize,
    pub requests: u64,
    pub records: u64,
    /// Records answered 201 or 200 (for a batch: items with status 201 or 200).
    pub acked: u64,
    pub requests_per_s: f64,
    pub records_per_s: f64,
    pub latency_ms: Latency,
    pub status: BTreeMap<String, u64>,
    pub record_status: BTreeMap<String, u64>,
    pub transport_errors: u64,
    pub resends: u64,
    pub resend_status: BTreeMap<String, u64>,
    pub retries: u64,
    pub setup: SetupCounts,
}

/// Settings of the run that the report repeats.
pub struct RunShape {
    pub target: String,
    pub concurrency: usize,
    pub batch: Option<usize>,
    pub rate: Option<f64>,
    pub cadres: usize,
    pub villages: usize,
}

impl Report {
    pub fn new(shape: RunShape, stats: &SlotStats, elapsed: Duration, setup: SetupCounts) -> Self {
        let seconds = elapsed.as_secs_f64();
        let per_s = |n: u64| {
            if seconds > 0.0 {
                round(n as f64 / seconds, 1)
            } else {
                0.0
            }
        };
        let ms = |q: f64| {
            if stats.latency_us.is_empty() {
                0.0
            } else {
                round(stats.latency_us.value_at_quantile(q) as f64 / 1000.0, 3)
            }
        };
        let acked = stats.record_status.get(201) + stats.record_status.get(200);
        Report {
            target: shape.target,
            duration_s: round(seconds, 3),
            concurrency: shape.concurrency,
            batch: shape.batch,
            rate: shape.rate,
            cadres: shape.cadres,
            villages: shape.villages,
            requests: stats.requests,
            records: stats.records,
            acked,
            requests_per_s: per_s(stats.requests),
            records_per_s: per_s(stats.records),
            latency_ms: Latency {
                p50: ms(0.50),
                p95: ms(0.95),
                p99: ms(0.99),
                max: if stats.latency_us.is_empty() {
                    0.0
                } else {
                    round(stats.latency_us.max() as f64 / 1000.0, 3)
                },
            },
            status: stats.status.to_map(),
            record_status: stats.record_status.to_map(),
            transport_errors: stats.transport_errors,
            resends: stats.resends,
            resend_status: stats.resend_status.to_map(),
            retries: stats.retries,
            setup,
        }
    }

    /// The one JSON object `--json` prints.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// A summary for people, in the spirit of wrk's.
    pub fn render_text(&self) -> String {
        let mode = match self.batch {
            Some(k) => format!("batches of {k}"),
            None => "single records".to_owned(),
        };
        let pacing = match self.rate {
            Some(r) => format!("paced at {r} requests/s"),
            None => "closed loop".to_owned(),
        };
        let map = |m: &BTreeMap<String, u64>| {
            if m.is_empty() {
                "-".to_owned()
            } else {
                m.iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        format!(
            "target {}: {} cadres in {} villages, {} connections, {mode}, {pacing}, {:.1} s\n\
             setup:      created {} units, {} people, {} assignments, {} households, {} pairings ({:.1} s)\n\
             requests:   {} ({:.1}/s)\n\
             records:    {} ({:.1}/s), acknowledged {}\n\
             latency ms: p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}\n\
             status:     {}\n\
             records by status: {}\n\
             resends:    {} ({}), retries after errors: {}\n\
             transport errors: {}\n",
            self.target,
            self.cadres,
            self.villages,
            self.concurrency,
            self.duration_s,
            self.setup.units_created,
            self.setup.people_created,
            self.setup.assignments_created,
            self.setup.households_created,
            self.setup.pairings_created,
            self.setup.seconds,
            self.requests,
            self.requests_per_s,
            self.records,
            self.records_per_s,
            self.acked,
            self.latency_ms.p50,
            self.latency_ms.p95,
            self.latency_ms.p99,
            self.latency_ms.max,
            map(&self.status),
            map(&self.record_status),
            self.resends,
            map(&self.resend_status),
            self.retries,
            self.transport_errors,
        )
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut a = SlotStats::new();
        let mut b = SlotStats::new();
        for ms in 1..=100u64 {
            a.record_latency(Duration::from_millis(ms));
        }
        b.record_latency(Duration::from_millis(250));
        a.requests = 100;
        b.requests = 1;
        a.records = 100;
        b.records = 1;
        for _ in 0..97 {
            a.status.add(201);
            a.record_status.add(201);
        }
        for _ in 0..3 {
            a.status.add(200);
            a.record_status.add(200);
            a.resend_status.add(200);
        }
        a.resends = 3;
        b.status.add(503);
        b.record_status.add(503);
        b.transport_errors = 2;
        b.retries = 3;
        a.merge(&b);
        Report::new(
            RunShape {
                target: "http://127.0.0.1:1".into(),
                concurrency: 2,
                batch: None,
                rate: None,
                cadres: 3,
                villages: 2,
            },
            &a,
            Duration::from_secs(2),
            SetupCounts::default(),
        )
    }

    #[test]
    fn merged_counts_and_rates() {
        let report = sample();
        assert_eq!(report.requests, 101);
        assert_eq!(report.acked, 100);
        assert_eq!(report.requests_per_s, 50.5);
        assert_eq!(report.transport_errors, 2);
        assert_eq!(report.status.get("503"), Some(&1));
        assert!((report.latency_ms.p50 - 51.0).abs() < 0.5, "{report:?}");
        assert!((report.latency_ms.p99 - 100.0).abs() < 0.5, "{report:?}");
        assert!((report.latency_ms.max - 250.0).abs() < 0.5, "{report:?}");
        assert!(report.render_text().contains("200: 3, 201: 97, 503: 1"));
    }

    /// The `--json` object has every documented member with the documented type.
    #[test]
    fn json_has_the_documented_fields() {
        let json = sample().to_json();
        let object = json.as_object().unwrap();
        for (field, check) in [
            (
                "target",
                serde_json::Value::is_string as fn(&serde_json::Value) -> bool,
            ),
            ("duration_s", serde_json::Value::is_f64),
            ("concurrency", serde_json::Value::is_u64),
            ("batch", serde_json::Value::is_null),
            ("rate", serde_json::Value::is_null),
            ("cadres", serde_json::Value::is_u64),
            ("villages", serde_json::Value::is_u64),
            ("requests", serde_json::Value::is_u64),
            ("records", serde_json::Value::is_u64),
            ("acked", serde_json::Value::is_u64),
            ("requests_per_s", serde_json::Value::is_number),
            ("records_per_s", serde_json::Value::is_number),
            ("latency_ms", serde_json::Value::is_object),
            ("status", serde_json::Value::is_object),
            ("record_status", serde_json::Value::is_object),
            ("transport_errors", serde_json::Value::is_u64),
            ("resends", serde_json::Value::is_u64),
            ("resend_status", serde_json::Value::is_object),
            ("retries", serde_json::Value::is_u64),
            ("setup", serde_json::Value::is_object),
        ] {
            let value = object
                .get(field)
                .unwrap_or_else(|| panic!("{field} missing"));
            assert!(check(value), "{field}: {value}");
        }
        assert_eq!(object.len(), 20, "undocumented members: {json}");
        for q in ["p50", "p95", "p99", "max"] {
            assert!(json["latency_ms"][q].is_number(), "{q}");
        }
        assert_eq!(json["status"]["201"], 97);
        assert_eq!(json["resend_status"], serde_json::json!({"200": 3}));
        for field in [
            "units_created",
            "people_created",
            "assignments_created",
            "households_created",
            "pairings_created",
            "seconds",
        ] {
            assert!(json["setup"][field].is_number(), "setup.{field}");
        }
    }

    #[test]
    fn an_empty_run_reports_zeros() {
        let report = Report::new(
            RunShape {
                target: "t".into(),
                concurrency: 1,
                batch: Some(10),
                rate: Some(5.0),
                cadres: 1,
                villages: 1,
            },
            &SlotStats::new(),
            Duration::ZERO,
            SetupCounts::default(),
        );
        assert_eq!(report.requests_per_s, 0.0);
        assert_eq!(report.latency_ms.max, 0.0);
        assert_eq!(report.to_json()["batch"], 10);
    }
}
