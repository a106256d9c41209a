//! Everything presence and compliance need about a set of cadres over a range of days, in one
//! query per table for the whole set (a county's month is 300 cadres: one round trip per
//! cadre and table would cost more than the computing). All of it comes from projections the
//! writer keeps (records, requests, duties, visits, record_flags, …), bounded by the range.

use super::history::{path_on, PolicyHistory};
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::models::RequestRow;
use crate::schema::*;
use crate::stored::{instant, stored_json, stored_period};
use diesel::prelude::*;
use fieldtrail_domain::canonical::from_unix_micros;
use fieldtrail_domain::compliance::{PairingFacts, ResultFact};
use fieldtrail_domain::geo::GeoVerdict;
use fieldtrail_domain::presence::{
    ApprovedLeave, ApprovedTrip, Duty, Evidence, PresenceDay, PresenceInput,
};
use fieldtrail_domain::record::places_in_village;
use fieldtrail_domain::roster::{
    county_date, day_start_micros, format_date, parse_date, ValidPeriod, COUNTY_OFFSET,
};
use std::collections::{HashMap, HashSet};
use time::Date;

/// One cadre and their facts over the range.
pub struct CadreFacts {
    pub id: String,
    pub display_name: String,
    pub home_path: String,
    /// Every assignment, oldest first: (village code, days).
    pub assignments: Vec<(String, ValidPeriod)>,
    /// One day per day of the range.
    pub presence: Vec<PresenceDay>,
    /// Pairings valid during the range, with the household's village (only when asked for).
    pub pairings: Vec<(PairingFacts, String)>,
    /// Spot-check results captured in the range (only when asked for).
    pub results: Vec<ResultFact>,
}

pub struct Facts {
    pub from: Date,
    pub to: Date,
    pub cadres: Vec<CadreFacts>,
    /// Paths of the villages the cadres were assigned to.
    pub village_paths: HashMap<String, String>,
    pub history: PolicyHistory,
}

impl Facts {
    /// Where the cadre's `day` is judged (their first village that day, else home).
    pub fn path_on<'a>(&'a self, cadre: &'a CadreFacts, day: Date) -> &'a str {
        path_on(
            &cadre.assignments,
            &self.village_paths,
            &cadre.home_path,
            day,
        )
    }
}

/// What to load beyond presence.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    Presence,
    Compliance,
}

