//! The single ledger writer.
//!
//! One thread owns the only writing connection. Requests queue to it; it takes whatever has
//! queued (up to [`MAX_GROUP`]) and commits it as one transaction — one fsync for the group —
//! with each request inside its own savepoint, so a request that fails leaves no trace and does
//! not disturb its neighbours. It assigns sequence numbers (gap-free: a number is only used by a
//! request that commits), writes the ledger entry and the projections together, and answers each
//! request only after the commit.

use crate::db::{establish, DbConnection};
use crate::error::{StorageError, StorageResult};
use crate::field::{self, PolicyCache};
pub use crate::field::{BatchItem, Decision, NewPairing, RecordOutcome, Submitter};
use crate::merkle::{self as tree_store, StoredCheckpoint};
use crate::models::*;
use crate::schema::*;
use diesel::prelude::*;
use fieldtrail_domain::canonical::{
    leaf_hash, payload_hash, to_canonical_bytes, unix_micros, EntryHeader,
};
use fieldtrail_domain::geo::{Boundary, Position, ToleranceMeters, UnitIndex};
use fieldtrail_domain::merkle::CompactRange;
use fieldtrail_domain::note::{Checkpoint, NoteSigner};
use fieldtrail_domain::person::{DisplayName, PersonId, Phone, Role, Username};
use fieldtrail_domain::policy::PolicyOverrides;
use fieldtrail_domain::record::{DeviceId, RecordSubmission};
use fieldtrail_domain::roster::{format_date, AssignmentRole, ValidPeriod};
use fieldtrail_domain::unit::{UnitCode, UnitLevel, UnitName, UnitPath};
use fieldtrail_domain::FieldProblem;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// Most requests committed in one transaction.
pub const MAX_GROUP: usize = 512;
/// Requests that may wait for the writer before callers are told to back off.
const QUEUE_DEPTH: usize = 8192;

/// Who makes a change, and the subtree they may change. `id` is None for the operator acting
/// through the command line (bootstrap, demo loading).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<PersonId>,
    pub scope: UnitPath,
}

impl Actor {
    /// The operator at the console: whole tree, no person.
    pub fn operator() -> Actor {
        Actor {
            id: None,
            scope: UnitPath::whole_tree(),
        }
    }

    /// Refuses a change to something stored at `path` outside the actor's subtree.
    pub(crate) fn require_reach(
        &self,
        path: &str,
        what: impl FnOnce() -> String,
    ) -> StorageResult<()> {
        if self.scope.contains(&UnitPath::from_stored(path.to_owned())) {
            Ok(())
        } else {
            Err(StorageError::OutOfScope(what()))
        }
    }
}

/// Runs `work` in a savepoint. When it fails the savepoint is rolled back, and so are the leaves
/// it added to the in-memory frontier, which must always match what the database holds.
pub(crate) fn in_savepoint<T>(
    conn: &mut DbConnection,
    tree: &mut CompactRange,
    work: impl FnOnce(&mut DbConnection, &mut CompactRange) -> StorageResult<T>,
) -> StorageResult<T> {
    let before = tree.clone();
    let result = conn.transaction::<_, StorageError, _>(|sp| work(sp, tree));
    if result.is_err() {
        *tree = before;
    }
    result
}

pub struct NewUnit {
    /// Where the unit came from in the request, e.g. "/features/3", for error pointers.
    pub pointer: String,
    pub code: UnitCode,
    pub name: UnitName,
    pub level: UnitLevel,
    pub parent_code: Option<UnitCode>,
    pub boundary: Option<Boundary>,
    pub tolerance: ToleranceMeters,
}

pub struct NewPerson {
    pub username: Username,
    /// An argon2 PHC string; the plain password never reaches storage.
    pub password_hash: String,
    pub display_name: DisplayName,
    pub role: Role,
    /// None only for the first admin, whose scope is the whole tree.
    pub unit_code: Option<UnitCode>,
    pub phone: Option<Phone>,
}

pub struct NewAssignment {
    pub person_id: PersonId,
    pub unit_code: UnitCode,
    pub role: AssignmentRole,
    pub period: ValidPeriod,
}

pub struct NewHousehold {
    pub unit_code: UnitCode,
    pub head_name: String,
    pub members: u16,
    pub location: Position,
}

enum Outcome {
    Checkpoint(StoredCheckpoint),
    Units(Vec<ImportedUnit>),
    Person(PersonView),
    Assignment(AssignmentView),
    Household(HouseholdView),
    Record(RecordOutcome),
    Batch(Vec<(usize, StorageResult<RecordOutcome>)>),
    Json(Value),
}

