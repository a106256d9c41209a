//! The negative list (负面清单) and escalation (docs/supervision.md). Proposals are derived from
//! the facts whenever they are listed, so a late record or an approved correction withdraws a
//! proposal by itself; a supervisor's decision fixes the item as it then stood.

use super::compliance::{cadres_in, row_of, villages_under};
use super::facts::{load, Depth, Facts};
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::models::UnitRow;
use crate::schema::*;
use crate::stored::{like_escape, path_codes, stored_json};
use diesel::prelude::*;
use fieldtrail_domain::canonical::from_unix_micros;
use fieldtrail_domain::compliance::bulletin::EscalationState;
use fieldtrail_domain::compliance::negative::{rule_of_reason, ItemId, Subject};
use fieldtrail_domain::policy::{Escalation, NegativeRule};
use fieldtrail_domain::roster::{county_date, format_date, parse_date};
use fieldtrail_domain::spotcheck::Period;
use serde_json::{json, Value};
use std::collections::HashMap;
use time::{Date, Duration};
use uuid::Uuid;

/// A negative-list item, proposed or decided.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: ItemId,
    pub person_id: String,
    pub display_name: String,
    pub unit_code: String,
    pub unit_path: String,
    pub month: String,
    /// The fact's day: the month's last day, or the result's day.
    pub date: Date,
    pub message: String,
    pub evidence: Vec<String>,
    pub dispute: Option<(String, String)>,
    pub fact: Value,
}

impl Item {
    pub fn view(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "rule": self.id.rule.as_str(),
            "person_id": self.person_id,
            "display_name": self.display_name,
            "unit_code": self.unit_code,
            "month": self.month,
            "date": format_date(self.date),
            "message": self.message,
            "evidence": self.evidence,
            "fact": self.fact,
            "status": "proposed",
            "decision": null,
            "dispute": self.dispute.as_ref().map(|(id, status)| json!({"id": id, "status": status})),
        })
    }
}

/// A fact that proposes an item, before the rule's switch is looked at.
struct Found {
    id: ItemId,
    /// The village the fact belongs to.
    path: String,
    date: Date,
    message: String,
    evidence: Vec<String>,
    dispute: Option<(String, String)>,
    fact: Value,
}

fn code_of(path: &str) -> String {
    path_codes(path).last().unwrap_or_default().to_owned()
}

