//! The per-device limit on record submissions (policy `max_submissions_per_device_minute`):
//! counted here, in the writer, because it holds every person's effective policy and sees
//! every submission in order. A batch is one submission. Counts are per calendar minute and
//! live only in memory: a restart or a reload starts them afresh, which errs on the side of
//! storing evidence.

use super::JudgeState;
use crate::error::{StorageError, StorageResult};
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::roster::county_date;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Devices tracked before old minutes are swept.
const SWEEP_AT: usize = 100_000;

#[derive(Default)]
pub(crate) struct Admissions {
    /// By device (or by person, for records without one): the minute and its count.
    minutes: HashMap<String, (i64, u32)>,
}

impl JudgeState {
    /// Counts one submission from each device in `devices`, or refuses it whole when one of
    /// them has reached the policy's limit this minute.
    pub(crate) fn admit<'d>(
        &mut self,
        person: &PersonId,
        devices: impl Iterator<Item = Option<&'d str>>,
        now: OffsetDateTime,
    ) -> StorageResult<()> {
        let Some(info) = self.person(person) else {
            return Ok(());
        };
        let villages = self.villages_on(person, county_date(now));
        let limit = self
            .person_policy(info, &villages)
            .policy
            .max_submissions_per_device_minute;
        let minute = now.unix_timestamp().div_euclid(60);
        let mut keys: Vec<String> = devices
            .map(|device| match device {
                Some(device) => format!("d:{device}"),
                None => format!("p:{person}"),
            })
            .collect();
        keys.sort();
        keys.dedup();
        let minutes = &mut self.admissions.minutes;
        if minutes.len() >= SWEEP_AT {
            minutes.retain(|_, (at, _)| *at >= minute);
        }
        let full = keys.iter().any(|key| {
            minutes
                .get(key)
                .is_some_and(|(at, count)| *at == minute && *count >= limit)
        });
        if full {
            let retry_after = u64::try_from(60 - now.unix_timestamp().rem_euclid(60)).unwrap_or(60);
            return Err(StorageError::RateLimited {
                detail: format!(
                    "this device has sent {limit} submissions this minute (policy max_submissions_per_device_minute); send the rest as a batch or wait"
                ),
                retry_after,
            });
        }
        for key in keys {
            let entry = minutes.entry(key).or_insert((minute, 0));
            if entry.0 != minute {
                *entry = (minute, 0);
            }
            entry.1 += 1;
        }
        Ok(())
    }
}