enum Request {
    Checkpoint,
    ImportUnits(Actor, Vec<NewUnit>),
    CreatePerson(Actor, NewPerson),
    CreateFirstAdmin(NewPerson),
    CreateAssignment(Actor, NewAssignment),
    CreateHousehold(Actor, NewHousehold),
    AppendRecord(Submitter, RecordSubmission),
    AppendBatch(Submitter, Vec<BatchItem>),
    Decide(Actor, Decision),
    SetPolicy(Actor, UnitCode, PolicyOverrides),
    BindDevice(Actor, PersonId, DeviceId),
    CreatePairing(Actor, NewPairing),
}

struct Command {
    request: Request,
    reply: oneshot::Sender<StorageResult<Outcome>>,
}

/// What the geo verdict needs of the unit tree, kept in memory and shared with readers.
#[derive(Default)]
pub struct GeoState {
    pub index: UnitIndex,
    pub tolerance: HashMap<String, ToleranceMeters>,
}

impl GeoState {
    fn load(conn: &mut DbConnection) -> StorageResult<GeoState> {
        let rows: Vec<UnitRow> = units::table
            .filter(units::boundary.is_not_null())
            .select(UnitRow::as_select())
            .load(conn)?;
        let mut tolerance = HashMap::with_capacity(rows.len());
        let mut shapes = Vec::with_capacity(rows.len());
        for row in rows {
            let level = UnitLevel::parse(&row.level).map_err(|_| {
                StorageError::Corrupt(format!("unit {} has level {}", row.code, row.level))
            })?;
            let boundary = stored_boundary(&row)?;
            tolerance.insert(
                row.code.clone(),
                ToleranceMeters::parse(row.tolerance_m).unwrap_or_default(),
            );
            if let Some(boundary) = boundary {
                shapes.push((row.code, level.depth(), boundary));
            }
        }
        Ok(GeoState {
            index: shapes.into_iter().collect(),
            tolerance,
        })
    }
}

fn stored_boundary(row: &UnitRow) -> StorageResult<Option<Boundary>> {
    let Some(text) = &row.boundary else {
        return Ok(None);
    };
    let value: Value = serde_json::from_str(text)
        .map_err(|err| StorageError::Corrupt(format!("boundary of {}: {err}", row.code)))?;
    Boundary::from_geojson(&value)
        .map_err(|_| StorageError::Corrupt(format!("boundary of {} does not parse", row.code)))
}

/// The handle requests go through; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Command>,
    geo: Arc<RwLock<GeoState>>,
}

