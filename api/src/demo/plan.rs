//! Who does what on which day of the demo month: a pure, deterministic plan (no randomness, no
//! clock), so that the same `today` always gives the same records. Variation comes from a hash
//! of the cadre, the day and the slot.
//!
//! The routine: cadres are in their village Monday to Friday and stay four nights (五天四夜), some
//! also on Saturday morning; the paired cadre of each village visits its households twice a week,
//! the first secretary once; everyone writes a daily log. The exceptions are in [`super::exceptions`].

use super::exceptions::{Calendar, Days, OFFLINE, OVERDUE, SLACK};
use time::{Date, Weekday};

pub(super) const CADRES: usize = 24;
/// The first day of the demo month, in days relative to today (0).
pub(super) const FIRST_DAY: i32 = -30;
/// A first secretary newly posted: assigned from `LATE_FROM`, seen in the village before that.
pub(super) const LATE_CADRE: usize = 22;
pub(super) const LATE_FROM: i32 = -20;
/// Phones sync at noon and in the evening (minutes after county midnight).
const SYNC_NOON: u32 = 12 * 60 + 30;
const SYNC_EVENING: u32 = 21 * 60 + 45;

/// A county minute of the demo: `day` relative to today, `minute` after midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Moment {
    pub day: i32,
    pub minute: u32,
}

