//! The monthly bulletin (逐月通报) of a unit: per township, village and cadre, with totals
//! (docs/supervision.md, "Monthly bulletin").

use super::compliance::{cadres_in, row_of};
use super::facts::{load, Depth};
use super::negative::{escalation, items_of};
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::models::UnitRow;
use crate::schema::*;
use crate::stored::like_escape;
use diesel::prelude::*;
use fieldtrail_domain::compliance::bulletin::{Bulletin, ItemCounts, Line, Township, Village};
use fieldtrail_domain::roster::format_date;
use fieldtrail_domain::spotcheck::Period;
use std::collections::{HashMap, HashSet};
use time::Date;

pub fn bulletin(
    conn: &mut DbConnection,
    unit: &UnitRow,
    month: Period,
    today: Date,
) -> StorageResult<Bulletin> {
    let (from, to) = (month.first_day(), month.last_day());
    let under = |level: &str| {
        units::table
            .filter(
                units::path
                    .like(format!("{}%", like_escape(&unit.path)))
                    .escape('\\'),
            )
            .filter(units::level.eq(level.to_owned()))
            .order(units::code.asc())
            .select(UnitRow::as_select())
    };
    let villages: Vec<UnitRow> = under("village").load(conn)?;
    let mut townships: Vec<UnitRow> = under("township").load(conn)?;
    if townships.is_empty() {
        // A village's bulletin: its township with that one village.
        if let Some(parent) = &unit.parent_code {
            townships = units::table
                .find(parent)
                .select(UnitRow::as_select())
                .load(conn)?;
        }
    }
    let codes: HashSet<String> = villages.iter().map(|v| v.code.clone()).collect();
    let ids = cadres_in(conn, &codes, from, to)?;
    let mut facts = load(conn, &ids, from, to, Depth::Compliance)?;
    let items = items_of(conn, &mut facts, unit, month, today)?;
    let mut counts: HashMap<(String, String), ItemCounts> = HashMap::new();
    for item in &items {
        let key = (
            item["person_id"].as_str().unwrap_or_default().to_owned(),
            item["unit_code"].as_str().unwrap_or_default().to_owned(),
        );
        counts
            .entry(key)
            .or_default()
            .count(item["status"].as_str().unwrap_or_default());
    }
    let policies: Vec<(String, fieldtrail_domain::policy::Escalation)> = (0..facts.cadres.len())
        .map(|i| {
            let path = facts.path_on(&facts.cadres[i], to).to_owned();
            let policy = facts.history.on(&path, to).escalation.clone();
            (facts.cadres[i].id.clone(), policy)
        })
        .collect();
    let levels = escalation(conn, &policies, to)?;

    let mut lines: HashMap<String, Vec<Line>> = HashMap::new();
    for i in 0..facts.cadres.len() {
        let served_in: Vec<String> = {
            let cadre = &facts.cadres[i];
            let mut list: Vec<String> = cadre
                .assignments
                .iter()
                .filter(|(code, p)| {
                    codes.contains(code) && p.from() <= to && p.to().is_none_or(|end| end >= from)
                })
                .map(|(code, _)| code.clone())
                .collect();
            list.dedup();
            list
        };
        for village in served_in {
            let row = row_of(&mut facts, i, &|code| code == village, today);
            let cadre = &facts.cadres[i];
            let items = counts
                .get(&(cadre.id.clone(), village.clone()))
                .copied()
                .unwrap_or_default();
            let level = levels.get(&cadre.id).cloned().unwrap_or_default();
            lines.entry(village).or_default().push(Line::new(
                cadre.id.clone(),
                cadre.display_name.clone(),
                &row,
                items,
                level,
            ));
        }
    }
    let mut by_township: HashMap<String, Vec<Village>> = HashMap::new();
    for village in villages {
        let parent = village.parent_code.clone().unwrap_or_default();
        by_township.entry(parent).or_default().push(Village {
            cadres: lines.remove(&village.code).unwrap_or_default(),
            unit_code: village.code,
            name: village.name,
            totals: Default::default(),
        });
    }
    let mut bulletin = Bulletin {
        unit_code: unit.code.clone(),
        unit_name: unit.name.clone(),
        level: unit.level.clone(),
        month: month.label(),
        from: format_date(from),
        to: format_date(to),
        complete: to < today,
        totals: Default::default(),
        townships: townships
            .into_iter()
            .map(|t| Township {
                villages: by_township.remove(&t.code).unwrap_or_default(),
                unit_code: t.code,
                name: t.name,
                totals: Default::default(),
            })
            .collect(),
    };
    bulletin.total();
    Ok(bulletin)
}

/// The latest published version of a unit's bulletin for a month: (seq, sha256, the document's
/// exact text).
pub fn published(
    conn: &mut DbConnection,
    code: &str,
    month: &str,
) -> StorageResult<Option<(i64, String, String)>> {
    let found: Option<(i64, String, Vec<u8>)> = bulletins::table
        .inner_join(ledger_payloads::table.on(ledger_payloads::seq.eq(bulletins::seq)))
        .filter(bulletins::unit_code.eq(code))
        .filter(bulletins::month.eq(month))
        .order(bulletins::seq.desc())
        .select((bulletins::seq, bulletins::sha256, ledger_payloads::payload))
        .first(conn)
        .optional()?;
    let Some((seq, sha256, payload)) = found else {
        return Ok(None);
    };
    let payload =
        crate::stored::stored_json("bulletin payload", &String::from_utf8_lossy(&payload))?;
    let document = payload["document"]
        .as_str()
        .ok_or_else(|| {
            crate::error::StorageError::Corrupt(format!("bulletin {seq} has no document"))
        })?
        .to_owned();
    Ok(Some((seq, sha256, document)))
}