impl Writer {
    /// Opens the writing connection and starts the writer thread. Migrations must have run.
    pub fn start(url: &str, log: LogSigner) -> StorageResult<Writer> {
        let mut conn = establish(url)?;
        if let DbConnection::Postgres(_) = conn {
            // A second fieldtrail on the same database would hand out the same sequence numbers.
            let locked: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "pg_try_advisory_lock(7283361)",
            ))
            .get_result(&mut conn)?;
            if !locked {
                return Err(StorageError::Unavailable(
                    "another fieldtrail instance is writing to this database".into(),
                ));
            }
        }
        let tree = catch_up_tree(&mut conn)?;
        let geo = Arc::new(RwLock::new(GeoState::load(&mut conn)?));
        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
        let policies = field::load_policies(&mut conn)?;
        let state = WriterState {
            conn,
            tree,
            geo: Arc::clone(&geo),
            policies,
            log,
        };
        std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || state.run(receiver))
            .map_err(|err| StorageError::Unavailable(err.to_string()))?;
        Ok(Writer { queue, geo })
    }

    /// Signs a checkpoint of the current tree unless the latest one already covers it.
    pub async fn checkpoint(&self) -> StorageResult<StoredCheckpoint> {
        match self.submit(Request::Checkpoint).await? {
            Outcome::Checkpoint(checkpoint) => Ok(checkpoint),
            _ => Err(unexpected()),
        }
    }

    pub fn geo(&self) -> Arc<RwLock<GeoState>> {
        Arc::clone(&self.geo)
    }

    async fn submit(&self, request: Request) -> StorageResult<Outcome> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Command { request, reply })
            .map_err(|err| match err {
                mpsc::error::TrySendError::Full(_) => {
                    StorageError::Unavailable("the ledger writer is saturated".into())
                }
                mpsc::error::TrySendError::Closed(_) => {
                    StorageError::Unavailable("the ledger writer has stopped".into())
                }
            })?;
        answer.await.map_err(|_| {
            StorageError::Unavailable("the ledger writer dropped the request".into())
        })?
    }

    pub async fn import_units(
        &self,
        actor: Actor,
        units: Vec<NewUnit>,
    ) -> StorageResult<Vec<ImportedUnit>> {
        match self.submit(Request::ImportUnits(actor, units)).await? {
            Outcome::Units(imported) => Ok(imported),
            _ => Err(unexpected()),
        }
    }

    pub async fn create_person(
        &self,
        actor: Actor,
        person: NewPerson,
    ) -> StorageResult<PersonView> {
        match self.submit(Request::CreatePerson(actor, person)).await? {
            Outcome::Person(view) => Ok(view),
            _ => Err(unexpected()),
        }
    }

    /// Creates the first admin (scope: whole tree); refused once any admin exists.
    pub async fn create_first_admin(&self, person: NewPerson) -> StorageResult<PersonView> {
        match self.submit(Request::CreateFirstAdmin(person)).await? {
            Outcome::Person(view) => Ok(view),
            _ => Err(unexpected()),
        }
    }

    pub async fn create_assignment(
        &self,
        actor: Actor,
        assignment: NewAssignment,
    ) -> StorageResult<AssignmentView> {
        match self
            .submit(Request::CreateAssignment(actor, assignment))
            .await?
        {
            Outcome::Assignment(view) => Ok(view),
            _ => Err(unexpected()),
        }
    }

    pub async fn create_household(
        &self,
        actor: Actor,
        household: NewHousehold,
    ) -> StorageResult<HouseholdView> {
        match self
            .submit(Request::CreateHousehold(actor, household))
            .await?
        {
            Outcome::Household(view) => Ok(view),
            _ => Err(unexpected()),
        }
    }

    /// Judges and stores a record, or returns the stored answer for a resent one.
    pub async fn append_record(
        &self,
        submitter: Submitter,
        submission: RecordSubmission,
    ) -> StorageResult<RecordOutcome> {
        match self
            .submit(Request::AppendRecord(submitter, submission))
            .await?
        {
            Outcome::Record(outcome) => Ok(outcome),
            _ => Err(unexpected()),
        }
    }

    /// Appends a batch; each item's result is paired with its index in the request.
    pub async fn append_batch(
        &self,
        submitter: Submitter,
        items: Vec<BatchItem>,
    ) -> StorageResult<Vec<(usize, StorageResult<RecordOutcome>)>> {
        match self.submit(Request::AppendBatch(submitter, items)).await? {
            Outcome::Batch(results) => Ok(results),
            _ => Err(unexpected()),
        }
    }

    pub async fn decide(&self, actor: Actor, decision: Decision) -> StorageResult<Value> {
        self.submit_json(Request::Decide(actor, decision)).await
    }

    pub async fn set_policy(
        &self,
        actor: Actor,
        unit: UnitCode,
        overrides: PolicyOverrides,
    ) -> StorageResult<Value> {
        self.submit_json(Request::SetPolicy(actor, unit, overrides))
            .await
    }

    pub async fn bind_device(
        &self,
        actor: Actor,
        person: PersonId,
        device: DeviceId,
    ) -> StorageResult<Value> {
        self.submit_json(Request::BindDevice(actor, person, device))
            .await
    }

    pub async fn create_pairing(&self, actor: Actor, pairing: NewPairing) -> StorageResult<Value> {
        self.submit_json(Request::CreatePairing(actor, pairing))
            .await
    }

    async fn submit_json(&self, request: Request) -> StorageResult<Value> {
        match self.submit(request).await? {
            Outcome::Json(value) => Ok(value),
            _ => Err(unexpected()),
        }
    }
}

fn unexpected() -> StorageError {
    StorageError::Unavailable("the ledger writer answered with the wrong outcome".into())
}

pub(crate) fn current_size(conn: &mut DbConnection) -> StorageResult<i64> {
    let max: Option<i64> = ledger::table
        .select(diesel::dsl::max(ledger::seq))
        .first(conn)?;
    Ok(max.unwrap_or(0))
}

/// The log's identity: the checkpoint origin line and the key that signs checkpoints.
pub struct LogSigner {
    pub origin: String,
    pub signer: NoteSigner,
}

