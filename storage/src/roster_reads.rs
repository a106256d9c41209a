//! The roster as lists an office pages through (docs/roster.md): people, households,
//! assignments and pairings of a subtree, newest last, with opaque cursors.

use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::models::{AssignmentRow, HouseholdRow, HouseholdView, PairingRow, PersonRow};
use crate::schema::*;
use crate::stored::like_escape;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub struct PeopleFilter {
    /// The subtree, as a stored unit path.
    pub path: String,
    pub role: Option<String>,
    /// A piece of the username or display name, in any case.
    pub q: Option<String>,
    pub active: Option<bool>,
    /// The id of the last person of the previous page.
    pub after: Option<String>,
    pub limit: i64,
}

/// People of a subtree in creation order (ids are UUIDv7), one page and the next cursor.
pub fn people(
    conn: &mut DbConnection,
    filter: &PeopleFilter,
) -> StorageResult<(Vec<PersonRow>, Option<String>)> {
    let mut query = people::table
        .filter(
            people::unit_path
                .like(format!("{}%", like_escape(&filter.path)))
                .escape('\\'),
        )
        .select(PersonRow::as_select())
        .order(people::id.asc())
        .limit(filter.limit + 1)
        .into_boxed();
    if let Some(role) = &filter.role {
        query = query.filter(people::role.eq(role.clone()));
    }
    if let Some(active) = filter.active {
        query = query.filter(people::active.eq(active));
    }
    if let Some(after) = &filter.after {
        query = query.filter(people::id.gt(after.clone()));
    }
    if let Some(q) = &filter.q {
        let pattern = format!("%{}%", like_escape(&q.to_lowercase()));
        query = query.filter(
            lower(people::username)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(people::display_name).like(pattern).escape('\\')),
        );
    }
    let mut rows: Vec<PersonRow> = query.load(conn)?;
    let next = page_end(&mut rows, filter.limit).map(|last| last.id.clone());
    Ok((rows, next))
}

/// Keeps one page of `rows` (loaded with one extra) and says whether more follow.
fn page_end<T>(rows: &mut Vec<T>, limit: i64) -> Option<&T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last()
    } else {
        None
    }
}

/// One page of a subtree's roster: which subtree, from which seq on, and how many.
pub struct Page {
    pub path: String,
    pub after_seq: i64,
    pub limit: i64,
    /// Only what is in force on this day (YYYY-MM-DD), for assignments and pairings.
    pub on: Option<String>,
}

pub fn households(
    conn: &mut DbConnection,
    page: &Page,
) -> StorageResult<(Vec<HouseholdView>, Option<i64>)> {
    let mut rows: Vec<HouseholdRow> = households::table
        .filter(
            households::unit_code.eq_any(
                units::table
                    .filter(
                        units::path
                            .like(format!("{}%", like_escape(&page.path)))
                            .escape('\\'),
                    )
                    .select(units::code),
            ),
        )
        .filter(households::seq.gt(page.after_seq))
        .order(households::seq.asc())
        .limit(page.limit + 1)
        .select(HouseholdRow::as_select())
        .load(conn)?;
    let next = page_end(&mut rows, page.limit).map(|last| last.seq);
    Ok((rows.into_iter().map(HouseholdView::from).collect(), next))
}

/// Display names and usernames of these people.
fn names(
    conn: &mut DbConnection,
    ids: Vec<String>,
) -> StorageResult<HashMap<String, (String, String)>> {
    let rows: Vec<(String, String, String)> = people::table
        .filter(people::id.eq_any(ids))
        .select((people::id, people::display_name, people::username))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, username)| (id, (name, username)))
        .collect())
}

