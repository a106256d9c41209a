//! A run: set the organisation up, then drive `concurrency` slots — one connection each,
//! closed loop like wrk unless `--rate` paces them — until the duration ends, and merge what
//! the slots measured.
//!
//! Failures are part of what is measured: a request without an answer (the server was killed,
//! a connection was reset, the timeout passed) is counted as a transport error, the slot backs
//! off briefly, dials again and sends the same request once more, as a phone's outbox would,
//! until the duration is over. Only setting up can fail a run.

use super::args::{LoadtestArgs, Options};
use super::http::{bearer, Answer, Client, HttpError, Target};
use super::org::{OrgSpec, Organisation};
use super::places::VillageGeo;
use super::setup::{self, SetupError};
use super::stats::{Report, RunShape, SlotStats};
use super::traffic::{CadreTraffic, Generator, Outgoing, BATCH_PATH};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// After the duration, answers already on their way get this long to arrive.
const DRAIN: Duration = Duration::from_secs(2);
/// Backoff after a failure: doubling from the first step up to the cap.
const BACKOFF_FIRST: Duration = Duration::from_millis(50);
const BACKOFF_CAP: Duration = Duration::from_secs(1);
/// Acked lines are written to the file in pieces of about this size.
const ACKED_FLUSH: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LoadtestError {
    #[error("{0}")]
    Options(String),
    #[error("cannot start the load generator's runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Target(#[from] HttpError),
    #[error("setting up the organisation failed: {0}")]
    Setup(#[from] SetupError),
    #[error("{path}: {source}")]
    AckedLog {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `fieldtrail loadtest`: run, then print the report (text, or one JSON object with `--json`).
pub fn main(args: &LoadtestArgs) -> Result<(), String> {
    let options = Options::try_from(args)?;
    let stop = Arc::new(AtomicBool::new(false));
    let report = run_until(&options, stop, true).map_err(|e| e.to_string())?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.render_text());
    }
    Ok(())
}

/// Runs a load test to its end and reports; the entry point for in-process callers.
pub fn run(options: &Options) -> Result<Report, LoadtestError> {
    run_until(options, Arc::new(AtomicBool::new(false)), false)
}

/// Like [`run`], ending early once `stop` is set (and on Ctrl-C when `ctrl_c`).
pub fn run_until(
    options: &Options,
    stop: Arc<AtomicBool>,
    ctrl_c: bool,
) -> Result<Report, LoadtestError> {
    options.validate().map_err(LoadtestError::Options)?;
    // Setting up and the progress bar live here; the load itself runs on threads of its own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LoadtestError::Runtime)?;
    runtime.block_on(async {
        if ctrl_c {
            let stop = stop.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    stop.store(true, Ordering::Relaxed);
                }
            });
        }
        drive(options, stop).await
    })
}

fn bar(options: &Options, length: u64, template: &str) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    // The default target is stderr, drawn only when it is a terminal.
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Counters the progress bar reads while the slots run.
#[derive(Default)]
struct Live {
    requests: AtomicU64,
    records: AtomicU64,
    errors: AtomicU64,
    tickets: AtomicU64,
}

struct AckedLog {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl AckedLog {
    fn open(path: &PathBuf) -> Result<AckedLog, LoadtestError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| LoadtestError::AckedLog {
                path: path.clone(),
                source,
            })?;
        Ok(AckedLog {
            path: path.clone(),
            file: Mutex::new(file),
        })
    }

    /// Appends whole lines at once, so lines of different slots never interleave.
    fn write(&self, lines: &mut Vec<u8>) -> Result<(), LoadtestError> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = file.write_all(lines);
        lines.clear();
        result.map_err(|source| LoadtestError::AckedLog {
            path: self.path.clone(),
            source,
        })
    }
}