/// Brings the stored tree level with the ledger (needed once, for a ledger written before the
/// tree existed; afterwards entries and nodes commit together) and returns the frontier.
fn catch_up_tree(conn: &mut DbConnection) -> StorageResult<CompactRange> {
    let ledger_size = u64::try_from(current_size(conn)?).unwrap_or(0);
    let tree_size = tree_store::stored_leaves(conn)?;
    if tree_size > ledger_size {
        return Err(StorageError::Corrupt(format!(
            "the Merkle tree has {tree_size} leaves but the ledger only {ledger_size} entries"
        )));
    }
    let mut tree = tree_store::frontier(conn, tree_size)?;
    if tree_size < ledger_size {
        tracing::info!(
            from = tree_size,
            to = ledger_size,
            "building the Merkle tree"
        );
        conn.transaction::<_, StorageError, _>(|tx| {
            let mut next = i64::try_from(tree_size).unwrap_or(0) + 1;
            loop {
                let leaves: Vec<(i64, Vec<u8>)> = ledger::table
                    .filter(ledger::seq.ge(next))
                    .order(ledger::seq.asc())
                    .limit(10_000)
                    .select((ledger::seq, ledger::leaf_hash))
                    .load(tx)?;
                let Some(last) = leaves.last().map(|l| l.0) else {
                    break;
                };
                for (_, leaf) in leaves {
                    let nodes = tree.append_leaf(tree_store::to_hash(&leaf)?);
                    tree_store::insert_nodes(tx, &nodes)?;
                }
                next = last + 1;
            }
            Ok(())
        })?;
    }
    Ok(tree)
}

struct WriterState {
    conn: DbConnection,
    /// The frontier of the committed tree; its end is the number of committed entries.
    tree: CompactRange,
    geo: Arc<RwLock<GeoState>>,
    policies: PolicyCache,
    log: LogSigner,
}

impl WriterState {
    fn run(mut self, mut receiver: mpsc::Receiver<Command>) {
        let mut group = Vec::with_capacity(MAX_GROUP);
        while let Some(first) = receiver.blocking_recv() {
            group.push(first);
            while group.len() < MAX_GROUP {
                match receiver.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            self.commit_group(&mut group);
        }
        tracing::info!("ledger writer stopped");
    }

    fn commit_group(&mut self, group: &mut Vec<Command>) {
        let group_start = self.tree.clone();
        let (requests, replies): (Vec<Request>, Vec<_>) = group
            .drain(..)
            .map(|command| (command.request, command.reply))
            .unzip();
        let conn = &mut self.conn;
        let tree = &mut self.tree;
        let geo = &self.geo;
        let policies = &mut self.policies;
        let log = &self.log;
        let committed = conn.transaction::<_, diesel::result::Error, _>(|tx| {
            let mut answers = Vec::with_capacity(requests.len());
            for request in requests {
                answers.push(in_savepoint(tx, tree, |sp, tree| {
                    apply(sp, tree, geo, policies, log, request)
                }));
            }
            Ok(answers)
        });
        match committed {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    // A caller that gave up waiting is no error: its write is committed all the same.
                    let _ = reply.send(answer);
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "ledger group commit failed");
                self.tree = group_start;
                self.reload_geo();
                for reply in replies {
                    let _ = reply.send(Err(StorageError::Unavailable(format!(
                        "commit failed: {err}"
                    ))));
                }
            }
        }
    }

    /// Shapes and policies added by a group that then failed to commit must not linger in memory.
    fn reload_geo(&mut self) {
        match field::load_policies(&mut self.conn) {
            Ok(policies) => self.policies = policies,
            Err(err) => tracing::error!(error = %err, "reloading policies failed"),
        }
        match GeoState::load(&mut self.conn) {
            Ok(state) => {
                if let Ok(mut shared) = self.geo.write() {
                    *shared = state;
                }
            }
            Err(err) => tracing::error!(error = %err, "reloading unit shapes failed"),
        }
    }
}