/// The facts of the given people (unknown ids are left out) from `from` to `to` inclusive.
pub fn load(
    conn: &mut DbConnection,
    ids: &[String],
    from: Date,
    to: Date,
    depth: Depth,
) -> StorageResult<Facts> {
    let people_rows: Vec<(String, String, String)> = people::table
        .filter(people::id.eq_any(ids))
        .select((people::id, people::display_name, people::unit_path))
        .load(conn)?;
    let mut assignments: HashMap<String, Vec<(String, ValidPeriod)>> = HashMap::new();
    let mut village_paths: HashMap<String, String> = HashMap::new();
    let rows: Vec<(String, String, String, Option<String>, String)> = assignments::table
        .inner_join(units::table.on(units::code.eq(assignments::unit_code)))
        .filter(assignments::person_id.eq_any(ids))
        .order(assignments::seq.asc())
        .select((
            assignments::person_id,
            assignments::unit_code,
            assignments::valid_from,
            assignments::valid_to,
            units::path,
        ))
        .load(conn)?;
    for (person, code, from, to, path) in rows {
        if let Some(period) = stored_period(&from, to.as_deref()) {
            village_paths.insert(code.clone(), path);
            assignments.entry(person).or_default().push((code, period));
        }
    }
    let mut history = PolicyHistory::load(
        conn,
        village_paths
            .values()
            .map(String::as_str)
            .chain(people_rows.iter().map(|(_, _, path)| path.as_str())),
    )?;

    let start = day_start_micros(from);
    let after_to = to.next_day().unwrap_or(to);
    let end = day_start_micros(after_to);
    // The morning after the last day decides that day's night.
    let evidence_end = day_start_micros(after_to.next_day().unwrap_or(after_to));
    let in_range = evidence_of(conn, ids, start, evidence_end)?;
    let mut evidence = in_range.records;
    // The results of the range itself (the evidence reaches into the morning after it).
    let result_rows: Vec<ResultRow> = in_range
        .results
        .into_iter()
        .filter(|(_, _, _, _, at)| *at < end)
        .collect();
    let mut results = results_from(conn, result_rows)?;
    let mut requests = approved_requests(conn, ids)?;
    let mut duties: HashMap<String, Vec<Duty>> = HashMap::new();
    let duty_rows: Vec<(String, String, String)> = duties::table
        .filter(duties::person_id.eq_any(ids))
        .filter(duties::day.ge(format_date(from)))
        .filter(duties::day.le(format_date(to)))
        .order(duties::seq.asc())
        .select((duties::person_id, duties::day, duties::record_id))
        .load(conn)?;
    for (person, day, id) in duty_rows {
        if let Ok(day) = parse_date(&day) {
            duties.entry(person).or_default().push(Duty { day, id });
        }
    }
    let mut pairings = match depth {
        Depth::Presence => HashMap::new(),
        Depth::Compliance => pairings_of(conn, ids, from, to)?,
    };

    let mut cadres = Vec::with_capacity(people_rows.len());
    for (id, display_name, home_path) in people_rows {
        let villages = assignments.remove(&id).unwrap_or_default();
        let mut windows = Vec::new();
        let mut day = Some(from);
        while let Some(d) = day.filter(|d| *d <= to) {
            let path = path_on(&villages, &village_paths, &home_path, d);
            let window = history.on(path, d).night_window;
            if windows.last().map(|(_, w)| *w) != Some(window) {
                windows.push((d, window));
            }
            day = d.next_day();
        }
        let decided = requests.remove(&id).unwrap_or_default();
        let presence = presence_of(
            from,
            to,
            &villages,
            evidence.remove(&id).unwrap_or_default(),
            &decided,
            duties.remove(&id).unwrap_or_default(),
            windows,
            (start, evidence_end),
        );
        cadres.push(CadreFacts {
            id: id.clone(),
            display_name,
            home_path,
            assignments: villages,
            presence,
            pairings: pairings.remove(&id).unwrap_or_default(),
            results: results.remove(&id).unwrap_or_default(),
        });
    }
    cadres.sort_by(|a, b| (&a.display_name, &a.id).cmp(&(&b.display_name, &b.id)));
    Ok(Facts {
        from,
        to,
        cadres,
        village_paths,
        history,
    })
}

/// A record in the range: id, captured_at, geo verdict ("none" without a position), and its
/// flags comma-joined if it has any.
type RecordFacts = (String, i64, String, Option<String>);

/// Every record of the people in `[start, end)` with its flags, by person: the evidence (the
/// geotagged ones) and the day flags (all of them). Flags come from their own index range
/// rather than a join: on PostgreSQL one range scan beats a lookup per record when many
/// records are flagged (a year synced late flags every one).
fn evidence_of(
    conn: &mut DbConnection,
    ids: &[String],
    start: i64,
    end: i64,
) -> StorageResult<InRange> {
    let rows: Vec<(String, i64, String, String, i64, String)> = records::table
        .filter(records::person_id.eq_any(ids))
        .filter(records::captured_at.ge(start))
        .filter(records::captured_at.lt(end))
        .select((
            records::person_id,
            records::seq,
            records::id,
            records::kind,
            records::captured_at,
            records::geo,
        ))
        .load(conn)?;
    let mut flags: HashMap<i64, String> = record_flags::table
        .filter(record_flags::person_id.eq_any(ids))
        .filter(record_flags::captured_at.ge(start))
        .filter(record_flags::captured_at.lt(end))
        .select((record_flags::seq, record_flags::flags))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let mut out = InRange::default();
    for (person, seq, id, kind, at, geo) in rows {
        if fieldtrail_domain::spotcheck::RESULT_KINDS.contains(&kind.as_str()) {
            out.results
                .push((person.clone(), seq, id.clone(), kind, at));
        }
        let record_flags = flags.remove(&seq);
        out.records
            .entry(person)
            .or_default()
            .push((id, at, geo, record_flags));
    }
    Ok(out)
}

/// The records of a range: their facts by person, and the spot-check results among them.
#[derive(Default)]
struct InRange {
    records: HashMap<String, Vec<RecordFacts>>,
    results: Vec<ResultRow>,
}

/// A spot-check result record: person, seq, id, kind, captured_at.
type ResultRow = (String, i64, String, String, i64);

