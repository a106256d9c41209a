//! The `fieldtrail loadtest` flags (a contract: flags may be added, never renamed) and the plain
//! [`Options`] they become, which in-process callers such as tests build directly.

use super::traffic::{Mix, MAX_BATCH};
use std::path::PathBuf;
use std::time::Duration;

const JSON_HELP: &str = "\
With --json, stdout gets exactly one JSON object:
  target            the --target URL
  duration_s        seconds the load ran (setup not included)
  concurrency       connections (--concurrency)
  batch             records per batch request, or null for single records
  rate              the --rate pacing in requests/s, or null for a closed loop
  cadres, villages  the organisation's size
  requests          HTTP requests answered (any status)
  records           records in answered requests (1 per single request, K per batch)
  acked             records acknowledged: 201 or 200 (batch: items with status 201 or 200)
  requests_per_s    requests / duration_s
  records_per_s     records / duration_s
  latency_ms        {p50, p95, p99, max} of request latency in milliseconds (with --rate,
                    measured from when the request was due, so a slow server is not hidden)
  status            {\"201\": n, \"200\": n, \"503\": n, …}: HTTP status of every answered request
  record_status     the same per record (the item's own status inside a batch answer)
  transport_errors  requests that got no answer (refused, reset, timed out); counted, not fatal
  resends           records deliberately sent again exactly as before (the server answers 200)
  resend_status     the status each resend got
  retries           requests sent again after a transport error or a 503
  setup             {units_created, people_created, assignments_created, households_created,
                    pairings_created, seconds}: what this run had to create

--acked-log FILE appends one line per acknowledged record: `<record id> <seq> <leaf_hash hex>`.

Generated data: unit codes lt-NN (county), lt-NN-TT (township), lt-NN-TT-VV (village); cadres
lt-cadre-0001 … with the password lt-cadre-password. A second run reuses what exists.";

/// Drive a running fieldtrail with realistic cadre traffic and report throughput and latency.
#[derive(Debug, clap::Args)]
#[command(after_help = JSON_HELP)]
pub struct LoadtestArgs {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub target: String,
    /// Username of an admin of the whole unit tree (creates the organisation).
    #[arg(long)]
    pub admin: String,
    /// That admin's password.
    #[arg(long, env = "FIELDTRAIL_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: String,
    /// Cadres to send as (created if missing).
    #[arg(long, default_value_t = 20)]
    pub cadres: usize,
    /// Villages to spread them over (created if missing; 12 per township, 30 townships per county).
    #[arg(long, default_value_t = 10)]
    pub villages: usize,
    /// Households paired with each cadre, for household visits (at most 5).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=5))]
    pub households_per_cadre: u8,
    /// Seconds to send load for.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Connections, each sending its next request when the previous answer arrived.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Send offline batches of K records (POST /v1/records/batch) instead of single records.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=MAX_BATCH as i64))]
    pub batch: Option<u16>,
    /// Weights of the record kinds.
    #[arg(long, default_value = "checkin=80,visit=10,log=10")]
    pub mix: Mix,
    /// Percent of records that are resends of an acknowledged record.
    #[arg(long, default_value_t = 5.0)]
    pub resend_percent: f64,
    /// Pace to this many requests per second in total (default: as fast as answers come).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Stop after this many requests (or when the duration ends, whichever is first).
    #[arg(long)]
    pub max_requests: Option<u64>,
    /// Append `<record id> <seq> <leaf_hash>` for every acknowledged record to this file.
    #[arg(long)]
    pub acked_log: Option<PathBuf>,
    /// Print one JSON object on stdout instead of the text summary (no progress bar).
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for one answer before counting a transport error.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Threads of the load generator (it shares the machine with the server it measures).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
}

/// Everything a run needs; [`Options::new`] gives the command's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    pub target: String,
    pub admin: String,
    pub admin_password: String,
    pub cadres: usize,
    pub villages: usize,
    pub households_per_cadre: usize,
    pub duration: Duration,
    pub concurrency: usize,
    pub batch: Option<usize>,
    pub mix: Mix,
    /// Share of records that are resends, 0 to 1.
    pub resend_ratio: f64,
    pub rate: Option<f64>,
    pub max_requests: Option<u64>,
    pub acked_log: Option<PathBuf>,
    pub timeout: Duration,
    pub threads: usize,
    /// Draw progress bars on stderr (they hide themselves when stderr is not a terminal).
    pub progress: bool,
    /// Say on stderr when the load starts and what setup did (for scripts waiting on it).
    pub announce: bool,
}

impl Options {
    pub fn new(target: &str, admin: &str, admin_password: &str) -> Options {
        Options {
            target: target.to_owned(),
            admin: admin.to_owned(),
            admin_password: admin_password.to_owned(),
            cadres: 20,
            villages: 10,
            households_per_cadre: 3,
            duration: Duration::from_secs(10),
            concurrency: 32,
            batch: None,
            mix: Mix::default(),
            resend_ratio: 0.05,
            rate: None,
            max_requests: None,
            acked_log: None,
            timeout: Duration::from_secs(10),
            threads: 2,
            progress: false,
            announce: false,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.cadres == 0 {
            return Err("--cadres must be at least 1".into());
        }
        if self.villages == 0 {
            return Err("--villages must be at least 1".into());
        }
        if self.concurrency == 0 {
            return Err("--concurrency must be at least 1".into());
        }
        if let Some(k) = self.batch {
            if !(1..=MAX_BATCH).contains(&k) {
                return Err(format!("--batch must be 1 to {MAX_BATCH}"));
            }
        }
        if !(0.0..=1.0).contains(&self.resend_ratio) {
            return Err("--resend-percent must be 0 to 100".into());
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err("--rate must be a positive number".into());
            }
        }
        // Every run is bounded in time, --max-requests or not.
        if self.duration.is_zero() {
            return Err("--duration must be above 0".into());
        }
        Ok(())
    }
}

fn seconds(flag: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value).map_err(|_| format!("{flag} must be a number of seconds"))
}

