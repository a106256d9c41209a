//! The demo month played through the ledger writer: each planned record is built as a phone
//! would send it (the JSON of docs/records.md), parsed by the same `parse_record` the HTTP API
//! uses and appended in per-cadre batches at the moment the phone syncs, with the server clock
//! set to that moment, so received times, late syncs and decisions fall where they would have.

use super::org::{centre_of, household_location, internal, neighbour_of, Org};
use super::org::{elsewhere_of, villages};
use super::plan::{mix, Act, Approver, Corrected, Key, Moment, Place, Plan, StaffAct, Step};
use super::supervision::{past_cadre_round, past_household_round, Checks};
use super::TimeMachine;
use crate::error::ApiError;
use crate::state::AppState;
use fieldtrail_domain::record::RecordKind;
use fieldtrail_domain::roster::{format_date, COUNTY_OFFSET};
use fieldtrail_domain::submission::parse_record;
use fieldtrail_storage::writer::{Actor, BatchItem, Decision, Submitter};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};

const LOGS: [&str; 8] = [
    "走访农户，了解冬季取暖和用电情况",
    "参加村两委会议，研究村集体经济项目",
    "整理帮扶户档案，更新帮扶台账",
    "到田间查看小麦苗情，协调农机服务",
    "调解一起宅基地边界纠纷，双方达成一致",
    "宣传城乡居民医保缴费政策，协助群众线上缴费",
    "检查村内道路、坑塘安全隐患，督促整改",
    "组织党员学习，开展主题党日活动",
];
const TASKS: [&str; 8] = [
    "入户走访",
    "整理台账",
    "村务会议",
    "政策宣传",
    "矛盾调解",
    "安全巡查",
    "产业项目",
    "党建活动",
];
const PURPOSES: [&str; 5] = [
    "了解家庭收入和务工情况",
    "送政策上门，讲解医保和养老保险",
    "查看住房安全和冬季取暖",
    "帮助联系就近务工岗位",
    "回访帮扶措施落实情况",
];
/// Where the mocked fix claims to be: the city, some 35 km away.
const CITY: (f64, f64) = (117.185, 34.262);

/// A planned record's id: stable, so the same plan gives the same records.
pub(super) fn record_id(key: Key) -> uuid::Uuid {
    let mut bytes = *b"fieldtrail-demo!";
    bytes[10] = u8::try_from(key.cadre).unwrap_or(u8::MAX);
    bytes[11] = u8::try_from(-key.day).unwrap_or(u8::MAX);
    bytes[12] = key.slot;
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// A county day relative to `today`.
pub(super) fn day_of(today: Date, day: i32) -> Date {
    today
        .checked_add(Duration::days(i64::from(day)))
        .unwrap_or(today)
}

/// The instant of a demo moment (county time).
pub(super) fn instant(today: Date, moment: Moment, second: u32) -> OffsetDateTime {
    let hour = u8::try_from(moment.minute / 60).unwrap_or(23).min(23);
    let minute = u8::try_from(moment.minute % 60).unwrap_or(0);
    let second = u8::try_from(second % 60).unwrap_or(0);
    let time = Time::from_hms(hour, minute, second).unwrap_or(Time::MIDNIGHT);
    day_of(today, moment.day)
        .with_time(time)
        .assume_offset(COUNTY_OFFSET)
}

pub(super) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// A fix as a phone reports it: lon, lat, accuracy in metres, mocked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Fix {
    pub lon: f64,
    pub lat: f64,
    pub accuracy: f64,
    pub mock: bool,
}

impl Fix {
    pub(super) fn json(self) -> Value {
        let mut position = json!({"lon": self.lon, "lat": self.lat, "accuracy_m": self.accuracy});
        if self.mock {
            position["mock"] = json!(true);
        }
        position
    }
}

/// A number in [-0.5, 0.5) for `key`, one per `salt`.
fn spread(key: Key, salt: u64) -> f64 {
    let day = u64::from(key.day.unsigned_abs());
    let value = mix(key.cadre as u64, day * 256 + u64::from(key.slot), salt) % 1_000_000;
    f64::from(u32::try_from(value).unwrap_or(0)) / 1_000_000.0 - 0.5
}

fn round6(value: f64) -> f64 {
    (value * 1_000_000.0).round() / 1_000_000.0
}