/// Names one planned record: the record id is derived from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Key {
    pub cadre: usize,
    pub day: i32,
    pub slot: u8,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Place {
    Village,
    /// The neighbouring village of the same township.
    Neighbour,
    /// A village of another township.
    Elsewhere,
    /// A mocked fix in the city, far away.
    Mocked,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Corrected {
    /// The fix was wrong: the corrected position is in the village.
    Position,
    /// The time was wrong: the corrected time, that day.
    Time(u32),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Act {
    CheckIn {
        place: Place,
        note: Option<&'static str>,
    },
    CheckOut,
    Visit {
        household: usize,
        far: bool,
    },
    Log {
        positioned: bool,
    },
    LeaveRequest {
        from: i32,
        to: i32,
    },
    LeaveReturn {
        leave: Key,
    },
    Trip {
        from: i32,
        to: i32,
    },
    Correction {
        amends: Key,
        corrected: Corrected,
    },
    Dispute {
        disputes: Key,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Step {
    pub key: Key,
    pub at: Moment,
    pub second: u32,
    /// When the phone sends it.
    pub sync: Moment,
    pub act: Act,
    /// Sent from a colleague's phone rather than the cadre's own.
    pub borrowed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Approver {
    County,
    Township,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum StaffAct {
    Approve {
        request: Key,
        by: Approver,
    },
    Duty {
        cadre: usize,
        day: i32,
    },
    Note {
        cadre: usize,
        reward: bool,
    },
    /// A spot-check draw over the county's cadres, or over its visited households.
    Draw {
        households: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct StaffStep {
    pub at: Moment,
    pub act: StaffAct,
}

#[derive(Debug, PartialEq)]
pub(super) struct Plan {
    /// In the order they are sent: by sync moment, then capture time.
    pub steps: Vec<Step>,
    pub staff: Vec<StaffStep>,
}

/// A stable hash of up to three numbers, for variations that look random but are not.
pub(super) fn mix(a: u64, b: u64, c: u64) -> u64 {
    let mut x = a
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(b.wrapping_mul(0xbf58_476d_1ce4_e5b9))
        .wrapping_add(c.wrapping_mul(0x94d0_49bb_1331_11eb))
        .wrapping_add(0x2545_f491_4f6c_dd1d);
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn vary(key: Key, span: u32) -> u32 {
    let day = u64::from(key.day.unsigned_abs());
    let value = mix(key.cadre as u64, day, u64::from(key.slot)) % u64::from(span.max(1));
    u32::try_from(value).unwrap_or(0)
}

pub(super) struct Planner {
    pub cal: Calendar,
    pub days: Days,
    pub steps: Vec<Step>,
    pub staff: Vec<StaffStep>,
}

impl Planner {
    fn present(&self, cadre: usize, day: i32) -> bool {
        if day > 0 || (cadre == LATE_CADRE && day < LATE_FROM) || self.days.away(cadre, day) {
            return false;
        }
        if self.days.needed(cadre, day) {
            return true;
        }
        let slack = SLACK.contains(&cadre);
        match self.cal.weekday(day) {
            Weekday::Saturday => cadre % 5 == 1,
            Weekday::Sunday => false,
            Weekday::Friday => !slack,
            Weekday::Wednesday => !(slack && self.cal.odd_week(day)),
            _ => true,
        }
    }

    /// A night stayed: the evening in the village and the next morning too (or a duty night).
    fn night(&self, cadre: usize, day: i32) -> bool {
        if self.days.duty(cadre, day) {
            return true;
        }
        if !self.present(cadre, day)
            || self.days.checked_out_early(cadre, day)
            || self.days.drifted(cadre, day)
        {
            return false;
        }
        let stays = match self.cal.weekday(day) {
            Weekday::Monday | Weekday::Tuesday => true,
            Weekday::Wednesday | Weekday::Thursday => !SLACK.contains(&cadre),
            Weekday::Friday => cadre % 5 == 1,
            _ => false,
        };
        stays && self.present(cadre, day + 1)
    }

    pub(super) fn push(&mut self, key: Key, minute: u32, act: Act) {
        self.steps.push(Step {
            key,
            at: Moment {
                day: key.day,
                minute,
            },
            second: vary(Key { slot: 99, ..key }, 60),
            sync: sync_of(key.day, minute),
            act,
            borrowed: false,
        });
    }

    /// An ordinary day in the village: check-in, a visit, the log and the check-out.
    fn routine(&mut self, cadre: usize, day: i32) {
        if !self.present(cadre, day) {
            return;
        }
        let key = |slot| Key { cadre, day, slot };
        let weekday = self.cal.weekday(day);
        let duty = self.days.duty(cadre, day);
        let half_day = weekday == Weekday::Saturday && !duty;
        let drift = self.days.drifted(cadre, day);
        let arrive = if duty {
            8 * 60 + 5 + vary(key(0), 40)
        } else if self.night(cadre, day - 1) {
            7 * 60 + 20 + vary(key(0), 75)
        } else {
            8 * 60 + 40 + vary(key(0), 55)
        };
        let place = if drift {
            Place::Neighbour
        } else {
            Place::Village
        };
        self.push(key(0), arrive, Act::CheckIn { place, note: None });
        if self.days.borrowed(cadre, day) {
            if let Some(step) = self.steps.last_mut() {
                step.borrowed = true;
            }
        }
        if half_day {
            self.push(key(3), 11 * 60 + 30 + vary(key(3), 40), Act::CheckOut);
            return;
        }
        let week = self.cal.week(day);
        let second_half = usize::from(weekday == Weekday::Thursday);
        let visit = match (cadre % 2, weekday) {
            _ if duty || drift => None,
            (1, Weekday::Tuesday | Weekday::Thursday) if cadre == OVERDUE => {
                Some((week + second_half) % 2)
            }
            (1, Weekday::Tuesday | Weekday::Thursday) => Some((2 * week + second_half) % 3),
            (0, Weekday::Wednesday) => Some(week % 3),
            _ => None,
        };
        if let Some(household) = visit {
            let minute = 9 * 60 + 50 + vary(key(1), 80);
            self.push(
                key(1),
                minute,
                Act::Visit {
                    household,
                    far: false,
                },
            );
        }
        let positioned = cadre % 4 != 3 && !drift;
        self.push(
            key(2),
            16 * 60 + 50 + vary(key(2), 50),
            Act::Log { positioned },
        );
        if drift {
            // Forgot to check out that day.
            return;
        }
        let leave = if duty {
            20 * 60 + vary(key(3), 40)
        } else if self.night(cadre, day) {
            19 * 60 + 5 + vary(key(3), 130)
        } else {
            17 * 60 + 45 + vary(key(3), 50)
        };
        self.push(key(3), leave, Act::CheckOut);
    }
}

/// The first sync at or after a record's capture.
fn sync_of(day: i32, minute: u32) -> Moment {
    match minute {
        m if m <= SYNC_NOON => Moment {
            day,
            minute: SYNC_NOON,
        },
        m if m <= SYNC_EVENING => Moment {
            day,
            minute: SYNC_EVENING,
        },
        _ => Moment {
            day: day + 1,
            minute: SYNC_NOON,
        },
    }
}

/// The month up to `now_minute` of `today` (county time).
pub(super) fn plan(today: Date, now_minute: u32) -> Plan {
    let cal = Calendar {
        today: today.to_julian_day(),
    };
    let days = Days::new(&cal);
    let mut planner = Planner {
        cal,
        days,
        steps: Vec::new(),
        staff: Vec::new(),
    };
    for cadre in 0..CADRES {
        for day in FIRST_DAY..=0 {
            planner.routine(cadre, day);
        }
    }
    planner.exceptions();
    let Planner {
        mut steps,
        mut staff,
        ..
    } = planner;
    for step in &mut steps {
        if step.key.cadre == OFFLINE && (-8..=-6).contains(&step.key.day) {
            // The phone was offline: three days arrive together, days later.
            step.sync = Moment {
                day: -3,
                minute: SYNC_EVENING,
            };
        }
    }
    let now = Moment {
        day: 0,
        minute: now_minute,
    };
    steps.retain(|step| step.at < now);
    for step in &mut steps {
        step.sync = step.sync.min(now);
    }
    staff.retain(|step| step.at < now);
    steps.sort_by_key(|step| (step.sync, step.at, step.second, step.key));
    staff.sort_by_key(|step| step.at);
    Plan { steps, staff }
}
