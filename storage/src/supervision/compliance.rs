//! Compliance rows (docs/supervision.md, "Compliance"): the cadres assigned under a unit during
//! a period, each judged by the policy in force on each day at their village.

use super::facts::{load, CadreFacts, Depth, Facts};
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::models::UnitRow;
use crate::schema::*;
use crate::stored::{like_escape, stored_period};
use diesel::prelude::*;
use fieldtrail_domain::compliance::{evaluate, judged_on, ComplianceInput, ComplianceRow, Served};
use fieldtrail_domain::policy::Residency;
use fieldtrail_domain::roster::format_date;
use fieldtrail_domain::spotcheck::Period;
use serde_json::{json, Value};
use std::collections::HashSet;
use time::Date;

/// Villages (codes) under a unit, the unit itself included.
pub fn villages_under(conn: &mut DbConnection, path: &str) -> StorageResult<HashSet<String>> {
    Ok(units::table
        .filter(
            units::path
                .like(format!("{}%", like_escape(path)))
                .escape('\\'),
        )
        .filter(units::level.eq("village"))
        .select(units::code)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// People with an assignment to one of `villages` overlapping `[from, to]`.
pub fn cadres_in(
    conn: &mut DbConnection,
    villages: &HashSet<String>,
    from: Date,
    to: Date,
) -> StorageResult<Vec<String>> {
    let codes: Vec<&str> = villages.iter().map(String::as_str).collect();
    let rows: Vec<(String, String, Option<String>)> = assignments::table
        .filter(assignments::unit_code.eq_any(&codes))
        .filter(assignments::valid_from.le(format_date(to)))
        .select((
            assignments::person_id,
            assignments::valid_from,
            assignments::valid_to,
        ))
        .load(conn)?;
    let mut ids: Vec<String> = rows
        .into_iter()
        .filter(|(_, f, t)| {
            stored_period(f, t.as_deref()).is_some_and(|p| p.to().is_none_or(|end| end >= from))
        })
        .map(|(id, _, _)| id)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The cadre's row over the facts' range, counting only assignments to villages `counts`
/// accepts and only households in such villages.
pub fn row_of(
    facts: &mut Facts,
    index: usize,
    counts: &dyn Fn(&str) -> bool,
    today: Date,
) -> ComplianceRow {
    let (from, to) = (facts.from, facts.to);
    let cadre: &CadreFacts = &facts.cadres[index];
    let served: Vec<Served> = cadre
        .assignments
        .iter()
        .filter(|(code, _)| counts(code))
        .map(|(code, period)| Served {
            unit_code: code.clone(),
            period: *period,
        })
        .collect();
    let mut pairings: Vec<_> = cadre
        .pairings
        .iter()
        .filter(|(_, village)| counts(village))
        .map(|(p, _)| p.clone())
        .collect();
    let mut residency: Vec<Residency> = Vec::new();
    let mut day = Some(from);
    let paths: Vec<(Date, String)> = std::iter::from_fn(|| {
        let d = day.filter(|d| *d <= to)?;
        day = d.next_day();
        Some((d, facts.path_on(cadre, d).to_owned()))
    })
    .collect();
    // Each pairing by the interval in force where the cadre served on the day it is judged.
    let judged: Vec<(Date, String)> = pairings
        .iter()
        .map(|p| {
            let day = judged_on(p.period, to, today);
            (day, facts.path_on(cadre, day).to_owned())
        })
        .collect();
    for (pairing, (day, path)) in pairings.iter_mut().zip(judged) {
        pairing.interval_days = facts.history.on(&path, day).visit_interval_days;
    }
    for (d, path) in &paths {
        residency.push(facts.history.on(path, *d).residency);
    }
    let cadre = &facts.cadres[index];
    evaluate(&ComplianceInput {
        from,
        to,
        today,
        days: &cadre.presence,
        served: &served,
        residency: &residency,
        pairings: &pairings,
        results: &cadre.results,
    })
}

/// A row as the API shows it: who, then the figures.
pub fn row_view(cadre: &CadreFacts, row: &ComplianceRow) -> Value {
    let mut value = json!({"person_id": cadre.id, "display_name": cadre.display_name});
    if let (Value::Object(out), Ok(Value::Object(fields))) = (&mut value, serde_json::to_value(row))
    {
        out.extend(fields);
    }
    value
}

/// `GET /v1/units/{code}/compliance?period=`: one row per cadre assigned under the unit during
/// the period.
pub fn compliance(
    conn: &mut DbConnection,
    unit: &UnitRow,
    period: Period,
    today: Date,
) -> StorageResult<Value> {
    let (from, to) = (period.first_day(), period.last_day());
    let villages = villages_under(conn, &unit.path)?;
    let ids = cadres_in(conn, &villages, from, to)?;
    let mut facts = load(conn, &ids, from, to, Depth::Compliance)?;
    let counts = |code: &str| villages.contains(code);
    let mut rows = Vec::with_capacity(facts.cadres.len());
    for i in 0..facts.cadres.len() {
        let row = row_of(&mut facts, i, &counts, today);
        rows.push(row_view(&facts.cadres[i], &row));
    }
    let mut answer = period.describe();
    answer["unit_code"] = json!(unit.code);
    answer["complete"] = json!(to < today);
    answer["cadres"] = json!(rows);
    Ok(answer)
}
