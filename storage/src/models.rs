//! Row structs (how tables look) and views (what callers get back). Views serialise to the JSON
//! the API returns, so a field renamed here is a breaking API change.

use crate::schema::*;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = units)]
pub struct UnitRow {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
    pub path: String,
    pub boundary: Option<String>,
    pub tolerance_m: f64,
    pub seq: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = people)]
pub struct PersonRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub role: String,
    pub unit_code: Option<String>,
    pub unit_path: String,
    pub phone: Option<String>,
    pub seq: i64,
    pub active: bool,
    pub must_change_password: bool,
    /// Tokens carry the generation they were issued in; a password change starts the next.
    pub token_generation: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = assignments)]
pub struct AssignmentRow {
    pub id: String,
    pub person_id: String,
    pub unit_code: String,
    pub role: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub seq: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = households)]
pub struct HouseholdRow {
    pub id: String,
    pub unit_code: String,
    pub head_name: String,
    pub members: i32,
    pub lon: f64,
    pub lat: f64,
    pub seq: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
// None is NULL, not DEFAULT: rows also go through PostgreSQL COPY, which has no DEFAULT.
#[diesel(table_name = records, treat_none_as_default_value = false)]
pub struct RecordRow {
    pub id: String,
    pub person_id: String,
    pub kind: String,
    pub seq: i64,
    pub captured_at: i64,
    pub content_hash: Vec<u8>,
    pub unit_code: Option<String>,
    pub actual_unit_code: Option<String>,
    pub geo: String,
    pub roster: String,
    pub refers_to: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
// None is NULL, not DEFAULT: rows also go through PostgreSQL COPY, which has no DEFAULT.
#[diesel(table_name = ledger, treat_none_as_default_value = false)]
pub struct LedgerRow {
    pub seq: i64,
    pub entry_id: String,
    pub kind: String,
    pub actor: Option<String>,
    pub unit_code: Option<String>,
    pub captured_at: i64,
    pub received_at: i64,
    pub body: Vec<u8>,
    pub leaf_hash: Vec<u8>,
    pub verdicts: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ledger_payloads, treat_none_as_default_value = false)]
pub struct PayloadRow {
    pub seq: i64,
    pub salt: Vec<u8>,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitView {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
    pub tolerance_m: f64,
    pub boundary: Option<Value>,
    pub seq: i64,
}

impl From<UnitRow> for UnitView {
    fn from(row: UnitRow) -> Self {
        UnitView {
            boundary: row
                .boundary
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok()),
            code: row.code,
            name: row.name,
            level: row.level,
            parent_code: row.parent_code,
            tolerance_m: row.tolerance_m,
            seq: row.seq,
        }
    }
}

/// A unit without its boundary, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct UnitSummary {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
    pub has_boundary: bool,
}