fn near(point: (f64, f64), key: Key, lon_span: f64, lat_span: f64, accuracy: f64) -> Fix {
    Fix {
        lon: round6(point.0 + spread(key, 1) * lon_span),
        lat: round6(point.1 + spread(key, 2) * lat_span),
        accuracy: (accuracy + (spread(key, 3) + 0.5) * 20.0).round(),
        mock: false,
    }
}

/// Where the cadre of `key` is when at `place`.
pub(super) fn fix_at(key: Key, place: Place) -> Fix {
    let village = key.cadre / 2;
    match place {
        Place::Village => near(centre_of(village), key, 0.006, 0.005, 8.0),
        Place::Neighbour => near(centre_of(neighbour_of(village)), key, 0.004, 0.003, 10.0),
        Place::Elsewhere => near(centre_of(elsewhere_of(village)), key, 0.004, 0.003, 10.0),
        Place::Mocked => Fix {
            accuracy: 5.0,
            mock: true,
            ..near(CITY, key, 0.004, 0.003, 0.0)
        },
    }
}

/// Where the cadre stands when visiting household `h`: at the door, or out in its field.
pub(super) fn visit_fix(key: Key, household: usize, far: bool) -> Fix {
    let (lon, lat) = household_location(key.cadre / 2, household);
    let fix = near((lon, lat), key, 0.0008, 0.0008, 8.0);
    if far {
        Fix {
            lon: round6(fix.lon + 0.004),
            ..fix
        }
    } else {
        fix
    }
}

/// The fix a planned record carries, if any.
pub(super) fn fix_of(step: &Step) -> Option<Fix> {
    match step.act {
        Act::CheckIn { place, .. } => Some(fix_at(step.key, place)),
        Act::CheckOut | Act::LeaveReturn { .. } | Act::Log { positioned: true } => {
            Some(fix_at(step.key, Place::Village))
        }
        Act::Visit { household, far } => Some(visit_fix(step.key, household, far)),
        _ => None,
    }
}

pub(super) fn kind_of(act: &Act) -> RecordKind {
    match act {
        Act::CheckIn { .. } => RecordKind::CheckIn,
        Act::CheckOut => RecordKind::CheckOut,
        Act::Visit { .. } => RecordKind::HouseholdVisit,
        Act::Log { .. } => RecordKind::DailyLog,
        Act::LeaveRequest { .. } => RecordKind::LeaveRequest,
        Act::LeaveReturn { .. } => RecordKind::LeaveReturn,
        Act::Trip { .. } => RecordKind::OfficialTrip,
        Act::Correction { .. } => RecordKind::Correction,
        Act::Dispute { .. } => RecordKind::Dispute,
    }
}

fn pick<T: Copy>(list: &[T], key: Key, salt: u64) -> T {
    let day = u64::from(key.day.unsigned_abs());
    let index = mix(key.cadre as u64 + 100 * salt, day, u64::from(key.slot)) % list.len() as u64;
    list[usize::try_from(index).unwrap_or(0)]
}

