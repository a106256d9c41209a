//! The exceptions to the demo routine, each given to one cadre, and the days they fall on: they
//! are what makes the pages worth looking at. Leave approved by the township, an official trip,
//! a week away without leave, slack weeks, a phone offline for days, check-ins next door and in
//! another township, a fix that drifted and was corrected, a mocked fix, a borrowed phone and
//! its dispute, a check-out time corrected, a visit out in the field, a duty rota, archive notes
//! and two spot-check rounds earlier in the month.

use super::plan::{Act, Approver, Corrected, Key, Moment, Place, Planner, StaffAct, StaffStep};
use super::plan::{LATE_CADRE, LATE_FROM};
use time::Weekday;

/// Cadres who skip Fridays and every other Wednesday, and stay two nights a week.
pub(super) const SLACK: [usize; 3] = [6, 13, 19];
/// Three days' leave, approved by the township supervisor.
const LEAVE: usize = 4;
/// A two-day official trip to the county seat.
const TRIP: usize = 7;
/// A week away without leave.
const AWAY: usize = 9;
/// A phone offline for three days, synced days later (`late_sync`).
pub(super) const OFFLINE: usize = 11;
/// A morning fix that drifted next door, corrected and approved.
const DRIFT: usize = 3;
/// A check-out sent too early, its time corrected: pending.
const LATE_FIX: usize = 13;
/// A mocked fix in the city (outside, `mock_location`, `impossible_speed`).
const MOCK: usize = 18;
/// A check-in from a colleague's phone (`unbound_device`), and a dispute of it.
const BORROWED: usize = 5;
/// Leave asked for yesterday: pending.
const PENDING_LEAVE: usize = 16;
/// A visit out in the household's field, far from the house.
const FAR_VISIT: usize = 17;
/// A paired cadre who never gets round to their third household.
pub(super) const OVERDUE: usize = 21;
/// Saturday duty (值班), with how many days ago at least.
const DUTY: [(usize, i32); 2] = [(8, 9), (14, 16)];

/// Days relative to today, as weekdays and weeks (`today` is a Julian day number).
pub(super) struct Calendar {
    pub today: i32,
}

impl Calendar {
    pub(super) fn weekday(&self, day: i32) -> Weekday {
        // Julian day 0 was a Monday.
        match (self.today + day).rem_euclid(7) {
            0 => Weekday::Monday,
            1 => Weekday::Tuesday,
            2 => Weekday::Wednesday,
            3 => Weekday::Thursday,
            4 => Weekday::Friday,
            5 => Weekday::Saturday,
            _ => Weekday::Sunday,
        }
    }

    pub(super) fn odd_week(&self, day: i32) -> bool {
        (self.today + day).div_euclid(7) % 2 == 1
    }

    pub(super) fn week(&self, day: i32) -> usize {
        usize::try_from((self.today + day).div_euclid(7)).unwrap_or(0)
    }

    /// The latest Monday to Thursday at least `back` days ago.
    fn workday(&self, back: i32) -> i32 {
        let mut day = -back;
        while !matches!(
            self.weekday(day),
            Weekday::Monday | Weekday::Tuesday | Weekday::Wednesday | Weekday::Thursday
        ) {
            day -= 1;
        }
        day
    }

    fn saturday(&self, back: i32) -> i32 {
        let mut day = -back;
        while self.weekday(day) != Weekday::Saturday {
            day -= 1;
        }
        day
    }
}

