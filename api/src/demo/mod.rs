//! The demo: an organisation (萧县, `org`) and a month of its life (`plan` and
//! `exceptions`, played by `activity`): check-ins, nights, visits, logs, leave, a trip,
//! corrections and a dispute, with the alerts they raise, and spot-checks (`supervision`), two
//! rounds earlier in the month and one now. Everything goes through the ledger writer, as the
//! HTTP API would send it.
//!
//! The month is replayed with the server clock set back to each moment a phone syncs or a
//! supervisor acts, so that every entry is received when it would have been (no month-old record
//! flagged `late_sync` unless the plan means it, decisions after the requests they answer) and
//! the ledger's received times only ever move forward. The clock is back in the present for
//! today's spot-checks, and whatever happens.

mod activity;
mod exceptions;
mod org;
mod plan;
mod supervision;
#[cfg(test)]
mod tests;

pub use org::village_centre;

use crate::error::ApiError;
use crate::handlers::read;
use crate::state::AppState;
use fieldtrail_domain::roster::COUNTY_OFFSET;
use fieldtrail_storage::spot_checks::AlertFilter;
use fieldtrail_storage::Clock;
use plan::{Moment, FIRST_DAY, LATE_CADRE, LATE_FROM};
use time::{Duration, OffsetDateTime};

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "demo-admin-pass";
pub const STAFF_PASSWORD: &str = "demo-staff-pass";
pub const CADRE_PASSWORD: &str = "demo-cadre-pass";

/// One demo login: what to print for the user.
pub struct DemoLogin {
    pub username: String,
    pub password: &'static str,
    pub what: String,
}

/// What the demo loaded.
pub struct Demo {
    pub logins: Vec<DemoLogin>,
    /// Records per kind (cadres' and staff's), in kind order.
    pub records: Vec<(&'static str, usize)>,
    pub decisions: usize,
    pub draws: usize,
    pub challenges: usize,
    pub answered: usize,
    pub verifications: usize,
    /// Alerts open when loading finished (more follow as open challenges pass their deadline).
    pub alerts: usize,
}

impl Demo {
    pub fn record_count(&self) -> usize {
        self.records.iter().map(|(_, n)| n).sum()
    }
}

/// Sets the shared server clock back in time, never past the present, and puts it back when
/// dropped (an error half-way must not leave the server living in the past).
pub(crate) struct TimeMachine {
    clock: Clock,
    /// How far the clock was from the system time to begin with (tests move it).
    drift: Duration,
}

impl TimeMachine {
    fn new(clock: &Clock) -> TimeMachine {
        TimeMachine {
            clock: clock.clone(),
            drift: clock.now() - OffsetDateTime::now_utc(),
        }
    }

    fn present(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.drift
    }

    pub(crate) fn travel(&self, at: OffsetDateTime) {
        self.clock.set(at.min(self.present()));
    }

    fn restore(&self) {
        self.clock.set(self.present());
    }
}

impl Drop for TimeMachine {
    fn drop(&mut self) {
        self.restore();
    }
}

/// Loads the demo into an empty ledger. Call it before the server serves: while it runs, the
/// server clock is in the past.
pub async fn load(state: &AppState) -> Result<Demo, ApiError> {
    let machine = TimeMachine::new(&state.clock);
    let local = state.clock.now().to_offset(COUNTY_OFFSET);
    let today = local.date();
    let now_minute = u32::from(local.hour()) * 60 + u32::from(local.minute());
    let plan = plan::plan(today, now_minute);
    // The organisation is set up the morning before the month begins.
    machine.travel(activity::instant(
        today,
        Moment {
            day: FIRST_DAY - 1,
            minute: 9 * 60,
        },
        0,
    ));
    let org = org::create_org(state, today, LATE_CADRE, activity::day_of(today, LATE_FROM)).await?;
    let mut written = activity::replay(state, &org, &plan, today, &machine).await?;
    machine.restore();
    supervision::today_round(state, &org, &mut written.checks).await?;
    let checks = written.checks;
    let alerts = read(&state.db, |conn| {
        let filter = AlertFilter {
            status: Some("open".into()),
            limit: 10_000,
            ..AlertFilter::default()
        };
        fieldtrail_storage::spot_checks::alerts(conn, "/", &filter)
    })
    .await?
    .len();
    Ok(Demo {
        logins: org.logins,
        records: written.records.into_iter().collect(),
        decisions: written.decisions,
        draws: checks.draws,
        challenges: checks.challenges,
        answered: checks.answered,
        verifications: checks.verifications,
        alerts,
    })
}