async fn drive(options: &Options, stop: Arc<AtomicBool>) -> Result<Report, LoadtestError> {
    let target = Target::resolve(&options.target).await?;
    let acked_log = options
        .acked_log
        .as_ref()
        .map(AckedLog::open)
        .transpose()?
        .map(Arc::new);
    let organisation = Arc::new(Organisation::generate(OrgSpec {
        villages: options.villages,
        cadres: options.cadres,
        households_per_cadre: options.households_per_cadre,
    }));
    let setup_bar = bar(
        options,
        options.cadres as u64,
        "setting up {pos}/{len} cadres {wide_bar} {elapsed}",
    );
    let progress = setup_bar.clone();
    let (cadres, setup_counts) = setup::prepare(
        &target,
        &options.admin,
        &options.admin_password,
        organisation.clone(),
        move |done| progress.set_position(done),
    )
    .await?;
    setup_bar.finish_and_clear();
    if options.announce {
        eprintln!(
            "loadtest: setup created {} units, {} people, {} assignments, {} households, {} pairings in {:.1} s",
            setup_counts.units_created,
            setup_counts.people_created,
            setup_counts.assignments_created,
            setup_counts.households_created,
            setup_counts.pairings_created,
            setup_counts.seconds
        );
        eprintln!(
            "loadtest: sending load to {} for {:.1} s over {} connections",
            target.url,
            options.duration.as_secs_f64(),
            options.concurrency
        );
    }

    let mut geos: HashMap<String, Arc<VillageGeo>> = HashMap::new();
    let mut traffic = Vec::with_capacity(cadres.len());
    for (k, cadre) in cadres.iter().enumerate() {
        let geo = geos
            .entry(cadre.village.code.clone())
            .or_insert_with(|| Arc::new(VillageGeo::new(&cadre.village, k as u64)))
            .clone();
        let authorization = bearer(&cadre.token).map_err(|_| {
            LoadtestError::Setup(SetupError::Unexpected(
                "a token that is not a header value".into(),
            ))
        })?;
        traffic.push((cadre, authorization, geo));
    }

    let live = Arc::new(Live::default());
    let started = Instant::now();
    let deadline = started + options.duration;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let concurrency = options.concurrency;
    let mut slots = Vec::with_capacity(concurrency);
    for j in 0..concurrency {
        // Each slot keeps to its own cadres, so a resend ring is only ever touched by one task.
        let mine: Vec<CadreTraffic> = if concurrency <= traffic.len() {
            traffic
                .iter()
                .skip(j)
                .step_by(concurrency)
                .map(|(c, a, g)| CadreTraffic::new(c, a.clone(), g.clone()))
                .collect()
        } else {
            let (c, a, g) = &traffic[j % traffic.len()];
            vec![CadreTraffic::new(c, a.clone(), g.clone())]
        };
        let generator = Generator::new(
            mine,
            options.mix,
            options.batch,
            options.resend_ratio,
            nonce ^ (j as u64).wrapping_mul(0x9e37_79b9),
        );
        let slot = Slot {
            index: j,
            client: Client::new(target.clone()),
            generator,
            live: live.clone(),
            stop: stop.clone(),
            acked_log: acked_log.clone(),
            options: options.clone(),
            started,
            deadline,
        };
        slots.push(slot);
    }
    let threads = spawn_load_threads(slots, options.threads)?;

    let load_bar = bar(
        options,
        options.duration.as_millis() as u64,
        "{wide_bar} {elapsed}/{duration} {msg}",
    );
    let ticker = {
        let (live, load_bar) = (live.clone(), load_bar.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let elapsed = started.elapsed();
                let requests = live.requests.load(Ordering::Relaxed);
                load_bar.set_position(elapsed.as_millis() as u64);
                load_bar.set_message(format!(
                    "{requests} requests ({:.0}/s), {} records, {} transport errors",
                    requests as f64 / elapsed.as_secs_f64().max(0.001),
                    live.records.load(Ordering::Relaxed),
                    live.errors.load(Ordering::Relaxed),
                ));
            }
        })
    };

    let mut total = SlotStats::new();
    let mut first_error = None;
    let finished = tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .map(|thread| thread.join())
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|err| LoadtestError::Options(format!("waiting for the load threads: {err}")))?;
    for joined in finished {
        match joined {
            Ok(results) => {
                for (stats, result) in results {
                    total.merge(&stats);
                    if let (Err(err), None) = (result, &first_error) {
                        first_error = Some(err);
                    }
                }
            }
            Err(_) => {
                first_error.get_or_insert(LoadtestError::Options("a load thread panicked".into()));
            }
        }
    }
    let elapsed = started.elapsed();
    ticker.abort();
    load_bar.finish_and_clear();
    if let Some(err) = first_error {
        return Err(err);
    }
    Ok(Report::new(
        RunShape {
            target: target.url.clone(),
            concurrency,
            batch: options.batch,
            rate: options.rate,
            cadres: cadres.len(),
            villages: organisation.villages().count(),
        },
        &total,
        elapsed,
        setup_counts,
    ))
}