impl TryFrom<&LoadtestArgs> for Options {
    type Error = String;

    fn try_from(args: &LoadtestArgs) -> Result<Options, String> {
        let mut options = Options::new(&args.target, &args.admin, &args.admin_password);
        options.cadres = args.cadres;
        options.villages = args.villages;
        options.households_per_cadre = usize::from(args.households_per_cadre);
        options.duration = seconds("--duration", args.duration)?;
        options.concurrency = usize::from(args.concurrency);
        options.batch = args.batch.map(usize::from);
        options.mix = args.mix;
        options.resend_ratio = args.resend_percent / 100.0;
        options.rate = args.rate;
        options.max_requests = args.max_requests;
        options.acked_log = args.acked_log.clone();
        options.timeout = seconds("--timeout", args.timeout)?;
        options.threads = usize::from(args.threads);
        options.progress = !args.json;
        options.announce = true;
        options.validate()?;
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: LoadtestArgs,
    }

    fn parse(extra: &[&str]) -> Result<Options, String> {
        let mut argv = vec![
            "loadtest",
            "--target",
            "http://127.0.0.1:1",
            "--admin",
            "root",
            "--admin-password",
            "pw",
        ];
        argv.extend_from_slice(extra);
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        Options::try_from(&cli.args)
    }

    #[test]
    fn defaults_and_the_contract_flags() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.duration, Duration::from_secs(10));
        assert_eq!(options.batch, None);
        assert_eq!(options.mix, Mix::default());
        let options = parse(&[
            "--cadres",
            "7",
            "--villages",
            "3",
            "--duration",
            "2.5",
            "--concurrency",
            "4",
            "--batch",
            "500",
            "--mix",
            "checkin=1,log=1",
            "--acked-log",
            "/tmp/a",
            "--json",
            "--rate",
            "100",
            "--max-requests",
            "9",
        ])
        .unwrap();
        assert_eq!((options.cadres, options.villages), (7, 3));
        assert_eq!(options.duration, Duration::from_millis(2500));
        assert_eq!(options.batch, Some(500));
        assert_eq!(options.mix.visit, 0);
        assert_eq!(options.rate, Some(100.0));
        assert_eq!(options.max_requests, Some(9));
        assert!(!options.progress, "--json hides the progress bar");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        assert!(parse(&["--batch", "501"]).is_err());
        assert!(parse(&["--batch", "0"]).is_err());
        assert!(parse(&["--concurrency", "0"]).is_err());
        assert!(parse(&["--cadres", "0"]).is_err());
        assert!(parse(&["--rate", "-3"]).is_err());
        assert!(parse(&["--duration", "-1"]).is_err());
        assert!(parse(&["--duration", "0", "--max-requests", "5"]).is_err());
        assert!(parse(&["--resend-percent", "120"]).is_err());
        assert!(parse(&["--mix", "hike=1"]).is_err());
    }
}
