//! The demo month's plan and the records built from it, checked without a server: the same
//! plan for the same day, every kind and exception present whatever weekday today is, references
//! only to earlier records, nothing from the future, fixes where they are meant to be, and
//! records the API's own parser accepts.

use super::activity::{fix_of, kind_of, record_json, Fix};
use super::org::tests::shape_of;
use super::org::{household_location, neighbour_of, Cadre, Household, Org, HOUSEHOLDS};
use super::plan::*;
use fieldtrail_domain::geo::{distance_m, Position};
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::record::RecordKind;
use fieldtrail_domain::submission::parse_record;
use fieldtrail_domain::unit::UnitPath;
use fieldtrail_storage::writer::{Actor, Submitter};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use time::macros::{date, datetime};
use time::Date;

/// A week of todays (every weekday), at night, in the morning and late in the evening.
fn todays() -> Vec<(Date, u32)> {
    let minutes = [
        3 * 60 + 8,
        10 * 60,
        23 * 60 + 30,
        0,
        12 * 60 + 30,
        18 * 60,
        21 * 60 + 45,
    ];
    (0..7)
        .map(|n| {
            (
                date!(2026 - 12 - 01) + time::Duration::days(n),
                minutes[n as usize],
            )
        })
        .collect()
}

fn act_name(act: &Act) -> &'static str {
    kind_of(act).as_str()
}

fn by_key(plan: &Plan) -> HashMap<Key, &Step> {
    plan.steps.iter().map(|s| (s.key, s)).collect()
}

#[test]
fn the_plan_is_deterministic() {
    for (today, minute) in todays() {
        assert_eq!(plan(today, minute), plan(today, minute));
    }
}

#[test]
fn every_kind_and_exception_is_planned_whatever_the_weekday() {
    for (today, minute) in todays() {
        let plan = plan(today, minute);
        let kinds: BTreeSet<&str> = plan.steps.iter().map(|s| act_name(&s.act)).collect();
        for kind in [
            "check_in",
            "check_out",
            "household_visit",
            "daily_log",
            "leave_request",
            "leave_return",
            "official_trip",
            "correction",
            "dispute",
        ] {
            assert!(kinds.contains(kind), "{today}: no {kind}");
        }
        let place = |wanted| {
            plan.steps
                .iter()
                .filter(|s| matches!(s.act, Act::CheckIn { place, .. } if place == wanted))
                .count()
        };
        assert_eq!(
            place(Place::Neighbour),
            3,
            "{today}: drift and two meetings next door"
        );
        assert_eq!(place(Place::Elsewhere), 1, "{today}");
        assert_eq!(place(Place::Mocked), 1, "{today}");
        let far = plan
            .steps
            .iter()
            .filter(|s| matches!(s.act, Act::Visit { far: true, .. }));
        assert_eq!(far.count(), 1, "{today}");
        assert_eq!(plan.steps.iter().filter(|s| s.borrowed).count(), 1);
        assert!(
            plan.steps.iter().any(|s| s.sync.day - s.at.day >= 3),
            "{today}: a phone offline for days"
        );
        let early = plan
            .steps
            .iter()
            .filter(|s| s.key.cadre == LATE_CADRE && s.key.day < LATE_FROM);
        assert_eq!(early.count(), 1, "{today}: one record before the posting");
        let staff = |f: fn(&StaffAct) -> bool| plan.staff.iter().filter(|s| f(&s.act)).count();
        assert_eq!(staff(|a| matches!(a, StaffAct::Approve { .. })), 3);
        assert_eq!(staff(|a| matches!(a, StaffAct::Duty { .. })), 2);
        assert_eq!(staff(|a| matches!(a, StaffAct::Note { .. })), 2);
        assert_eq!(
            staff(|a| matches!(a, StaffAct::Draw { households: false })),
            1
        );
        assert_eq!(
            staff(|a| matches!(a, StaffAct::Draw { households: true })),
            1
        );
    }
}

#[test]
fn records_refer_only_to_earlier_records_already_sent() {
    for (today, minute) in todays() {
        let plan = plan(today, minute);
        let steps = by_key(&plan);
        assert_eq!(steps.len(), plan.steps.len(), "{today}: keys are unique");
        for step in &plan.steps {
            let (target, kinds): (Key, &[RecordKind]) = match step.act {
                Act::LeaveReturn { leave } => (leave, &[RecordKind::LeaveRequest]),
                Act::Correction { amends, .. } => {
                    (amends, &[RecordKind::CheckIn, RecordKind::CheckOut])
                }
                Act::Dispute { disputes } => (disputes, &[RecordKind::CheckIn]),
                _ => continue,
            };
            let earlier = steps[&target];
            assert_eq!(earlier.key.cadre, step.key.cadre);
            assert!(kinds.contains(&kind_of(&earlier.act)), "{step:?}");
            assert!(
                earlier.at < step.at && earlier.sync <= step.sync,
                "{step:?}"
            );
        }
        for staff in &plan.staff {
            if let StaffAct::Approve { request, .. } = staff.act {
                let asked = steps[&request];
                assert!(asked.sync < staff.at, "{staff:?} before {asked:?} arrived");
                assert!(matches!(
                    kind_of(&asked.act),
                    RecordKind::LeaveRequest | RecordKind::OfficialTrip | RecordKind::Correction
                ));
            }
        }
    }
}