type SlotResult = (SlotStats, Result<(), LoadtestError>);

/// Runs the slots on `threads` threads, each with a single-threaded runtime of its own, like
/// wrk's threads with their own event loops: a slot's connection, timers and answers never
/// wake another thread, which keeps the generator cheap beside the server it measures.
fn spawn_load_threads(
    slots: Vec<Slot>,
    threads: usize,
) -> Result<Vec<std::thread::JoinHandle<Vec<SlotResult>>>, LoadtestError> {
    let threads = threads.clamp(1, slots.len().max(1));
    let mut groups: Vec<Vec<Slot>> = (0..threads).map(|_| Vec::new()).collect();
    for (k, slot) in slots.into_iter().enumerate() {
        groups[k % threads].push(slot);
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(t, group)| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(LoadtestError::Runtime)?;
            std::thread::Builder::new()
                .name(format!("loadtest-{t}"))
                .spawn(move || {
                    runtime.block_on(async move {
                        let mut running = tokio::task::JoinSet::new();
                        for slot in group {
                            running.spawn(slot.run());
                        }
                        let mut results = Vec::new();
                        while let Some(joined) = running.join_next().await {
                            results.push(joined.unwrap_or_else(|err| {
                                let err = LoadtestError::Options(format!("a slot failed: {err}"));
                                (SlotStats::new(), Err(err))
                            }));
                        }
                        results
                    })
                })
                .map_err(LoadtestError::Runtime)
        })
        .collect()
}

#[derive(Deserialize)]
struct Ack<'a> {
    id: &'a str,
    seq: u64,
    leaf_hash: &'a str,
}

#[derive(Deserialize)]
struct BatchAnswer<'a> {
    #[serde(borrow)]
    results: Vec<BatchResult<'a>>,
}

#[derive(Deserialize)]
struct BatchResult<'a> {
    status: u16,
    #[serde(borrow, default)]
    body: Option<Ack<'a>>,
}

/// One connection's worth of load.
struct Slot {
    index: usize,
    client: Client,
    generator: Generator,
    live: Arc<Live>,
    stop: Arc<AtomicBool>,
    acked_log: Option<Arc<AckedLog>>,
    options: Options,
    started: Instant,
    deadline: Instant,
}

fn ack_line(out: &mut Vec<u8>, ack: &Ack<'_>) {
    let _ = writeln!(out, "{} {} {}", ack.id, ack.seq, ack.leaf_hash);
}

impl Slot {
    async fn run(mut self) -> (SlotStats, Result<(), LoadtestError>) {
        let mut stats = SlotStats::new();
        let mut lines = Vec::with_capacity(ACKED_FLUSH * 2);
        let result = self.work(&mut stats, &mut lines).await;
        // Whatever ended the loop, acknowledged records reach the file before the run returns.
        let flushed = match &self.acked_log {
            Some(log) => log.write(&mut lines),
            None => Ok(()),
        };
        (stats, result.and(flushed))
    }