/// The days the exceptions fall on, for this `today`.
#[derive(Clone, Copy)]
pub(super) struct Days {
    leave: i32,
    trip: i32,
    drift: i32,
    late_fix: i32,
    mock: i32,
    borrowed: i32,
    far_visit: i32,
    outside: [(usize, i32, u32, Place, &'static str); 3],
    duty: [(usize, i32); 2],
}

impl Days {
    pub(super) fn new(cal: &Calendar) -> Days {
        Days {
            leave: cal.workday(12),
            trip: cal.workday(17),
            drift: cal.workday(22),
            late_fix: cal.workday(2),
            mock: cal.workday(9),
            borrowed: cal.workday(4),
            far_visit: cal.workday(11),
            outside: [
                (
                    2,
                    cal.workday(20),
                    14 * 60 + 20,
                    Place::Neighbour,
                    "到邻村协调灌溉水渠修复",
                ),
                (
                    15,
                    cal.workday(5),
                    14 * 60 + 40,
                    Place::Neighbour,
                    "到邻村参加片区联席会议",
                ),
                (
                    0,
                    cal.workday(6),
                    14 * 60,
                    Place::Elsewhere,
                    "到黄口村学习村集体经济发展经验",
                ),
            ],
            duty: DUTY.map(|(cadre, back)| (cadre, cal.saturday(back))),
        }
    }

    /// The morning the cadre's fix drifted next door (no visit, no check-out that day).
    pub(super) fn drifted(&self, cadre: usize, day: i32) -> bool {
        cadre == DRIFT && day == self.drift
    }

    /// The day whose check-out time the cadre corrects (no night that day).
    pub(super) fn checked_out_early(&self, cadre: usize, day: i32) -> bool {
        cadre == LATE_FIX && day == self.late_fix
    }

    /// The morning the cadre checked in with a colleague's phone.
    pub(super) fn borrowed(&self, cadre: usize, day: i32) -> bool {
        cadre == BORROWED && day == self.borrowed
    }

    pub(super) fn duty(&self, cadre: usize, day: i32) -> bool {
        self.duty.contains(&(cadre, day))
    }

    /// Days a cadre is away: on leave, on the trip, or just away.
    pub(super) fn away(&self, cadre: usize, day: i32) -> bool {
        match cadre {
            LEAVE => (self.leave..=self.leave + 2).contains(&day),
            TRIP => (self.trip..=self.trip + 1).contains(&day),
            AWAY => (-19..=-13).contains(&day),
            _ => false,
        }
    }

    /// Days an exception needs the cadre in the village whatever the routine says.
    pub(super) fn needed(&self, cadre: usize, day: i32) -> bool {
        self.duty(cadre, day)
            || (cadre == LATE_FIX && day == self.late_fix)
            || (cadre == DRIFT && day == self.drift)
            || (cadre == MOCK && day == self.mock)
            || (cadre == BORROWED && day == self.borrowed)
            || (cadre == FAR_VISIT && day == self.far_visit)
            || self.outside.iter().any(|o| o.0 == cadre && o.1 == day)
    }
}

impl Planner {
    fn approve(&mut self, day: i32, minute: u32, request: Key, by: Approver) {
        self.staff.push(StaffStep {
            at: Moment { day, minute },
            act: StaffAct::Approve { request, by },
        });
    }

    pub(super) fn exceptions(&mut self) {
        let d = self.days;
        let key = |cadre, day, slot| Key { cadre, day, slot };
        for (cadre, day, minute, place, note) in d.outside {
            let act = Act::CheckIn {
                place,
                note: Some(note),
            };
            self.push(key(cadre, day, 4), minute, act);
        }
        // A fix that drifted into the neighbouring village, corrected and approved.
        let corrected = Act::Correction {
            amends: key(DRIFT, d.drift, 0),
            corrected: Corrected::Position,
        };
        self.push(key(DRIFT, d.drift, 5), 9 * 60 + 50, corrected);
        self.approve(
            d.drift + 1,
            9 * 60 + 30,
            key(DRIFT, d.drift, 5),
            Approver::County,
        );
        // A check-out sent too early, its time corrected: still pending.
        let corrected = Act::Correction {
            amends: key(LATE_FIX, d.late_fix, 3),
            corrected: Corrected::Time(20 * 60 + 10),
        };
        self.push(key(LATE_FIX, d.late_fix, 5), 21 * 60, corrected);
        // In the village, then a mocked fix in the city eight minutes later.
        let place = |place| Act::CheckIn { place, note: None };
        self.push(key(MOCK, d.mock, 6), 15 * 60, place(Place::Village));
        self.push(key(MOCK, d.mock, 7), 15 * 60 + 8, place(Place::Mocked));
        // A colleague's phone in the morning, and a dispute of the flag it got.
        let dispute = Act::Dispute {
            disputes: key(BORROWED, d.borrowed, 0),
        };
        self.push(key(BORROWED, d.borrowed, 8), 9 * 60 + 40, dispute);
        // Three days' leave, approved by the township, and the return.
        let request = key(LEAVE, d.leave - 2, 9);
        let act = Act::LeaveRequest {
            from: d.leave,
            to: d.leave + 2,
        };
        self.push(request, 20 * 60 + 30, act);
        self.approve(d.leave - 1, 9 * 60 + 30, request, Approver::Township);
        let back = Act::LeaveReturn { leave: request };
        self.push(key(LEAVE, d.leave + 3, 10), 8 * 60 + 30, back);
        // Leave asked for yesterday, for later this week: pending.
        let pending = Act::LeaveRequest { from: 2, to: 4 };
        self.push(key(PENDING_LEAVE, -1, 9), 18 * 60, pending);
        // A visit at the household's field, far from the house.
        let far = Act::Visit {
            household: 0,
            far: true,
        };
        self.push(key(FAR_VISIT, d.far_visit, 11), 15 * 60 + 30, far);
        // A two-day official trip (公出), approved the day before.
        let trip = key(TRIP, d.trip - 2, 12);
        let act = Act::Trip {
            from: d.trip,
            to: d.trip + 1,
        };
        self.push(trip, 16 * 60, act);
        self.approve(d.trip - 1, 10 * 60, trip, Approver::County);
        // Seen in the village before the posting started: not assigned that day.
        let early = Act::CheckIn {
            place: Place::Village,
            note: Some("到村报到前先熟悉情况"),
        };
        self.push(key(LATE_CADRE, LATE_FROM - 3, 13), 10 * 60, early);
        for (cadre, day) in d.duty {
            self.staff.push(StaffStep {
                at: Moment {
                    day: day - 1,
                    minute: 16 * 60 + 30,
                },
                act: StaffAct::Duty { cadre, day },
            });
        }
        for (cadre, day, reward) in [(0, -15, false), (10, -3, true)] {
            self.staff.push(StaffStep {
                at: Moment {
                    day,
                    minute: 16 * 60,
                },
                act: StaffAct::Note { cadre, reward },
            });
        }
        // Spot-checks earlier in the month, so that they are decided by now: challenges answered
        // within the hour after 10:00, households knocked on within the hour after 14:00.
        for (day, minute, households) in [
            (self.cal.workday(13), 10 * 60, false),
            (self.cal.workday(3), 14 * 60, true),
        ] {
            self.staff.push(StaffStep {
                at: Moment { day, minute },
                act: StaffAct::Draw { households },
            });
        }
    }
}