/// Every item the facts propose for `month` (facts loaded over that month).
pub fn proposals(facts: &mut Facts, month: Period, today: Date) -> Vec<Item> {
    let label = month.label();
    let ended = month.last_day() < today;
    let mut items = Vec::new();
    for i in 0..facts.cadres.len() {
        let row = row_of(facts, i, &|_| true, today);
        let cadre = &facts.cadres[i];
        let person = Uuid::parse_str(&cadre.id).ok();
        // The village of the cadre's last assigned day in the month.
        let last_served = std::iter::successors(Some(month.last_day()), |d| d.previous_day())
            .take_while(|d| *d >= month.first_day())
            .find(|d| cadre.assignments.iter().any(|(_, p)| p.covers(*d)));
        let mut found: Vec<Found> = Vec::new();
        if let (true, Some(person), Some(day)) = (ended, person, last_served) {
            let path = facts.path_on(cadre, day).to_owned();
            let below: Vec<_> = row
                .reasons
                .iter()
                .filter(|r| rule_of_reason(r.code) == Some(NegativeRule::ResidencyBelow))
                .collect();
            if !below.is_empty() {
                let message = below
                    .iter()
                    .map(|r| r.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                found.push(Found {
                    id: ItemId {
                        rule: NegativeRule::ResidencyBelow,
                        subject: Subject::PersonMonth { month, person },
                    },
                    path: path.clone(),
                    date: month.last_day(),
                    message,
                    evidence: Vec::new(),
                    dispute: None,
                    fact: json!({"requirements": row.requirements}),
                });
            }
            for household in row.households.iter().filter(|h| h.overdue) {
                let Ok(pairing) = Uuid::parse_str(&household.pairing_id) else {
                    continue;
                };
                let village = cadre
                    .pairings
                    .iter()
                    .find(|(p, _)| p.pairing_id == household.pairing_id)
                    .and_then(|(_, village)| facts.village_paths.get(village))
                    .cloned()
                    .unwrap_or_else(|| path.clone());
                found.push(Found {
                    id: ItemId {
                        rule: NegativeRule::VisitOverdue,
                        subject: Subject::PairingMonth { month, pairing },
                    },
                    path: village,
                    date: month.last_day(),
                    message: format!(
                        "household {} not visited for {} days",
                        household.household_id, household.days_since_visit
                    ),
                    evidence: Vec::new(),
                    dispute: None,
                    fact: json!(household),
                });
            }
        }
        // A result whose dispute was upheld still proposes its item, shown beside the upheld
        // dispute, so that a supervisor can dismiss it (it cannot be confirmed).
        for result in &row.spot_checks {
            let rule = result.fact_code().and_then(rule_of_reason);
            let (Some(rule), Ok(record)) = (rule, Uuid::parse_str(&result.id)) else {
                continue;
            };
            let path = facts.path_on(cadre, result.day).to_owned();
            let (message, _) = result.describe();
            found.push(Found {
                id: ItemId {
                    rule,
                    subject: Subject::Result { record },
                },
                path,
                date: result.day,
                message,
                evidence: vec![result.id.clone()],
                dispute: result.dispute.clone(),
                fact: json!(result),
            });
        }
        let (person_id, display_name) = (cadre.id.clone(), cadre.display_name.clone());
        for f in found {
            if !facts
                .history
                .on(&f.path, f.date)
                .negative_rules
                .is_on(f.id.rule)
            {
                continue;
            }
            items.push(Item {
                id: f.id,
                person_id: person_id.clone(),
                display_name: display_name.clone(),
                unit_code: code_of(&f.path),
                unit_path: f.path,
                month: label.clone(),
                date: f.date,
                message: f.message,
                evidence: f.evidence,
                dispute: f.dispute,
                fact: f.fact,
            });
        }
    }
    items
}

/// The item views of a unit's month: proposals and decided items (a decision replaces the
/// proposal), optionally of one status, in order of person, rule and id.
pub fn unit_items(
    conn: &mut DbConnection,
    unit: &UnitRow,
    month: Period,
    today: Date,
) -> StorageResult<Vec<Value>> {
    let (from, to) = (month.first_day(), month.last_day());
    let villages = villages_under(conn, &unit.path)?;
    let ids = cadres_in(conn, &villages, from, to)?;
    let mut facts = load(conn, &ids, from, to, Depth::Compliance)?;
    items_of(conn, &mut facts, unit, month, today)
}

/// The items of a unit's month from facts already loaded over it.
pub fn items_of(
    conn: &mut DbConnection,
    facts: &mut Facts,
    unit: &UnitRow,
    month: Period,
    today: Date,
) -> StorageResult<Vec<Value>> {
    let proposed = proposals(facts, month, today);
    let decided: Vec<String> = negative_decisions::table
        .filter(negative_decisions::month.eq(month.label()))
        .filter(
            negative_decisions::unit_path
                .like(format!("{}%", like_escape(&unit.path)))
                .escape('\\'),
        )
        .select(negative_decisions::item)
        .load(conn)?;
    merge(proposed, decided, |path| path.starts_with(&unit.path))
}

fn merge(
    proposed: Vec<Item>,
    decided: Vec<String>,
    keep: impl Fn(&str) -> bool,
) -> StorageResult<Vec<Value>> {
    let mut by_id: HashMap<String, Value> = HashMap::new();
    for item in proposed.iter().filter(|i| keep(&i.unit_path)) {
        by_id.insert(item.id.to_string(), item.view());
    }
    for text in decided {
        let item = stored_json("decided item", &text)?;
        if let Some(id) = item["id"].as_str() {
            by_id.insert(id.to_owned(), item);
        }
    }
    let mut items: Vec<Value> = by_id.into_values().collect();
    items.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["display_name"].as_str().unwrap_or_default().to_owned(),
                v["person_id"].as_str().unwrap_or_default().to_owned(),
                v["date"].as_str().unwrap_or_default().to_owned(),
                v["id"].as_str().unwrap_or_default().to_owned(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(items)
}

/// One person's items over the months of `[from, to]` (the archive).
pub fn person_items(
    conn: &mut DbConnection,
    facts_by_month: &mut [(Period, Facts)],
    person_id: &str,
    today: Date,
) -> StorageResult<Vec<Value>> {
    let mut proposed = Vec::new();
    let mut labels = Vec::new();
    for (month, facts) in facts_by_month.iter_mut() {
        proposed.extend(proposals(facts, *month, today));
        labels.push(month.label());
    }
    let decided: Vec<String> = negative_decisions::table
        .filter(negative_decisions::person_id.eq(person_id))
        .filter(negative_decisions::month.eq_any(&labels))
        .select(negative_decisions::item)
        .load(conn)?;
    merge(proposed, decided, |_| true)
}

/// The item an id names, if the facts propose it now.
pub fn find_proposal(
    conn: &mut DbConnection,
    id: &ItemId,
    today: Date,
) -> StorageResult<Option<Item>> {
    let (person, month) = match id.subject {
        Subject::PersonMonth { month, person } => (Some(person.to_string()), month),
        Subject::PairingMonth { month, pairing } => (
            pairings::table
                .find(pairing.to_string())
                .select(pairings::person_id)
                .first::<String>(conn)
                .optional()?,
            month,
        ),
        Subject::Result { record } => {
            let found: Option<(String, i64)> = records::table
                .find(record.to_string())
                .select((records::person_id, records::captured_at))
                .first(conn)
                .optional()?;
            match found {
                Some((person, at)) => (
                    Some(person),
                    Period::month_of(county_date(from_unix_micros(at))),
                ),
                None => (None, Period::month_of(today)),
            }
        }
    };
    let Some(person) = person else {
        return Ok(None);
    };
    let mut facts = load(
        conn,
        &[person],
        month.first_day(),
        month.last_day(),
        Depth::Compliance,
    )?;
    Ok(proposals(&mut facts, month, today)
        .into_iter()
        .find(|item| item.id == *id))
}

/// Whether an item with this id was decided (and how).
pub fn decided(conn: &mut DbConnection, id: &str) -> StorageResult<Option<String>> {
    Ok(negative_decisions::table
        .find(id)
        .select(negative_decisions::decision)
        .first(conn)
        .optional()?)
}

/// Confirmed items of each person whose fact date lies in the escalation window ending on
/// `day`, and the level they reach (the policy given per person).
pub fn escalation(
    conn: &mut DbConnection,
    people: &[(String, Escalation)],
    day: Date,
) -> StorageResult<HashMap<String, EscalationState>> {
    let ids: Vec<&str> = people.iter().map(|(id, _)| id.as_str()).collect();
    let earliest = day - Duration::days(3_650);
    let rows: Vec<(String, String)> = negative_decisions::table
        .filter(negative_decisions::person_id.eq_any(&ids))
        .filter(negative_decisions::decision.eq("confirmed"))
        .filter(negative_decisions::fact_date.le(format_date(day)))
        .filter(negative_decisions::fact_date.ge(format_date(earliest)))
        .select((negative_decisions::person_id, negative_decisions::fact_date))
        .load(conn)?;
    let mut dates: HashMap<&str, Vec<Date>> = HashMap::new();
    for (person, date) in &rows {
        if let Ok(date) = parse_date(date) {
            dates.entry(person.as_str()).or_default().push(date);
        }
    }
    let mut out = HashMap::new();
    for (id, policy) in people {
        let window_start = day - Duration::days(i64::from(policy.window_days));
        let count = dates
            .get(id.as_str())
            .into_iter()
            .flatten()
            .filter(|d| **d > window_start)
            .count() as u32;
        let (level, name) = policy
            .level_for(count)
            .map_or((0, None), |(level, name)| (level, Some(name.to_owned())));
        out.insert(id.clone(), EscalationState { count, level, name });
    }
    Ok(out)
}

/// The escalation policy in force for a cadre on `day` (at their village that day).
pub fn escalation_policy(
    conn: &mut DbConnection,
    person_id: &str,
    day: Date,
) -> StorageResult<Escalation> {
    let mut facts = load(conn, &[person_id.to_owned()], day, day, Depth::Presence)?;
    let Some(path) = facts
        .cadres
        .first()
        .map(|c| facts.path_on(c, day).to_owned())
    else {
        return Ok(Escalation::default());
    };
    Ok(facts.history.on(&path, day).escalation.clone())
}

/// Items still proposed (undecided) across the whole tree for `month`, for the alert raised
/// when an item is proposed (docs/alerts.md).
pub fn proposed_everywhere(
    conn: &mut DbConnection,
    month: Period,
    today: Date,
) -> StorageResult<Vec<Value>> {
    let tops: Vec<UnitRow> = units::table
        .filter(units::parent_code.is_null())
        .order(units::code.asc())
        .select(UnitRow::as_select())
        .load(conn)?;
    let mut proposed = Vec::new();
    for unit in tops {
        proposed.extend(
            unit_items(conn, &unit, month, today)?
                .into_iter()
                .filter(|item| item["status"] == "proposed"),
        );
    }
    Ok(proposed)
}