/// The record as the cadre's phone sends it.
pub(super) fn record_json(org: &Org, today: Date, step: &Step) -> Value {
    let key = step.key;
    let date = |day| format_date(day_of(today, day));
    let id = |key| record_id(key).to_string();
    let own = |cadre: usize| {
        org.cadres
            .get(cadre)
            .map_or_else(String::new, |c| c.device.clone())
    };
    let device = if step.borrowed {
        own(key.cadre ^ 1)
    } else {
        own(key.cadre)
    };
    let mut record = json!({
        "id": id(key),
        "kind": kind_of(&step.act).as_str(),
        "captured_at": rfc3339(instant(today, step.at, step.second)),
        "device_id": device,
    });
    if let Some(fix) = fix_of(step) {
        record["position"] = fix.json();
    }
    let fields = match step.act {
        Act::CheckIn { note, .. } => note.map_or_else(|| json!({}), |note| json!({"note": note})),
        Act::CheckOut => json!({}),
        Act::Visit { household, .. } => {
            let village = key.cadre / 2;
            let household_id = org
                .households
                .get(village)
                .and_then(|own| own.get(household))
                .map(|h| h.id.to_string());
            json!({"household_id": household_id, "purpose": pick(&PURPOSES, key, 1)})
        }
        Act::Log { .. } => {
            let count = 1 + mix(key.cadre as u64, key.day.unsigned_abs().into(), 7) % 3;
            let statuses = ["done", "in_progress", "todo"];
            let task = |n| {
                let status = pick(&statuses, key, 10 + n);
                json!({"title": pick(&TASKS, key, 2 + n), "status": status})
            };
            let tasks: Vec<Value> = (0..count).map(task).collect();
            json!({"date": date(key.day), "text": pick(&LOGS, key, 1), "tasks": tasks})
        }
        Act::LeaveRequest { from, to } => {
            let reason = if from > 0 {
                "家中老人住院，需陪护三天"
            } else {
                "孩子生病住院，请假照顾"
            };
            json!({"from": date(from), "to": date(to), "reason": reason})
        }
        Act::LeaveReturn { leave } => json!({"leave_id": id(leave)}),
        Act::Trip { from, to } => json!({
            "from": date(from), "to": date(to), "destination": "萧县农业农村局",
            "purpose": "参加全县乡村振兴专题培训",
        }),
        Act::Correction { amends, corrected } => {
            let (reason, corrected) = match corrected {
                Corrected::Position => {
                    let fix = fix_at(
                        Key {
                            slot: amends.slot + 50,
                            ..amends
                        },
                        Place::Village,
                    );
                    let reason = "手机定位偏移到邻村，实际在村委会签到".to_owned();
                    (reason, json!({"position": fix.json()}))
                }
                Corrected::Time(minute) => {
                    let at = instant(
                        today,
                        Moment {
                            day: amends.day,
                            minute,
                        },
                        0,
                    );
                    let (hour, minute) = (minute / 60, minute % 60);
                    let reason = format!("签退时手机没有网络，实际{hour:02}:{minute:02}才离村");
                    (reason, json!({"captured_at": rfc3339(at)}))
                }
            };
            json!({"amends": id(amends), "reason": reason, "corrected": corrected})
        }
        Act::Dispute { disputes } => json!({
            "disputes": id(disputes),
            "reason": "手机没电，借用同事的手机签到，人确实在村里",
        }),
    };
    if let (Some(record), Some(fields)) = (record.as_object_mut(), fields.as_object()) {
        record.extend(fields.clone());
    }
    record
}

/// What was written, for the summary.
#[derive(Debug, Default)]
pub(super) struct Written {
    pub records: BTreeMap<&'static str, usize>,
    pub decisions: usize,
    pub checks: Checks,
}

/// Plays the plan: at each moment, the clock set to it, the phones that sync then send their
/// batches (all at once, so the writer commits them as one group), then staff act.
pub(super) async fn replay(
    state: &AppState,
    org: &Org,
    plan: &Plan,
    today: Date,
    machine: &TimeMachine,
) -> Result<Written, ApiError> {
    let mut moments: Vec<Moment> = plan
        .steps
        .iter()
        .map(|s| s.sync)
        .chain(plan.staff.iter().map(|s| s.at))
        .collect();
    moments.sort();
    moments.dedup();
    let by_key: HashMap<Key, &Step> = plan.steps.iter().map(|s| (s.key, s)).collect();
    let mut written = Written::default();
    let mut steps = plan.steps.iter().peekable();
    for moment in moments {
        machine.travel(instant(today, moment, 0));
        let mut due: BTreeMap<usize, Vec<&Step>> = BTreeMap::new();
        while let Some(step) = steps.next_if(|s| s.sync == moment) {
            due.entry(step.key.cadre).or_default().push(step);
        }
        sync(state, org, today, due, &mut written).await?;
        for staff in plan.staff.iter().filter(|s| s.at == moment) {
            match staff.act {
                StaffAct::Approve { request, by } => {
                    let kind = by_key
                        .get(&request)
                        .map(|s| kind_of(&s.act))
                        .ok_or_else(|| internal(format!("no planned request {request:?}")))?;
                    let actor = match by {
                        Approver::County => org.county_supervisor.clone(),
                        Approver::Township => org.township_supervisor.clone(),
                    };
                    let note = match kind {
                        RecordKind::LeaveRequest => "同意，请做好村内工作交接",
                        RecordKind::OfficialTrip => "同意，按时参加培训",
                        _ => "经核实村委会值班记录，情况属实",
                    };
                    let decision = Decision {
                        record_id: record_id(request),
                        kind,
                        decision: "approved".into(),
                        note: Some(note.into()),
                    };
                    state.writer.decide(actor, decision).await?;
                    written.decisions += 1;
                }
                StaffAct::Duty { cadre, day } => {
                    let village = villages()
                        .get(cadre / 2)
                        .map(|v| v.code.clone())
                        .unwrap_or_default();
                    let fields = json!({
                        "kind": "duty", "person_id": person_of(org, cadre), "unit_code": village,
                        "date": format_date(day_of(today, day)), "note": "周末值班",
                    });
                    staff_record(
                        state,
                        org,
                        Key {
                            cadre,
                            day,
                            slot: 200,
                        },
                        fields,
                    )
                    .await?;
                    *written.records.entry("duty").or_default() += 1;
                }
                StaffAct::Note { cadre, reward } => {
                    let (category, text) = if reward {
                        ("reward", "秸秆禁烧巡查工作扎实，镇党委通报表扬")
                    } else {
                        ("training", "参加全县驻村干部业务培训，考核合格")
                    };
                    let fields = json!({
                        "kind": "note", "person_id": person_of(org, cadre),
                        "category": category, "text": text,
                    });
                    let key = Key {
                        cadre,
                        day: staff.at.day,
                        slot: 201,
                    };
                    staff_record(state, org, key, fields).await?;
                    *written.records.entry("note").or_default() += 1;
                }
                StaffAct::Draw { households: false } => {
                    let checks = &mut written.checks;
                    past_cadre_round(state, org, plan, today, staff.at, machine, checks).await?;
                }
                StaffAct::Draw { households: true } => {
                    let checks = &mut written.checks;
                    past_household_round(state, org, today, staff.at, machine, checks).await?;
                }
            }
        }
    }
    Ok(written)
}