    fn past_deadline(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    /// Sleeps for the backoff, or until the run ends if that is sooner.
    async fn back_off(&self, failures: u32) {
        let step = BACKOFF_FIRST
            .saturating_mul(1 << failures.min(8).saturating_sub(1))
            .min(BACKOFF_CAP);
        tokio::time::sleep_until((Instant::now() + step).min(self.deadline)).await;
    }

    async fn work(
        &mut self,
        stats: &mut SlotStats,
        lines: &mut Vec<u8>,
    ) -> Result<(), LoadtestError> {
        let concurrency = self.options.concurrency as f64;
        let interval = self
            .options
            .rate
            .map(|rate| Duration::from_secs_f64(concurrency / rate));
        // Slots start spread over one interval so that paced requests do not arrive in waves.
        let mut due = self.started
            + interval.map_or(Duration::ZERO, |i| {
                i.mul_f64(self.index as f64 / concurrency)
            });
        let mut pending: Option<Outgoing> = None;
        let mut failures = 0u32;
        let method = hyper::Method::POST;
        let single_path = self.client.target().path(super::traffic::SINGLE_PATH);
        let batch_path = self.client.target().path(BATCH_PATH);
        loop {
            if self.past_deadline() {
                return Ok(());
            }
            if let Some(max) = self.options.max_requests {
                if self.live.tickets.fetch_add(1, Ordering::Relaxed) >= max {
                    return Ok(());
                }
            }
            let sent_at = match interval {
                Some(interval) => {
                    if due >= self.deadline {
                        return Ok(());
                    }
                    tokio::time::sleep_until(due).await;
                    let intended = due;
                    due += interval;
                    // Latency counts from when the request was due, not from when a slow
                    // server let this slot send it (coordinated omission, as wrk2 corrects it).
                    intended
                }
                None => Instant::now(),
            };
            let outgoing = match pending.take() {
                Some(retry) => {
                    stats.retries += 1;
                    retry
                }
                None => self.generator.next(time::OffsetDateTime::now_utc()),
            };
            let authorization = self.generator.authorization(outgoing.cadre).clone();
            let path = if outgoing.path == BATCH_PATH {
                &batch_path
            } else {
                &single_path
            };
            let limit = (Instant::now() + self.options.timeout).min(self.deadline + DRAIN);
            let sent = tokio::time::timeout_at(
                limit,
                self.client.send(
                    method.clone(),
                    path,
                    Some(&authorization),
                    outgoing.body.clone(),
                ),
            )
            .await;
            let answer = match sent {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) | Err(_) => {
                    // A timed-out request may still be answered later on this connection, which
                    // would then answer the wrong request: start on a fresh one.
                    self.client = Client::new(self.client.target().clone());
                    stats.transport_errors += 1;
                    self.live.errors.fetch_add(1, Ordering::Relaxed);
                    failures += 1;
                    pending = Some(Outgoing {
                        retry: true,
                        ..outgoing
                    });
                    self.back_off(failures).await;
                    continue;
                }
            };
            failures = 0;
            stats.requests += 1;
            stats.records += outgoing.items.len() as u64;
            stats.status.add(answer.status);
            stats.record_latency(sent_at.elapsed());
            self.live.requests.fetch_add(1, Ordering::Relaxed);
            self.live
                .records
                .fetch_add(outgoing.items.len() as u64, Ordering::Relaxed);
            let retry_later = self.settle(&outgoing, &answer, stats, lines);
            if let Some(log) = &self.acked_log {
                if lines.len() >= ACKED_FLUSH {
                    log.write(lines)?;
                }
            }
            if retry_later {
                pending = Some(Outgoing {
                    retry: true,
                    ..outgoing
                });
                self.back_off(1).await;
            }
        }
    }

    /// Counts the answer per record, keeps acknowledged records for resends and writes their
    /// acked lines. True when the whole request should be sent again (503: the server asked).
    fn settle(
        &mut self,
        outgoing: &Outgoing,
        answer: &Answer,
        stats: &mut SlotStats,
        lines: &mut Vec<u8>,
    ) -> bool {
        let logging = self.acked_log.is_some();
        let mut outcome = |generator: &mut Generator, index: usize, status: u16| {
            let item = &outgoing.items[index];
            stats.record_status.add(status);
            if item.resend {
                stats.resends += 1;
                stats.resend_status.add(status);
            } else if status == 201 || status == 200 {
                generator.acknowledged(outgoing.cadre, item.record.clone());
            }
        };
        if outgoing.path == BATCH_PATH && answer.status == 200 {
            match serde_json::from_slice::<BatchAnswer<'_>>(&answer.body) {
                Ok(batch) if batch.results.len() == outgoing.items.len() => {
                    for (index, result) in batch.results.iter().enumerate() {
                        outcome(&mut self.generator, index, result.status);
                        if let (true, true, Some(ack)) = (
                            logging,
                            result.status == 201 || result.status == 200,
                            &result.body,
                        ) {
                            ack_line(lines, ack);
                        }
                    }
                }
                // An answer that does not say what became of each record acknowledges none.
                _ => {
                    for index in 0..outgoing.items.len() {
                        outcome(&mut self.generator, index, 0);
                    }
                }
            }
            return false;
        }
        for index in 0..outgoing.items.len() {
            outcome(&mut self.generator, index, answer.status);
        }
        if logging && outgoing.path != BATCH_PATH && (answer.status == 201 || answer.status == 200)
        {
            if let Ok(ack) = serde_json::from_slice::<Ack<'_>>(&answer.body) {
                ack_line(lines, &ack);
            }
        }
        answer.status == 503
    }
}
