//! The webhook sender (docs/alerts.md): works through the outbox the writer fills with each
//! alert. Every due delivery is attempted (several at once), each attempt's result goes back to
//! the writer for the delivery log, and a failed attempt is retried with exponential backoff
//! and jitter until the delivery is older than the schedule allows. The outbox is in the
//! database, so after a restart the sender carries on where it stopped: a delivery is sent at
//! least once and carries the same `webhook-id` every time, by which receivers deduplicate.

use super::signature::sign;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::web;
use fieldtrail_storage::webhooks::Due;
use fieldtrail_storage::writer::Attempt;
use std::time::Duration;

/// When to retry, and when to give up.
#[derive(Debug, Clone)]
pub struct RetrySchedule {
    /// The wait after the first failed attempt; it doubles after each further one.
    pub first: Duration,
    /// The longest wait between attempts.
    pub max: Duration,
    /// A delivery still failing this long after its alert is given up (`failed`).
    pub give_up_after: Duration,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            first: Duration::from_secs(5),
            max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetrySchedule {
    /// The wait after `failures` failed attempts: `first · 2^(failures-1)`, at most `max`, then
    /// scaled by `jitter` in [0.5, 1) so that receivers coming back are not hit all at once.
    pub fn wait(&self, failures: u32, jitter: f64) -> Duration {
        let doubling = 2u32.saturating_pow(failures.saturating_sub(1).min(30));
        let wait = self.first.saturating_mul(doubling).min(self.max);
        wait.mul_f64(jitter.clamp(0.5, 1.0))
    }
}

/// How often the outbox is looked at for due deliveries.
const POLL: Duration = Duration::from_millis(250);
/// Deliveries attempted at once.
const AT_ONCE: i64 = 16;
/// How long one attempt may take, connection included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// What of a receiver's error answer is kept in the log.
const MAX_ERROR_CHARS: usize = 200;

pub fn spawn_sender(state: web::Data<AppState>, schedule: RetrySchedule) {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(ATTEMPT_TIMEOUT))
            .user_agent(concat!("fieldtrail/", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    actix_web::rt::spawn(async move {
        let mut ticker = actix_web::rt::time::interval(POLL);
        loop {
            ticker.tick().await;
            if let Err(err) = send_due(&state, &agent, &schedule).await {
                tracing::warn!(error = %err, "webhook deliveries");
            }
        }
    });
}

async fn send_due(
    state: &AppState,
    agent: &ureq::Agent,
    schedule: &RetrySchedule,
) -> Result<(), crate::error::ApiError> {
    let now = wall_micros();
    let due = read(&state.db, move |conn| {
        fieldtrail_storage::webhooks::due(conn, now, AT_ONCE)
    })
    .await?;
    if due.is_empty() {
        return Ok(());
    }
    let tasks: Vec<_> = due
        .into_iter()
        .map(|delivery| {
            let agent = agent.clone();
            let schedule = schedule.clone();
            actix_web::rt::task::spawn_blocking(move || attempt(&agent, &schedule, delivery))
        })
        .collect();
    let mut attempts = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(attempt) => attempts.push(attempt),
            Err(err) => tracing::warn!(error = %err, "a webhook attempt panicked"),
        }
    }
    state.writer.webhook_attempts(attempts).await?;
    Ok(())
}

/// One attempt at one delivery, and what it came to.
fn attempt(agent: &ureq::Agent, schedule: &RetrySchedule, delivery: Due) -> Attempt {
    let timestamp = wall_micros() / 1_000_000;
    let (status, error) = match sign(
        &delivery.secret,
        &delivery.id,
        timestamp,
        delivery.body.as_bytes(),
    ) {
        Err(err) => (None, Some(err.to_string())),
        Ok(signature) => match agent
            .post(&delivery.url)
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .content_type("application/json")
            .send(delivery.body.as_bytes())
        {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let error = (!response.status().is_success()).then(|| {
                    let text = response.body_mut().read_to_string().unwrap_or_default();
                    format!(
                        "HTTP {status}: {}",
                        text.chars().take(MAX_ERROR_CHARS).collect::<String>()
                    )
                });
                (Some(status), error)
            }
            Err(err) => (None, Some(err.to_string())),
        },
    };
    let at = wall_micros();
    if error.is_none() {
        tracing::debug!(delivery = %delivery.id, "webhook delivered");
        return Attempt {
            delivery_id: delivery.id,
            at,
            status,
            error,
            state: "delivered",
            next_at: at,
        };
    }
    let failures = u32::try_from(delivery.attempts)
        .unwrap_or(0)
        .saturating_add(1);
    let wait = schedule.wait(failures, jitter());
    let next_at = at.saturating_add(i64::try_from(wait.as_micros()).unwrap_or(i64::MAX));
    let give_up_at = delivery
        .created_at
        .saturating_add(i64::try_from(schedule.give_up_after.as_micros()).unwrap_or(i64::MAX));
    let state = if next_at > give_up_at {
        "failed"
    } else {
        "pending"
    };
    tracing::info!(delivery = %delivery.id, failures, state, "webhook attempt failed");
    Attempt {
        delivery_id: delivery.id,
        at,
        status,
        error,
        state,
        next_at,
    }
}

fn wall_micros() -> i64 {
    fieldtrail_domain::canonical::unix_micros(time::OffsetDateTime::now_utc())
}

/// A factor in [0.5, 1).
fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.75;
    }
    0.5 + f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_jitter_shortens_them() {
        let schedule = RetrySchedule {
            first: Duration::from_secs(5),
            max: Duration::from_secs(60),
            give_up_after: Duration::from_secs(3600),
        };
        assert_eq!(schedule.wait(1, 1.0), Duration::from_secs(5));
        assert_eq!(schedule.wait(2, 1.0), Duration::from_secs(10));
        assert_eq!(schedule.wait(4, 1.0), Duration::from_secs(40));
        assert_eq!(schedule.wait(5, 1.0), Duration::from_secs(60));
        assert_eq!(schedule.wait(40, 1.0), Duration::from_secs(60));
        assert_eq!(schedule.wait(2, 0.5), Duration::from_secs(5));
    }

    #[test]
    fn jitter_stays_in_its_range() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.5..1.0).contains(&j), "{j}");
        }
    }
}