fn apply(
    conn: &mut DbConnection,
    tree: &mut CompactRange,
    geo: &RwLock<GeoState>,
    policies: &mut PolicyCache,
    log: &LogSigner,
    request: Request,
) -> StorageResult<Outcome> {
    let now = OffsetDateTime::now_utc();
    let mut ledger = LedgerAppender { conn, tree, now };
    match request {
        Request::Checkpoint => checkpoint(&mut ledger, log).map(Outcome::Checkpoint),
        Request::ImportUnits(actor, units) => import_units(&mut ledger, geo, &actor, units),
        Request::CreatePerson(actor, person) => {
            create_person(&mut ledger, &actor, person).map(Outcome::Person)
        }
        Request::CreateFirstAdmin(person) => {
            let admins: i64 = people::table
                .filter(people::role.eq(Role::Admin.as_str()))
                .count()
                .get_result(ledger.conn)?;
            if admins > 0 {
                return Err(StorageError::Conflict("an admin already exists".into()));
            }
            create_person(&mut ledger, &Actor::operator(), person).map(Outcome::Person)
        }
        Request::CreateAssignment(actor, assignment) => {
            create_assignment(&mut ledger, &actor, assignment).map(Outcome::Assignment)
        }
        Request::CreateHousehold(actor, household) => {
            create_household(&mut ledger, &actor, household).map(Outcome::Household)
        }
        Request::AppendRecord(submitter, submission) => {
            field::append_record(&mut ledger, geo, policies, &submitter, submission, "")
                .map(Outcome::Record)
        }
        Request::AppendBatch(submitter, items) => Ok(Outcome::Batch(field::append_batch(
            ledger.conn,
            ledger.tree,
            now,
            geo,
            policies,
            &submitter,
            items,
        ))),
        Request::Decide(actor, decision) => {
            field::decide(&mut ledger, &actor, decision).map(Outcome::Json)
        }
        Request::SetPolicy(actor, unit, overrides) => {
            field::set_policy(&mut ledger, policies, &actor, &unit, overrides).map(Outcome::Json)
        }
        Request::BindDevice(actor, person, device) => {
            field::bind_device(&mut ledger, &actor, person, device.as_str()).map(Outcome::Json)
        }
        Request::CreatePairing(actor, pairing) => {
            field::create_pairing(&mut ledger, policies, &actor, pairing).map(Outcome::Json)
        }
    }
}

/// Writes ledger entries for one request, numbering them from the request's first free seq.
pub(crate) struct LedgerAppender<'a> {
    pub(crate) conn: &'a mut DbConnection,
    pub(crate) tree: &'a mut CompactRange,
    pub(crate) now: OffsetDateTime,
}

pub(crate) struct Appended {
    pub(crate) seq: i64,
    pub(crate) entry_id: String,
    pub(crate) leaf_hash: [u8; 32],
    pub(crate) payload_hash: [u8; 32],
}

pub(crate) struct EntryDraft<'a> {
    pub(crate) kind: &'a str,
    pub(crate) actor: Option<String>,
    pub(crate) unit: Option<String>,
    pub(crate) captured_at: OffsetDateTime,
    pub(crate) verdicts: Option<Value>,
    pub(crate) payload: &'a [u8],
}

impl LedgerAppender<'_> {
    pub(crate) fn append(&mut self, draft: EntryDraft<'_>) -> StorageResult<Appended> {
        let seq = i64::try_from(self.tree.end()).unwrap_or(i64::MAX) + 1;
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|err| StorageError::Unavailable(format!("no randomness: {err}")))?;
        let entry_id = uuid::Uuid::now_v7();
        let payload_hash = payload_hash(&salt, draft.payload);
        let header = EntryHeader {
            seq,
            entry_id,
            kind: draft.kind,
            actor: draft.actor.clone(),
            unit: draft.unit.clone(),
            captured_at: draft.captured_at,
            received_at: self.now,
            verdicts: draft.verdicts.clone().unwrap_or(Value::Null),
            payload_hash,
        };
        let body = header.to_bytes();
        let leaf = leaf_hash(&body);
        diesel::insert_into(ledger::table)
            .values(LedgerRow {
                seq,
                entry_id: entry_id.to_string(),
                kind: draft.kind.to_owned(),
                actor: draft.actor,
                unit_code: draft.unit,
                captured_at: unix_micros(draft.captured_at),
                received_at: unix_micros(self.now),
                body,
                leaf_hash: leaf.to_vec(),
                verdicts: draft.verdicts.map(|v| v.to_string()),
            })
            .execute(self.conn)?;
        diesel::insert_into(ledger_payloads::table)
            .values(PayloadRow {
                seq,
                salt: salt.to_vec(),
                payload: draft.payload.to_vec(),
            })
            .execute(self.conn)?;
        let nodes = self.tree.append_leaf(leaf);
        tree_store::insert_nodes(self.conn, &nodes)?;
        Ok(Appended {
            seq,
            entry_id: entry_id.to_string(),
            leaf_hash: leaf,
            payload_hash,
        })
    }

    /// An admin change: captured and received at the same instant, no verdicts.
    pub(crate) fn append_admin(
        &mut self,
        kind: &str,
        actor: &Actor,
        unit: Option<&str>,
        payload: &Value,
    ) -> StorageResult<Appended> {
        let payload = to_canonical_bytes(payload);
        self.append(EntryDraft {
            kind,
            actor: actor.id.map(|id| id.to_string()),
            unit: unit.map(str::to_owned),
            captured_at: self.now,
            verdicts: None,
            payload: &payload,
        })
    }
}