#[test]
fn nothing_is_captured_after_now_or_sent_before_it_is_captured() {
    for (today, minute) in todays() {
        let plan = plan(today, minute);
        let now = Moment { day: 0, minute };
        for pair in plan.steps.windows(2) {
            assert!(pair[0].sync <= pair[1].sync, "sent in sync order");
        }
        for step in &plan.steps {
            assert!(step.at < now && step.sync <= now, "{step:?}");
            assert!(
                step.at <= step.sync && step.key.day >= FIRST_DAY - 1,
                "{step:?}"
            );
        }
        assert!(plan.staff.iter().all(|s| s.at < now));
    }
}

#[test]
fn cadres_differ_in_days_and_nights() {
    let plan = plan(date!(2026 - 12 - 02), 3 * 60 + 8);
    let mut days: BTreeMap<usize, BTreeSet<i32>> = BTreeMap::new();
    let mut nights: BTreeMap<usize, usize> = BTreeMap::new();
    for step in plan.steps.iter().filter(|s| fix_of(s).is_some()) {
        days.entry(step.key.cadre).or_default().insert(step.key.day);
        if step.act == Act::CheckOut && step.at.minute >= 19 * 60 {
            *nights.entry(step.key.cadre).or_default() += 1;
        }
    }
    assert_eq!(days.len(), CADRES);
    for (cadre, present) in &days {
        let month = present
            .iter()
            .filter(|d| (FIRST_DAY..0).contains(*d))
            .count();
        assert!(
            (8..28).contains(&month),
            "cadre {cadre}: {month} days in the village"
        );
    }
    let counts: BTreeSet<usize> = days.values().map(BTreeSet::len).collect();
    assert!(counts.len() >= 4, "days vary: {counts:?}");
    let counts: BTreeSet<usize> = nights.values().copied().collect();
    assert!(counts.len() >= 4, "nights vary: {counts:?}");
}

fn position(fix: Fix) -> Position {
    Position::parse(fix.lon, fix.lat).unwrap()
}

#[test]
fn fixes_fall_where_they_are_meant_to() {
    for (today, minute) in todays() {
        let plan = plan(today, minute);
        let mut seen = HashSet::new();
        for step in &plan.steps {
            let Some(fix) = fix_of(step) else { continue };
            let village = step.key.cadre / 2;
            let at = position(fix);
            assert!(
                seen.insert((step.key.cadre, fix.lon.to_bits(), fix.lat.to_bits())),
                "{step:?}: no repeated fix"
            );
            let clearance = fix.accuracy + 20.0 + 50.0;
            match step.act {
                Act::CheckIn { place, .. } if place != Place::Village => {
                    assert!(shape_of(village).signed_distance_m(at) < -clearance);
                    if place == Place::Neighbour {
                        assert!(shape_of(neighbour_of(village)).contains(at));
                    }
                    assert_eq!(fix.mock, place == Place::Mocked);
                }
                Act::Visit { household, far } => {
                    let (lon, lat) = household_location(village, household);
                    let home = Position::parse(lon, lat).unwrap();
                    let reach = distance_m(at, home) + fix.accuracy;
                    assert_eq!(reach > 100.0, far, "{step:?}: {reach} m");
                    assert!(shape_of(village).signed_distance_m(at) > clearance);
                }
                _ => assert!(
                    shape_of(village).signed_distance_m(at) > clearance,
                    "{step:?} is well inside"
                ),
            }
        }
    }
}

fn person(n: usize) -> PersonId {
    PersonId::parse(&format!("01900000-0000-7000-8000-{n:012}")).unwrap()
}

fn fake_org() -> Org {
    let actor = Actor {
        id: Some(person(99)),
        scope: UnitPath::whole_tree(),
    };
    Org {
        cadres: (0..CADRES)
            .map(|c| Cadre {
                submitter: Submitter {
                    person: person(c),
                    scope: UnitPath::whole_tree(),
                },
                device: format!("phone-cadre{:02}", c + 1),
            })
            .collect(),
        households: (0..12)
            .map(|village| {
                (0..HOUSEHOLDS)
                    .map(|index| Household {
                        id: uuid::Uuid::from_u128((village * 10 + index) as u128 + 1),
                        village,
                        index,
                    })
                    .collect()
            })
            .collect(),
        county_supervisor: actor.clone(),
        township_supervisor: actor,
        logins: Vec::new(),
    }
}

#[test]
fn every_planned_record_is_accepted_by_the_api_parser() {
    let org = fake_org();
    let now = datetime!(2026-12-02 10:00 +08:00);
    let plan = plan(date!(2026 - 12 - 02), 10 * 60);
    for step in &plan.steps {
        let record = record_json(&org, date!(2026 - 12 - 02), step);
        let parsed = parse_record(&record, "", now);
        let parsed = parsed.unwrap_or_else(|err| panic!("{record}: {err:?}"));
        assert_eq!(parsed.kind, kind_of(&step.act));
        let own = format!("phone-cadre{:02}", step.key.cadre + 1);
        assert_eq!(record["device_id"] != own.as_str(), step.borrowed);
    }
}