fn person_of(org: &Org, cadre: usize) -> String {
    org.cadres
        .get(cadre)
        .map(|c| c.submitter.person.to_string())
        .unwrap_or_default()
}

/// A record the county supervisor enters (duty rota, archive note), captured now.
async fn staff_record(
    state: &AppState,
    org: &Org,
    key: Key,
    fields: Value,
) -> Result<(), ApiError> {
    let mut record =
        json!({"id": record_id(key).to_string(), "captured_at": rfc3339(state.clock.now())});
    if let (Some(record), Some(fields)) = (record.as_object_mut(), fields.as_object()) {
        record.extend(fields.clone());
    }
    let submission = parse_record(&record, "", state.clock.now()).map_err(ApiError::Invalid)?;
    let submitter = staff_submitter(&org.county_supervisor)?;
    state.writer.append_record(submitter, submission).await?;
    Ok(())
}

pub(super) fn staff_submitter(actor: &Actor) -> Result<Submitter, ApiError> {
    Ok(Submitter {
        person: actor
            .id
            .ok_or_else(|| internal("a staff actor without an id"))?,
        scope: actor.scope.clone(),
    })
}

/// One batch per cadre, sent together.
async fn sync(
    state: &AppState,
    org: &Org,
    today: Date,
    due: BTreeMap<usize, Vec<&Step>>,
    written: &mut Written,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut sent = Vec::new();
    for (cadre, steps) in due {
        let submitter = org
            .cadres
            .get(cadre)
            .map(|c| c.submitter.clone())
            .ok_or_else(|| internal(format!("no cadre {cadre}")))?;
        let mut items = Vec::new();
        for (index, step) in steps.iter().enumerate() {
            let record = record_json(org, today, step);
            let pointer = format!("/records/{index}");
            let submission = parse_record(&record, &pointer, now).map_err(ApiError::Invalid)?;
            items.push(BatchItem {
                index,
                pointer,
                submission,
            });
            *written
                .records
                .entry(kind_of(&step.act).as_str())
                .or_default() += 1;
        }
        let writer = state.writer.clone();
        sent.push(actix_web::rt::spawn(async move {
            writer.append_batch(submitter, items).await
        }));
    }
    for handle in sent {
        let results = handle.await.map_err(internal)??;
        for (index, result) in results {
            let outcome = result.map_err(|err| internal(format!("record {index}: {err}")))?;
            if !outcome.created {
                return Err(internal(format!("record {index} was already stored")));
            }
        }
    }
    Ok(())
}
