//! Login rate limits (docs/reliability.md): failed logins are counted per username and per
//! client address; past the limit, logins for that username (or from that address) answer 429
//! with Retry-After until the lockout ends, before any password is checked. Each lockout is
//! an audit line in the log. Kept in memory: a restart forgets them, which only ever lets a
//! locked-out user back in early.

use crate::error::ApiError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits: failures tolerated within `window`, and how long a lockout lasts.
#[derive(Debug, Clone)]
pub struct LoginLimitConfig {
    pub username_failures: u32,
    pub address_failures: u32,
    pub window: Duration,
    pub lockout: Duration,
}

impl Default for LoginLimitConfig {
    fn default() -> Self {
        // Five tries is more than a cadre who forgot a password needs; thirty from one address
        // lets an office behind one NAT log in while stopping a guessing run.
        LoginLimitConfig {
            username_failures: 5,
            address_failures: 30,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// Entries kept before the expired ones are swept.
const SWEEP_AT: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Tally {
    failures: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

#[derive(Default)]
struct Tallies {
    usernames: HashMap<String, Tally>,
    addresses: HashMap<IpAddr, Tally>,
}

pub struct LoginLimits {
    config: LoginLimitConfig,
    tallies: Mutex<Tallies>,
}

fn retry_after(until: Instant, now: Instant) -> u64 {
    until.saturating_duration_since(now).as_secs().max(1)
}

/// Whether `tally` is locked at `now`, and for how many more seconds.
fn locked(tally: Option<&Tally>, now: Instant) -> Option<u64> {
    tally
        .and_then(|t| t.locked_until)
        .filter(|until| *until > now)
        .map(|until| retry_after(until, now))
}

/// Counts one failure; Some(seconds) when it starts a lockout.
fn count(tally: &mut Tally, limit: u32, config: &LoginLimitConfig, now: Instant) -> Option<u64> {
    if now.duration_since(tally.since) > config.window || tally.locked_until.is_some() {
        *tally = Tally {
            failures: 0,
            since: now,
            locked_until: None,
        };
    }
    tally.failures += 1;
    if tally.failures >= limit {
        let until = now + config.lockout;
        tally.locked_until = Some(until);
        Some(retry_after(until, now))
    } else {
        None
    }
}

fn fresh(now: Instant) -> Tally {
    Tally {
        failures: 0,
        since: now,
        locked_until: None,
    }
}

impl LoginLimits {
    pub fn new(config: LoginLimitConfig) -> LoginLimits {
        LoginLimits {
            config,
            tallies: Mutex::new(Tallies::default()),
        }
    }

    fn key(username: &str) -> String {
        username.trim().to_lowercase()
    }

    /// 429 while the username or the address is locked out.
    pub fn check(&self, username: &str, address: Option<IpAddr>) -> Result<(), ApiError> {
        let now = Instant::now();
        let Ok(tallies) = self.tallies.lock() else {
            return Ok(());
        };
        let by_user = locked(tallies.usernames.get(&Self::key(username)), now);
        let by_address = address.and_then(|a| locked(tallies.addresses.get(&a), now));
        match (by_user, by_address) {
            (Some(seconds), _) => Err(ApiError::TooManyRequests {
                detail: format!(
                    "too many failed logins for this username; try again in {seconds} s"
                ),
                retry_after: seconds,
            }),
            (None, Some(seconds)) => Err(ApiError::TooManyRequests {
                detail: format!(
                    "too many failed logins from this address; try again in {seconds} s"
                ),
                retry_after: seconds,
            }),
            (None, None) => Ok(()),
        }
    }

    /// Counts a failed login against the username and the address.
    pub fn failed(&self, username: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let Ok(mut tallies) = self.tallies.lock() else {
            return;
        };
        let tallies = &mut *tallies;
        if tallies.usernames.len() + tallies.addresses.len() >= SWEEP_AT {
            let window = self.config.window.max(self.config.lockout);
            let live = |t: &mut Tally| now.duration_since(t.since) <= window;
            tallies.usernames.retain(|_, t| live(t));
            tallies.addresses.retain(|_, t| live(t));
        }
        let user = tallies
            .usernames
            .entry(Self::key(username))
            .or_insert_with(|| fresh(now));
        if let Some(seconds) = count(user, self.config.username_failures, &self.config, now) {
            // The audit line: a lockout is something an admin may be asked about.
            tracing::warn!(
                audit = "login.lockout",
                username = %username,
                seconds,
                "login locked out for this username after repeated failures"
            );
        }
        if let Some(address) = address {
            let tally = tallies
                .addresses
                .entry(address)
                .or_insert_with(|| fresh(now));
            if let Some(seconds) = count(tally, self.config.address_failures, &self.config, now) {
                tracing::warn!(
                    audit = "login.lockout",
                    address = %address,
                    seconds,
                    "login locked out for this address after repeated failures"
                );
            }
        }
    }

    /// A successful login clears the username's failures (not the address's).
    pub fn succeeded(&self, username: &str) {
        if let Ok(mut tallies) = self.tallies.lock() {
            tallies.usernames.remove(&Self::key(username));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LoginLimits {
        LoginLimits::new(LoginLimitConfig {
            username_failures: 3,
            address_failures: 5,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(30),
        })
    }

    #[test]
    fn a_username_is_locked_after_its_failures_and_a_success_clears_them() {
        let limits = limits();
        let here: IpAddr = "127.0.0.1".parse().unwrap();
        limits.failed("cadre01", Some(here));
        limits.failed("Cadre01", Some(here));
        limits.succeeded("cadre01");
        limits.failed("cadre01", Some(here));
        limits.failed("cadre01", Some(here));
        assert!(limits.check("cadre01", Some(here)).is_ok());
        limits.failed("cadre01", Some(here));
        match limits.check("CADRE01", None) {
            Err(ApiError::TooManyRequests { retry_after, .. }) => {
                assert!((1..=30).contains(&retry_after), "{retry_after}");
            }
            other => panic!("not locked: {other:?}"),
        }
        assert!(limits.check("someone-else", None).is_ok());
    }

    /// What `run` logs, as text.
    fn logged(run: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, run);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn each_lockout_is_one_audit_line() {
        let limits = limits();
        let here: IpAddr = "192.0.2.1".parse().unwrap();
        let log = logged(|| {
            for _ in 0..3 {
                limits.failed("cadre07", Some(here));
            }
        });
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("login.lockout"))
            .collect();
        assert_eq!(lines.len(), 1, "{log}");
        assert!(
            lines[0].contains("WARN") && lines[0].contains("cadre07"),
            "{log}"
        );
        let log = logged(|| {
            limits.failed("cadre08", Some(here));
            limits.failed("cadre09", Some(here));
        });
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("login.lockout"))
            .collect();
        assert_eq!(lines.len(), 1, "the address's fifth failure: {log}");
        assert!(lines[0].contains("192.0.2.1"), "{log}");
    }

    #[test]
    fn an_address_is_locked_after_its_failures_whatever_the_usernames() {
        let limits = limits();
        let there: IpAddr = "10.0.0.7".parse().unwrap();
        for i in 0..5 {
            limits.failed(&format!("guess{i}"), Some(there));
        }
        assert!(limits.check("fresh-name", Some(there)).is_err());
        assert!(limits
            .check("fresh-name", Some("10.0.0.8".parse().unwrap()))
            .is_ok());
    }
}