impl From<UnitRow> for UnitSummary {
    fn from(row: UnitRow) -> Self {
        UnitSummary {
            has_boundary: row.boundary.is_some(),
            code: row.code,
            name: row.name,
            level: row.level,
            parent_code: row.parent_code,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub unit_code: Option<String>,
    pub phone: Option<String>,
    pub seq: i64,
    pub active: bool,
    pub must_change_password: bool,
}

impl From<PersonRow> for PersonView {
    fn from(row: PersonRow) -> Self {
        PersonView {
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            role: row.role,
            unit_code: row.unit_code,
            phone: row.phone,
            seq: row.seq,
            active: row.active,
            must_change_password: row.must_change_password,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AssignmentView {
    pub id: String,
    pub person_id: String,
    pub unit_code: String,
    pub role: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub seq: i64,
}

impl From<AssignmentRow> for AssignmentView {
    fn from(row: AssignmentRow) -> Self {
        AssignmentView {
            id: row.id,
            person_id: row.person_id,
            unit_code: row.unit_code,
            role: row.role,
            valid_from: row.valid_from,
            valid_to: row.valid_to,
            seq: row.seq,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Location {
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HouseholdView {
    pub id: String,
    pub unit_code: String,
    pub head_name: String,
    pub members: i32,
    pub location: Location,
    pub seq: i64,
}

impl From<HouseholdRow> for HouseholdView {
    fn from(row: HouseholdRow) -> Self {
        HouseholdView {
            id: row.id,
            unit_code: row.unit_code,
            head_name: row.head_name,
            members: row.members,
            location: Location {
                lon: row.lon,
                lat: row.lat,
            },
            seq: row.seq,
        }
    }
}

/// A unit as the import stored it.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedUnit {
    pub code: String,
    pub seq: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fixes, treat_none_as_default_value = false)]
pub struct FixRow {
    pub seq: i64,
    pub record_id: String,
    pub person_id: String,
    pub captured_at: i64,
    pub lon: f64,
    pub lat: f64,
    pub sent_lon: f64,
    pub sent_lat: f64,
    pub accuracy_m: f64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pairings)]
pub struct PairingRow {
    pub id: String,
    pub person_id: String,
    pub household_id: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub seq: i64,
}

impl PairingRow {
    pub fn to_view(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "person_id": self.person_id,
            "household_id": self.household_id,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "seq": self.seq,
        })
    }
}

/// A leave request, official trip, correction or dispute and where its decision stands.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
// None is NULL, not DEFAULT: rows also go through PostgreSQL COPY, which has no DEFAULT.
#[diesel(table_name = requests, treat_none_as_default_value = false)]
pub struct RequestRow {
    pub record_id: String,
    pub person_id: String,
    pub kind: String,
    pub refers_to: Option<String>,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub corrected_at: Option<i64>,
    pub corrected_geo: Option<String>,
    pub status: String,
    pub decision_seq: Option<i64>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: Option<String>,
    pub returned_on: Option<String>,
}

impl RequestRow {
    /// The decision as readers see it, or null while pending.
    pub fn decision_view(&self) -> serde_json::Value {
        match (self.decision_seq, self.decided_at) {
            (Some(seq), Some(at)) => serde_json::json!({
                "decision": self.status,
                "note": self.decision_note,
                "decided_by": self.decided_by,
                "decided_at": fieldtrail_domain::canonical::format_utc_micros(
                    fieldtrail_domain::canonical::from_unix_micros(at)
                ),
                "seq": seq,
            }),
            _ => serde_json::Value::Null,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = duties, treat_none_as_default_value = false)]
pub struct DutyRow {
    pub record_id: String,
    pub person_id: String,
    pub unit_code: String,
    pub day: String,
    pub seq: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = attachments)]
pub struct AttachmentRow {
    pub sha256: String,
    pub uploaded_by: String,
    pub size: i64,
    pub media_type: String,
    pub uploaded_at: i64,
}

/// A household visit, by household (see the `visits` table).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = visits, treat_none_as_default_value = false)]
pub struct VisitRow {
    pub seq: i64,
    pub household_id: String,
    pub person_id: String,
    pub captured_at: i64,
}

/// A committed draw as its entries fixed it; `members`, `passed_over` and `sample` are JSON.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = draws, treat_none_as_default_value = false)]
pub struct DrawRow {
    pub id: String,
    pub seq: i64,
    pub unit_code: String,
    pub unit_path: String,
    pub population: String,
    pub size: i32,
    pub period: String,
    pub purpose: Option<String>,
    pub emergency_reason: Option<String>,
    pub drawn_by: Option<String>,
    pub drawn_at: i64,
    pub members: String,
    pub population_sha256: String,
    pub passed_over: String,
    pub checkpoint_size: i64,
    pub sample: String,
    pub sample_seq: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = challenges, treat_none_as_default_value = false)]
pub struct ChallengeRow {
    pub id: String,
    pub seq: i64,
    pub draw_id: String,
    pub person_id: String,
    pub nonce: String,
    pub issued_by: Option<String>,
    pub issued_at: i64,
    pub deadline: i64,
    pub status: String,
    pub outcome_id: Option<String>,
    pub answer_id: Option<String>,
    pub answered_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = alerts, treat_none_as_default_value = false)]
pub struct AlertRow {
    pub id: String,
    pub seq: i64,
    pub kind: String,
    pub unit_code: Option<String>,
    pub unit_path: String,
    pub person_id: Option<String>,
    pub source_id: String,
    pub status: String,
    pub created_at: i64,
    pub detail: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contests, treat_none_as_default_value = false)]
pub struct ContestRow {
    pub record_id: String,
    pub verification_id: String,
    pub seq: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = verifications, treat_none_as_default_value = false)]
pub struct VerificationRow {
    pub id: String,
    pub seq: i64,
    pub household_id: String,
    pub draw_id: Option<String>,
    pub result: String,
    pub person_id: Option<String>,
    pub verified_by: Option<String>,
    pub verified_at: i64,
}

/// The flags of one flagged record, comma-joined (see the `record_flags` table).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = record_flags, treat_none_as_default_value = false)]
pub struct FlagRow {
    pub seq: i64,
    pub person_id: String,
    pub captured_at: i64,
    pub flags: String,
}

/// A supervisor's note by the cadre it is about (see the `notes` table).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notes, treat_none_as_default_value = false)]
pub struct NoteRow {
    pub record_id: String,
    pub seq: i64,
    pub person_id: String,
    pub author_id: String,
    pub category: String,
    pub captured_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks, treat_none_as_default_value = false)]
pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub unit_code: String,
    pub unit_path: String,
    /// A JSON array of event types; None for every event.
    pub events: Option<String>,
    pub secret: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub seq: i64,
    pub deleted_at: Option<i64>,
    pub deleted_seq: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries, treat_none_as_default_value = false)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub alert_id: String,
    pub event_type: String,
    pub body: String,
    pub state: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = record_attachments)]
pub struct AttachmentRefRow {
    pub sha256: String,
    pub seq: i64,
}