/// Every approved request of the people, in decision order, by person. A correction's target
/// may lie outside the range (a record moved into it), so those targets are loaded too.
fn approved_requests(
    conn: &mut DbConnection,
    ids: &[String],
) -> StorageResult<HashMap<String, Decided>> {
    let rows: Vec<RequestRow> = requests::table
        .filter(requests::person_id.eq_any(ids))
        .filter(requests::status.eq("approved"))
        .order(requests::decision_seq.asc())
        .select(RequestRow::as_select())
        .load(conn)?;
    let targets: Vec<&str> = rows
        .iter()
        .filter(|r| r.kind == "correction")
        .filter_map(|r| r.refers_to.as_deref())
        .collect();
    let originals: HashMap<String, (i64, String)> = if targets.is_empty() {
        HashMap::new()
    } else {
        records::table
            .filter(records::id.eq_any(&targets))
            .filter(records::geo.ne("none"))
            .select((records::id, records::captured_at, records::geo))
            .load::<(String, i64, String)>(conn)?
            .into_iter()
            .map(|(id, at, geo)| (id, (at, geo)))
            .collect()
    };
    let mut out: HashMap<String, Decided> = HashMap::new();
    for row in rows {
        let decided = out.entry(row.person_id.clone()).or_default();
        if row.kind == "correction" {
            if let Some(target) = &row.refers_to {
                if let Some(original) = originals.get(target) {
                    decided.originals.insert(target.clone(), original.clone());
                }
            }
        }
        decided.rows.push(row);
    }
    Ok(out)
}

#[derive(Default)]
struct Decided {
    rows: Vec<RequestRow>,
    /// Correction targets as first stored: (captured_at, geo).
    originals: HashMap<String, (i64, String)>,
}

#[allow(clippy::too_many_arguments)]
fn presence_of(
    from: Date,
    to: Date,
    villages: &[(String, ValidPeriod)],
    records: Vec<RecordFacts>,
    decided: &Decided,
    duties: Vec<Duty>,
    windows: Vec<(Date, fieldtrail_domain::policy::NightWindow)>,
    (start, end): (i64, i64),
) -> Vec<PresenceDay> {
    let mut flags: Vec<(Date, String)> = Vec::new();
    let mut rows: Vec<(String, i64, String)> = Vec::with_capacity(records.len());
    for (id, at, geo, record_flags) in records {
        if let Some(list) = record_flags {
            // By the day the record was captured on: flags are about the record as sent.
            let day = county_date(from_unix_micros(at));
            flags.extend(list.split(',').map(|f| (day, f.to_owned())));
        }
        if geo != "none" {
            rows.push((id, at, geo));
        }
    }
    // The latest approved correction of each record replaces its time and place.
    let mut corrections: HashMap<&str, &RequestRow> = HashMap::new();
    for request in decided.rows.iter().filter(|r| r.kind == "correction") {
        if let Some(target) = &request.refers_to {
            corrections.insert(target.as_str(), request);
        }
    }
    if !decided.originals.is_empty() {
        // A corrected record captured outside the range may have been moved into it.
        let present: HashSet<&str> = rows.iter().map(|(id, _, _)| id.as_str()).collect();
        let moved_in: Vec<(String, i64, String)> = decided
            .originals
            .iter()
            .filter(|(id, _)| !present.contains(id.as_str()))
            .map(|(id, (at, geo))| (id.clone(), *at, geo.clone()))
            .collect();
        rows.extend(moved_in);
    }
    let evidence = rows
        .into_iter()
        .filter_map(|(id, captured_at, geo)| {
            let correction = corrections.get(id.as_str());
            let (at, geo) = match correction {
                Some(c) => (
                    c.corrected_at.unwrap_or(captured_at),
                    c.corrected_geo.clone().unwrap_or(geo),
                ),
                None => (captured_at, geo),
            };
            if !(start..end).contains(&at) {
                return None;
            }
            let local = from_unix_micros(at).to_offset(COUNTY_OFFSET);
            Some(Evidence {
                day: local.date(),
                minute: u16::from(local.hour()) * 60 + u16::from(local.minute()),
                places_in_village: places_in_village(GeoVerdict::parse(&geo)),
                id,
                corrected: correction.is_some(),
            })
        })
        .collect();
    let span = |r: &RequestRow| -> Option<(Date, Date)> {
        Some((
            parse_date(r.date_from.as_deref()?).ok()?,
            parse_date(r.date_to.as_deref()?).ok()?,
        ))
    };
    let leaves = decided
        .rows
        .iter()
        .filter(|r| r.kind == "leave_request")
        .filter_map(|r| {
            let (from, to) = span(r)?;
            let returned_on = r.returned_on.as_deref().and_then(|d| parse_date(d).ok());
            Some(ApprovedLeave {
                from,
                to,
                returned_on,
            })
        })
        .collect();
    let trips = decided
        .rows
        .iter()
        .filter(|r| r.kind == "official_trip")
        .filter_map(|r| {
            let (from, to) = span(r)?;
            Some(ApprovedTrip { from, to })
        })
        .collect();
    fieldtrail_domain::presence::presence(&PresenceInput {
        from,
        to,
        assigned: villages.iter().map(|(_, period)| *period).collect(),
        evidence,
        leaves,
        trips,
        duties,
        windows,
        flags,
    })
}