/// The latest checkpoint if it covers the whole tree, else a new one, signed and kept.
fn checkpoint(ledger: &mut LedgerAppender<'_>, log: &LogSigner) -> StorageResult<StoredCheckpoint> {
    let size = ledger.tree.end();
    if let Some(latest) = tree_store::latest_checkpoint(ledger.conn)? {
        if latest.size == size {
            return Ok(latest);
        }
    }
    let root = ledger
        .tree
        .root()
        .map_err(|err| StorageError::Corrupt(format!("tree root: {err}")))?;
    let text = Checkpoint {
        origin: log.origin.clone(),
        size,
        root,
    }
    .to_text();
    let note = log
        .signer
        .sign(&text)
        .map_err(|err| StorageError::Corrupt(format!("signing a checkpoint: {err}")))?;
    let checkpoint = StoredCheckpoint { size, root, note };
    tree_store::insert_checkpoint(ledger.conn, &checkpoint, unix_micros(ledger.now))?;
    Ok(checkpoint)
}

pub(crate) fn find_unit(conn: &mut DbConnection, code: &str) -> StorageResult<Option<UnitRow>> {
    Ok(units::table
        .find(code)
        .select(UnitRow::as_select())
        .first(conn)
        .optional()?)
}

fn import_units(
    ledger: &mut LedgerAppender<'_>,
    geo: &RwLock<GeoState>,
    actor: &Actor,
    units: Vec<NewUnit>,
) -> StorageResult<Outcome> {
    let mut problems: Vec<FieldProblem> = Vec::new();
    let mut first_index: HashMap<&str, &NewUnit> = HashMap::new();
    for unit in &units {
        if first_index.contains_key(unit.code.as_str()) {
            problems.push(FieldProblem::new(
                format!("{}/properties/code", unit.pointer),
                format!("duplicate code {} in this import", unit.code),
            ));
        } else {
            first_index.insert(unit.code.as_str(), unit);
        }
    }
    let existing: Vec<String> = units::table
        .filter(units::code.eq_any(units.iter().map(|u| u.code.as_str())))
        .select(units::code)
        .load(ledger.conn)?;
    for unit in units
        .iter()
        .filter(|u| existing.iter().any(|c| c == u.code.as_str()))
    {
        problems.push(FieldProblem::new(
            format!("{}/properties/code", unit.pointer),
            format!("unit {} already exists", unit.code),
        ));
    }

    // Each unit's path, resolved parents first, from the import itself or from storage.
    let mut paths: HashMap<String, (UnitPath, UnitLevel)> = HashMap::new();
    let mut order: Vec<&NewUnit> = Vec::with_capacity(units.len());
    let mut pending: Vec<&NewUnit> = units.iter().collect();
    loop {
        let before = pending.len();
        let mut still_pending = Vec::new();
        for unit in pending {
            // Outer None: the parent is in this import and not placed yet; inner None: no parent.
            let parent = match &unit.parent_code {
                None => Some(None),
                Some(parent) => match paths.get(parent.as_str()) {
                    Some((path, level)) => Some(Some((path.clone(), *level))),
                    None if first_index.contains_key(parent.as_str()) => None,
                    // Stored (or unknown, which resolve_parent reports): decided now.
                    None => Some(find_unit(ledger.conn, parent.as_str())?.and_then(|row| {
                        let level = UnitLevel::parse(&row.level).ok();
                        level.map(|level| (UnitPath::from_stored(row.path), level))
                    })),
                },
            };
            match parent {
                None => still_pending.push(unit),
                Some(parent) => {
                    match resolve_parent(unit, parent, actor) {
                        Ok(path) => {
                            paths.insert(unit.code.as_str().to_owned(), (path, unit.level));
                        }
                        Err(problem) => problems.push(problem),
                    }
                    order.push(unit);
                }
            }
        }
        pending = still_pending;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for unit in pending {
        problems.push(FieldProblem::new(
            format!("{}/properties/parent_code", unit.pointer),
            "parent is not resolvable (it is part of a cycle or itself invalid)",
        ));
    }
    if !problems.is_empty() {
        problems.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        return Err(StorageError::Invalid(problems));
    }

    let mut imported = Vec::with_capacity(order.len());
    let mut shapes = Vec::new();
    for unit in order {
        let Some((path, _)) = paths.get(unit.code.as_str()) else {
            continue;
        };
        let boundary = unit.boundary.as_ref().map(Boundary::to_geojson);
        let payload = json!({
            "code": unit.code.as_str(),
            "name": unit.name.as_str(),
            "level": unit.level.as_str(),
            "parent_code": unit.parent_code.as_ref().map(UnitCode::as_str),
            "boundary": boundary,
            "tolerance_m": unit.tolerance.get(),
        });
        let appended =
            ledger.append_admin("unit.create", actor, Some(unit.code.as_str()), &payload)?;
        diesel::insert_into(units::table)
            .values(UnitRow {
                code: unit.code.as_str().to_owned(),
                name: unit.name.as_str().to_owned(),
                level: unit.level.as_str().to_owned(),
                parent_code: unit.parent_code.as_ref().map(|c| c.as_str().to_owned()),
                path: path.as_str().to_owned(),
                boundary: boundary.map(|b| b.to_string()),
                tolerance_m: unit.tolerance.get(),
                seq: appended.seq,
            })
            .execute(ledger.conn)?;
        if let Some(boundary) = &unit.boundary {
            shapes.push((
                unit.code.as_str().to_owned(),
                unit.level.depth(),
                boundary.clone(),
                unit.tolerance,
            ));
        }
        imported.push(ImportedUnit {
            code: unit.code.as_str().to_owned(),
            seq: appended.seq,
        });
    }
    // Last, after every fallible step of this request: the in-memory index follows the rows.
    let mut state = geo
        .write()
        .map_err(|_| StorageError::Unavailable("unit index lock poisoned".into()))?;
    for (code, depth, boundary, tolerance) in shapes {
        state.index.insert(&code, depth, &boundary);
        state.tolerance.insert(code, tolerance);
    }
    Ok(Outcome::Units(imported))
}

/// Checks a unit against its parent and the actor's scope and gives the unit's path.
fn resolve_parent(
    unit: &NewUnit,
    parent: Option<(UnitPath, UnitLevel)>,
    actor: &Actor,
) -> Result<UnitPath, FieldProblem> {
    let parent_pointer = format!("{}/properties/parent_code", unit.pointer);
    match (&unit.parent_code, parent) {
        (Some(code), None) => Err(FieldProblem::new(
            parent_pointer,
            format!("unknown parent unit {code}"),
        )),
        (_, Some((parent_path, parent_level))) => {
            if parent_level.child() != Some(unit.level) {
                return Err(FieldProblem::new(
                    format!("{}/properties/level", unit.pointer),
                    format!(
                        "a child of a {} must be a {}",
                        parent_level.as_str(),
                        parent_level.child().map_or("(nothing)", UnitLevel::as_str)
                    ),
                ));
            }
            if !actor.scope.contains(&parent_path) {
                return Err(FieldProblem::new(
                    parent_pointer,
                    "parent is outside your scope",
                ));
            }
            Ok(parent_path.child(&unit.code))
        }
        (None, None) => {
            if !actor.scope.is_whole_tree() {
                return Err(FieldProblem::new(
                    parent_pointer,
                    "only an admin of the whole tree may import a new root unit",
                ));
            }
            Ok(UnitPath::root_of(&unit.code))
        }
    }
}

/// The unit a change targets, which must exist and lie within the actor's scope.
pub(crate) fn unit_in_scope(
    conn: &mut DbConnection,
    actor: &Actor,
    code: &UnitCode,
    pointer: &str,
) -> StorageResult<UnitRow> {
    let row = find_unit(conn, code.as_str())?
        .ok_or_else(|| StorageError::invalid(pointer, format!("unknown unit {code}")))?;
    actor.require_reach(&row.path, || format!("unit {code}"))?;
    Ok(row)
}

fn create_person(
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    person: NewPerson,
) -> StorageResult<PersonView> {
    // Scope first, so that an admin cannot probe usernames outside their units.
    let unit_path = match &person.unit_code {
        Some(code) => {
            UnitPath::from_stored(unit_in_scope(ledger.conn, actor, code, "/unit_code")?.path)
        }
        None => UnitPath::whole_tree(),
    };
    let taken: i64 = people::table
        .filter(people::username.eq(person.username.as_str()))
        .count()
        .get_result(ledger.conn)?;
    if taken > 0 {
        return Err(StorageError::Conflict(format!(
            "username {} is taken",
            person.username.as_str()
        )));
    }
    let id = PersonId::new();
    let payload = json!({
        "id": id.to_string(),
        "username": person.username.as_str(),
        "display_name": person.display_name.as_str(),
        "role": person.role.as_str(),
        "unit_code": person.unit_code.as_ref().map(UnitCode::as_str),
        "phone": person.phone.as_ref().map(Phone::as_str),
    });
    let unit = person.unit_code.as_ref().map(UnitCode::as_str);
    let appended = ledger.append_admin("person.create", actor, unit, &payload)?;
    let row = PersonRow {
        id: id.to_string(),
        username: person.username.as_str().to_owned(),
        password_hash: person.password_hash,
        display_name: person.display_name.as_str().to_owned(),
        role: person.role.as_str().to_owned(),
        unit_code: person.unit_code.map(|c| c.as_str().to_owned()),
        unit_path: unit_path.as_str().to_owned(),
        phone: person.phone.map(|p| p.as_str().to_owned()),
        seq: appended.seq,
    };
    diesel::insert_into(people::table)
        .values(&row)
        .execute(ledger.conn)?;
    Ok(row.into())
}

/// A person who must exist and lie within the actor's scope.
pub(crate) fn person_in_scope(
    conn: &mut DbConnection,
    actor: &Actor,
    id: PersonId,
    pointer: &str,
) -> StorageResult<PersonRow> {
    let row = crate::reads::person(conn, &id.to_string())?
        .ok_or_else(|| StorageError::invalid(pointer, format!("unknown person {id}")))?;
    actor.require_reach(&row.unit_path, || format!("person {id}"))?;
    Ok(row)
}

fn create_assignment(
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    assignment: NewAssignment,
) -> StorageResult<AssignmentView> {
    person_in_scope(ledger.conn, actor, assignment.person_id, "/person_id")?;
    let unit = unit_in_scope(ledger.conn, actor, &assignment.unit_code, "/unit_code")?;
    if unit.level != UnitLevel::Village.as_str() {
        return Err(StorageError::invalid(
            "/unit_code",
            format!(
                "assignments are to villages; {} is a {}",
                unit.code, unit.level
            ),
        ));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let valid_from = format_date(assignment.period.from());
    let valid_to = assignment.period.to().map(format_date);
    let payload = json!({
        "id": id,
        "person_id": assignment.person_id.to_string(),
        "unit_code": unit.code,
        "role": assignment.role.as_str(),
        "valid_from": valid_from,
        "valid_to": valid_to,
    });
    let appended = ledger.append_admin("assignment.create", actor, Some(&unit.code), &payload)?;
    let row = AssignmentRow {
        id,
        person_id: assignment.person_id.to_string(),
        unit_code: unit.code,
        role: assignment.role.as_str().to_owned(),
        valid_from,
        valid_to,
        seq: appended.seq,
    };
    diesel::insert_into(assignments::table)
        .values(&row)
        .execute(ledger.conn)?;
    Ok(row.into())
}

fn create_household(
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    household: NewHousehold,
) -> StorageResult<HouseholdView> {
    let unit = unit_in_scope(ledger.conn, actor, &household.unit_code, "/unit_code")?;
    if unit.level != UnitLevel::Village.as_str() && unit.level != UnitLevel::Group.as_str() {
        return Err(StorageError::invalid(
            "/unit_code",
            format!(
                "households belong to a village or group; {} is a {}",
                unit.code, unit.level
            ),
        ));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let payload = json!({
        "id": id,
        "unit_code": unit.code,
        "head_name": household.head_name,
        "members": household.members,
        "location": {"lon": household.location.lon(), "lat": household.location.lat()},
    });
    let appended = ledger.append_admin("household.create", actor, Some(&unit.code), &payload)?;
    let row = HouseholdRow {
        id,
        unit_code: unit.code,
        head_name: household.head_name,
        members: i32::from(household.members),
        lon: household.location.lon(),
        lat: household.location.lat(),
        seq: appended.seq,
    };
    diesel::insert_into(households::table)
        .values(&row)
        .execute(ledger.conn)?;
    Ok(row.into())
}
