//! A cadre's archive (档案, docs/supervision.md): identity, assignments over time, monthly
//! summaries by the bulletin's rules, spot-checks, leave and trips, corrections and disputes
//! with their decisions, negative-list items and escalation, and supervisors' notes.

use super::compliance::{row_of, row_view};
use super::facts::{load, results_of, Depth, Facts};
use super::negative::{escalation, person_items};
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::models::{PersonRow, PersonView, RequestRow};
use crate::schema::*;
use crate::stored::{instant, stored_json};
use diesel::prelude::*;
use fieldtrail_domain::spotcheck::Period;
use serde_json::{json, Value};
use time::Date;

pub fn archive(
    conn: &mut DbConnection,
    person: PersonRow,
    months: &[Period],
    today: Date,
) -> StorageResult<Value> {
    let id = person.id.clone();
    let ids = [id.clone()];
    let mut by_month: Vec<(Period, Facts)> = Vec::with_capacity(months.len());
    for month in months {
        let facts = load(
            conn,
            &ids,
            month.first_day(),
            month.last_day(),
            Depth::Compliance,
        )?;
        by_month.push((*month, facts));
    }
    let mut summaries = Vec::new();
    for (month, facts) in by_month.iter_mut() {
        if facts.cadres.is_empty() {
            continue;
        }
        let row = row_of(facts, 0, &|_| true, today);
        if row.assigned_days == 0 {
            continue;
        }
        let mut view = row_view(&facts.cadres[0], &row);
        view["month"] = json!(month.label());
        summaries.push(view);
    }
    let negative_items = person_items(conn, &mut by_month, &id, today)?;

    let spot_checks = results_of(conn, &ids, i64::MIN, i64::MAX)?
        .remove(&id)
        .unwrap_or_default();
    let requests: Vec<RequestRow> = requests::table
        .filter(requests::person_id.eq(&id))
        .order(requests::record_id.asc())
        .select(RequestRow::as_select())
        .load(conn)?;
    let mut leave = Vec::new();
    let mut corrections = Vec::new();
    for r in &requests {
        match r.kind.as_str() {
            "leave_request" | "official_trip" => leave.push(json!({
                "id": r.record_id,
                "kind": r.kind,
                "from": r.date_from,
                "to": r.date_to,
                "status": r.status,
                "returned_on": r.returned_on,
                "decision": r.decision_view(),
            })),
            "correction" | "dispute" => corrections.push(json!({
                "id": r.record_id,
                "kind": r.kind,
                "refers_to": r.refers_to,
                "status": r.status,
                "decision": r.decision_view(),
            })),
            _ => {}
        }
    }

    // Escalation as of today, by the policy in force today where the cadre serves.
    let mut facts = load(conn, &ids, today, today, Depth::Presence)?;
    let path = facts
        .cadres
        .first()
        .map(|c| facts.path_on(c, today).to_owned());
    let (window_days, state) = match path {
        Some(path) => {
            let policy = facts.history.on(&path, today).escalation.clone();
            let window = policy.window_days;
            let mut states = escalation(conn, &[(id.clone(), policy)], today)?;
            (window, states.remove(&id).unwrap_or_default())
        }
        None => (0, Default::default()),
    };
    let actions: Vec<Value> = escalation_actions::table
        .filter(escalation_actions::person_id.eq(&id))
        .order(escalation_actions::seq.asc())
        .select((
            escalation_actions::id,
            escalation_actions::seq,
            escalation_actions::level,
            escalation_actions::name,
            escalation_actions::note,
            escalation_actions::taken_on,
            escalation_actions::recorded_by,
            escalation_actions::recorded_at,
        ))
        .load::<(
            String,
            i64,
            i32,
            String,
            String,
            String,
            Option<String>,
            i64,
        )>(conn)?
        .into_iter()
        .map(|(action_id, seq, level, name, note, taken_on, by, at)| {
            json!({
                "id": action_id, "seq": seq, "person_id": id, "level": level, "name": name,
                "note": note, "taken_on": taken_on, "recorded_by": by, "recorded_at": instant(at),
            })
        })
        .collect();

    let notes: Vec<(String, String, String, i64, Vec<u8>)> = notes::table
        .inner_join(ledger_payloads::table.on(ledger_payloads::seq.eq(notes::seq)))
        .filter(notes::person_id.eq(&id))
        .order(notes::seq.asc())
        .select((
            notes::record_id,
            notes::author_id,
            notes::category,
            notes::captured_at,
            ledger_payloads::payload,
        ))
        .load(conn)?;
    let notes: Vec<Value> = notes
        .into_iter()
        .map(|(note_id, by, category, at, payload)| {
            let payload = stored_json("note payload", &String::from_utf8_lossy(&payload))?;
            Ok(json!({
                "id": note_id,
                "category": category,
                "text": payload.get("text"),
                "attachment": payload.get("attachment"),
                "captured_at": instant(at),
                "by": by,
            }))
        })
        .collect::<StorageResult<_>>()?;

    Ok(json!({
        "assignments": crate::reads::assignments_of(conn, &id)?,
        "pairings": crate::reads::pairings_of(conn, &id)?,
        "person": PersonView::from(person),
        "months": summaries,
        "spot_checks": spot_checks,
        "leave": leave,
        "corrections": corrections,
        "negative_items": negative_items,
        "escalation": {
            "count": state.count,
            "level": state.level,
            "name": state.name,
            "window_days": window_days,
            "actions": actions,
        },
        "notes": notes,
    }))
}