pub fn assignments(
    conn: &mut DbConnection,
    page: &Page,
) -> StorageResult<(Vec<Value>, Option<i64>)> {
    let mut query = assignments::table
        .filter(
            assignments::unit_code.eq_any(
                units::table
                    .filter(
                        units::path
                            .like(format!("{}%", like_escape(&page.path)))
                            .escape('\\'),
                    )
                    .select(units::code),
            ),
        )
        .filter(assignments::seq.gt(page.after_seq))
        .order(assignments::seq.asc())
        .limit(page.limit + 1)
        .select(AssignmentRow::as_select())
        .into_boxed();
    if let Some(on) = &page.on {
        query = query.filter(assignments::valid_from.le(on.clone())).filter(
            assignments::valid_to
                .is_null()
                .or(assignments::valid_to.ge(on.clone())),
        );
    }
    let mut rows: Vec<AssignmentRow> = query.load(conn)?;
    let next = page_end(&mut rows, page.limit).map(|last| last.seq);
    let names = names(conn, rows.iter().map(|r| r.person_id.clone()).collect())?;
    let items = rows
        .into_iter()
        .map(|row| {
            let (name, username) = names.get(&row.person_id).cloned().unwrap_or_default();
            json!({
                "id": row.id,
                "person_id": row.person_id,
                "unit_code": row.unit_code,
                "role": row.role,
                "valid_from": row.valid_from,
                "valid_to": row.valid_to,
                "seq": row.seq,
                "display_name": name,
                "username": username,
            })
        })
        .collect();
    Ok((items, next))
}

pub fn pairings(conn: &mut DbConnection, page: &Page) -> StorageResult<(Vec<Value>, Option<i64>)> {
    let mut query = pairings::table
        .filter(
            pairings::household_id.eq_any(
                households::table
                    .filter(
                        households::unit_code.eq_any(
                            units::table
                                .filter(
                                    units::path
                                        .like(format!("{}%", like_escape(&page.path)))
                                        .escape('\\'),
                                )
                                .select(units::code),
                        ),
                    )
                    .select(households::id),
            ),
        )
        .filter(pairings::seq.gt(page.after_seq))
        .order(pairings::seq.asc())
        .limit(page.limit + 1)
        .select(PairingRow::as_select())
        .into_boxed();
    if let Some(on) = &page.on {
        query = query.filter(pairings::valid_from.le(on.clone())).filter(
            pairings::valid_to
                .is_null()
                .or(pairings::valid_to.ge(on.clone())),
        );
    }
    let mut rows: Vec<PairingRow> = query.load(conn)?;
    let next = page_end(&mut rows, page.limit).map(|last| last.seq);
    let names = names(conn, rows.iter().map(|r| r.person_id.clone()).collect())?;
    let heads: HashMap<String, (String, String)> = households::table
        .filter(
            households::id.eq_any(
                rows.iter()
                    .map(|r| r.household_id.clone())
                    .collect::<Vec<_>>(),
            ),
        )
        .select((households::id, households::unit_code, households::head_name))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, unit, head)| (id, (unit, head)))
        .collect();
    let items = rows
        .into_iter()
        .map(|row| {
            let (name, username) = names.get(&row.person_id).cloned().unwrap_or_default();
            let (unit_code, head_name) = heads.get(&row.household_id).cloned().unwrap_or_default();
            let mut view = row.to_view();
            view["display_name"] = json!(name);
            view["username"] = json!(username);
            view["unit_code"] = json!(unit_code);
            view["head_name"] = json!(head_name);
            view
        })
        .collect();
    Ok((items, next))
}

/// The units without a parent: the tops of the tree.
pub fn roots(conn: &mut DbConnection) -> StorageResult<Vec<crate::models::UnitRow>> {
    Ok(units::table
        .filter(units::parent_code.is_null())
        .order(units::code.asc())
        .select(crate::models::UnitRow::as_select())
        .load(conn)?)
}

/// Which of these usernames are taken.
pub fn existing_usernames(
    conn: &mut DbConnection,
    usernames: &[String],
) -> StorageResult<std::collections::HashSet<String>> {
    let mut taken = std::collections::HashSet::new();
    for chunk in usernames.chunks(500) {
        let rows: Vec<String> = people::table
            .filter(people::username.eq_any(chunk))
            .select(people::username)
            .load(conn)?;
        taken.extend(rows);
    }
    Ok(taken)
}