/// Pairings valid during `[from, to]`, each with the cadre's uncontested visits to the
/// household up to `to` (those in the range, and the last one before it).
fn pairings_of(
    conn: &mut DbConnection,
    ids: &[String],
    from: Date,
    to: Date,
) -> StorageResult<HashMap<String, Vec<(PairingFacts, String)>>> {
    let rows: Vec<(String, String, String, String, Option<String>)> = pairings::table
        .filter(pairings::person_id.eq_any(ids))
        .filter(pairings::valid_from.le(format_date(to)))
        .order(pairings::seq.asc())
        .select((
            pairings::id,
            pairings::person_id,
            pairings::household_id,
            pairings::valid_from,
            pairings::valid_to,
        ))
        .load(conn)?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter_map(|(id, person, household, valid_from, valid_to)| {
            let period = stored_period(&valid_from, valid_to.as_deref())?;
            period
                .to()
                .is_none_or(|t| t >= from)
                .then_some((id, person, household, period))
        })
        .collect();
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let households: Vec<&str> = rows.iter().map(|(_, _, h, _)| h.as_str()).collect();
    let villages: HashMap<String, String> = households::table
        .filter(households::id.eq_any(&households))
        .select((households::id, households::unit_code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let start = day_start_micros(from);
    let end = day_start_micros(to.next_day().unwrap_or(to));
    // A visit a household's denial contests does not count (docs/spot-checks.md).
    let contested: HashSet<i64> = contests::table
        .inner_join(records::table.on(records::id.eq(contests::record_id)))
        .filter(records::person_id.eq_any(ids))
        .select(records::seq)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let mut visits: HashMap<(String, String), Vec<(i64, i64)>> = HashMap::new();
    let in_range: Vec<(i64, String, String, i64)> = visits::table
        .filter(visits::person_id.eq_any(ids))
        .filter(visits::captured_at.ge(start))
        .filter(visits::captured_at.lt(end))
        .select((
            visits::seq,
            visits::person_id,
            visits::household_id,
            visits::captured_at,
        ))
        .load(conn)?;
    for (seq, person, household, at) in in_range {
        if !contested.contains(&seq) {
            visits
                .entry((person, household))
                .or_default()
                .push((at, seq));
        }
    }
    // The last visit before the range, only for pairings with none in it: one query for all.
    let unvisited: Vec<&str> = rows
        .iter()
        .filter(|(_, p, h, _)| !visits.contains_key(&(p.clone(), h.clone())))
        .map(|(_, _, h, _)| h.as_str())
        .collect();
    if !unvisited.is_empty() {
        let before: Vec<(i64, String, String, i64)> = visits::table
            .filter(visits::household_id.eq_any(&unvisited))
            .filter(visits::person_id.eq_any(ids))
            .filter(visits::captured_at.lt(start))
            .select((
                visits::seq,
                visits::person_id,
                visits::household_id,
                visits::captured_at,
            ))
            .load(conn)?;
        let mut last: HashMap<(String, String), (i64, i64)> = HashMap::new();
        for (seq, person, household, at) in before {
            if contested.contains(&seq) {
                continue;
            }
            let slot = last.entry((person, household)).or_insert((at, seq));
            *slot = (*slot).max((at, seq));
        }
        for (key, at) in last {
            visits.entry(key).or_default().push(at);
        }
    }
    let mut out: HashMap<String, Vec<(PairingFacts, String)>> = HashMap::new();
    for (id, person, household, period) in rows {
        let mut days: Vec<(Date, i64)> = visits
            .get(&(person.clone(), household.clone()))
            .into_iter()
            .flatten()
            .map(|(at, seq)| (county_date(from_unix_micros(*at)), *seq))
            .collect();
        days.sort_unstable();
        let village = villages.get(&household).cloned().unwrap_or_default();
        out.entry(person).or_default().push((
            PairingFacts {
                pairing_id: id,
                household_id: household,
                period,
                visits: days,
                // Set by the caller, who knows the policy of the day the pairing is judged on.
                interval_days: 0,
            },
            village,
        ));
    }
    Ok(out)
}

/// Spot-check results concerning the people captured in `[start, end)`, with the cadre's
/// dispute on each (an upheld one withdraws the result).
pub(crate) fn results_of(
    conn: &mut DbConnection,
    ids: &[String],
    start: i64,
    end: i64,
) -> StorageResult<HashMap<String, Vec<ResultFact>>> {
    let rows: Vec<ResultRow> = records::table
        .filter(records::person_id.eq_any(ids))
        .filter(records::captured_at.ge(start))
        .filter(records::captured_at.lt(end))
        .filter(records::kind.eq_any(fieldtrail_domain::spotcheck::RESULT_KINDS))
        .order(records::seq.asc())
        .select((
            records::person_id,
            records::seq,
            records::id,
            records::kind,
            records::captured_at,
        ))
        .load(conn)?;
    results_from(conn, rows)
}

/// The results of these result records: their outcome (from the entries' verdicts) and the
/// cadre's dispute on each. Reads nothing when there are none (most cadres, most days).
fn results_from(
    conn: &mut DbConnection,
    mut rows: Vec<ResultRow>,
) -> StorageResult<HashMap<String, Vec<ResultFact>>> {
    let mut out: HashMap<String, Vec<ResultFact>> = HashMap::new();
    if rows.is_empty() {
        return Ok(out);
    }
    rows.sort_by_key(|(_, seq, _, _, _)| *seq);
    let seqs: Vec<i64> = rows.iter().map(|(_, seq, _, _, _)| *seq).collect();
    let verdicts: HashMap<i64, Option<String>> = ledger::table
        .filter(ledger::seq.eq_any(&seqs))
        .select((ledger::seq, ledger::verdicts))
        .load::<(i64, Option<String>)>(conn)?
        .into_iter()
        .collect();
    let result_ids: Vec<&str> = rows.iter().map(|(_, _, id, _, _)| id.as_str()).collect();
    let disputes = disputes_of(conn, &result_ids)?;
    for (person, seq, id, kind, at) in rows {
        let text = verdicts.get(&seq).cloned().flatten();
        let verdicts = stored_json("result verdicts", text.as_deref().unwrap_or("null"))?;
        let verdict = &verdicts["verdict"];
        let text_of = |key: &str| verdict.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        out.entry(person).or_default().push(ResultFact {
            dispute: disputes.get(&id).cloned(),
            outcome: text_of("outcome")
                .or_else(|| text_of("result"))
                .unwrap_or_default(),
            method: text_of("method"),
            id,
            kind,
            at: instant(at),
            day: county_date(from_unix_micros(at)),
        });
    }
    Ok(out)
}

/// The cadre's dispute on each record, if any: (dispute id, status). With several, an upheld
/// one wins, then a pending one (a supervisor must still decide it), then the latest rejection.
pub(crate) fn disputes_of(
    conn: &mut DbConnection,
    record_ids: &[&str],
) -> StorageResult<HashMap<String, (String, String)>> {
    if record_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, Option<String>, String)> = requests::table
        .filter(requests::kind.eq("dispute"))
        .filter(requests::refers_to.eq_any(record_ids))
        .order(requests::record_id.asc())
        .select((requests::record_id, requests::refers_to, requests::status))
        .load(conn)?;
    let rank = |status: &str| match status {
        "upheld" => 2,
        "pending" => 1,
        _ => 0,
    };
    let mut out: HashMap<String, (String, String)> = HashMap::new();
    for (id, target, status) in rows {
        let Some(target) = target else { continue };
        let better = out
            .get(&target)
            .is_none_or(|(_, current)| rank(&status) >= rank(current));
        if better {
            out.insert(target, (id, status));
        }
    }
    Ok(out)
}
