//! `fieldtrail loadtest`: sets up (or reuses) a generated organisation on a running server
//! through its public API, then sends realistic cadre traffic over keep-alive HTTP/1.1
//! connections and reports throughput, latency and answers by status.
//!
//! - `args.rs`: the command's flags and the plain [`Options`] they become
//! - `run.rs`: a run — setup, the slots (one connection each), merging what they measured
//! - `org.rs`: the organisation as plain data, independent of HTTP
//! - `setup.rs`: bringing that organisation onto a server, creating only what is missing
//! - `traffic.rs`: the records cadres send
//! - `places.rs`: where cadres are when they send them
//! - `http.rs`: the lean HTTP/1.1 client
//! - `stats.rs`: counters, latency histogram and the [`Report`]

pub mod args;
pub mod http;
pub mod org;
pub mod places;
pub mod run;
pub mod setup;
pub mod stats;
pub mod traffic;

pub use args::{LoadtestArgs, Options};
pub use org::{OrgSpec, Organisation};
pub use run::{main, run, run_until, LoadtestError};
pub use stats::{Report, SetupCounts};
pub use traffic::Mix;
