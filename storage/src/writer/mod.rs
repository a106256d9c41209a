//! The single ledger writer.
//!
//! One thread owns the only writing connection. Requests queue to it; it takes whatever has
//! queued and commits it as one group: judged in memory first (see [`state`]), then written
//! with one multi-row statement per table in one transaction, one durable commit for the
//! group. Sequence numbers are gap-free (a number is only used by an entry that commits), and
//! every request is answered only after its group has committed. The queue is bounded: when it
//! is full a request is refused at once (503), never held in unbounded memory.
//!
//! Layout: [`commit`] runs the thread (group commit, the one-by-one fallback, checkpoints);
//! [`appender`] makes ledger entries; [`rows`] writes a group's rows; [`state`] is what judging
//! reads; [`records`], [`roster`], [`decisions`], [`policy`] and [`pairings`] are the families of
//! writes. Reads never go through here.

mod alerts;
mod appender;
mod audits;
mod commit;
mod decisions;
mod lifecycle;
mod pairings;
mod policy;
mod purge;
mod records;
mod roster;
mod roster_import;
mod rows;
mod spot_checks;
mod state;
mod supervision;
mod webhooks;

pub use alerts::{AlertAck, ProposedItem};
pub use audits::ReadAudit;
pub use decisions::Decision;
pub use lifecycle::{AccountChange, EndPeriod, RevokedToken};
pub use pairings::NewPairing;
pub use purge::{ranges_of, PurgeRequest};
use records::Prepared;
pub use records::{BatchItem, RecordOutcome, Submitter};
pub use roster::{NewAssignment, NewHousehold, NewPerson, NewUnit};
pub use roster_import::RosterImport;
pub use spot_checks::{ChallengeAnswer, NewDraw, NewOutcome, NewVerification};
pub use state::{DUTY_DAYS, FIX_WINDOW};
pub use supervision::{BulletinDraft, EscalationActionDraft, ItemDecisionDraft};
pub use webhooks::{webhook_view, Attempt, NewWebhook};

use crate::clock::Clock;
use crate::error::{StorageError, StorageResult};
use crate::merkle::StoredCheckpoint;
use crate::models::{AssignmentView, HouseholdView, ImportedUnit, PersonView};
use fieldtrail_domain::note::NoteSigner;
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::policy::PolicyOverrides;
use fieldtrail_domain::record::DeviceId;
use fieldtrail_domain::unit::{UnitCode, UnitPath};
use serde_json::Value;
use state::{JudgeState, PersonInfo, UnitInfo};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most requests committed in one group.
pub const MAX_GROUP: usize = 512;
/// Most records committed in one group (a batch counts each of its records).
pub const MAX_GROUP_RECORDS: usize = 8192;
/// Requests that may wait for the writer before callers are told to back off.
const QUEUE_DEPTH: usize = 8192;
/// Records that may wait for the writer (batches carry up to 500 each).
const QUEUED_RECORDS: usize = 65_536;

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

    /// Refuses a change to something that lives at `path` outside the actor's subtree.
    pub(crate) fn require_reach(
        &self,
        path: &UnitPath,
        what: impl FnOnce() -> String,
    ) -> StorageResult<()> {
        if self.scope.contains(path) {
            Ok(())
        } else {
            Err(StorageError::OutOfScope(what()))
        }
    }

    /// The unit a change targets, which must exist and lie within the actor's scope.
    pub(crate) fn unit_in<'s>(
        &self,
        state: &'s JudgeState,
        code: &UnitCode,
        pointer: &str,
    ) -> StorageResult<&'s UnitInfo> {
        let unit = state
            .unit(code.as_str())
            .ok_or_else(|| StorageError::invalid(pointer, format!("unknown unit {code}")))?;
        self.require_reach(&unit.path, || format!("unit {code}"))?;
        Ok(unit)
    }

    /// A person a change targets, who must exist and lie within the actor's scope.
    pub(crate) fn person_in<'s>(
        &self,
        state: &'s JudgeState,
        id: PersonId,
        pointer: &str,
    ) -> StorageResult<&'s PersonInfo> {
        let person = state
            .person(&id)
            .ok_or_else(|| StorageError::invalid(pointer, format!("unknown person {id}")))?;
        self.require_reach(&person.unit_path, || format!("person {id}"))?;
        Ok(person)
    }
}

/// The log's identity: the checkpoint origin line and the key that signs checkpoints.
pub struct LogSigner {
    pub origin: String,
    pub signer: NoteSigner,
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
    AppendRecord(Submitter, Box<Prepared>),
    AppendBatch(Submitter, Vec<Prepared>),
    Decide(Actor, Decision),
    SetPolicy(Actor, UnitCode, PolicyOverrides),
    BindDevice(Actor, PersonId, DeviceId),
    CreatePairing(Actor, NewPairing),
    Draw(Actor, NewDraw),
    AnswerChallenge(Submitter, Box<ChallengeAnswer>),
    ExpireChallenges,
    RecordOutcome(Actor, NewOutcome),
    VerifyHousehold(Actor, NewVerification),
    DecideItem(Actor, Box<ItemDecisionDraft>),
    EscalationAction(Actor, EscalationActionDraft),
    PublishBulletin(Actor, Box<BulletinDraft>),
    AckAlert(Actor, AlertAck),
    AuditRead(Actor, ReadAudit),
    CreateWebhook(Actor, Box<NewWebhook>),
    DeleteWebhook(Actor, String),
    WebhookAttempts(Vec<Attempt>),
    Purge(Actor, PurgeRequest),
    RaiseProposed(Vec<ProposedItem>),
    EndAssignment(Actor, EndPeriod),
    EndPairing(Actor, EndPeriod),
    ChangeAccount(Actor, PersonId, AccountChange),
    RevokeToken(RevokedToken),
    ImportRoster(Actor, Box<RosterImport>),
    Probe,
}

impl Request {
    /// Whether committing it writes: a checkpoint that is already signed and the deadline watch
    /// with nothing due commit empty transactions, which succeed even on a read-only disk.
    fn writes(&self) -> bool {
        !matches!(self, Request::Checkpoint | Request::ExpireChallenges)
    }

    /// How many records the request carries, for the bounds on groups and the queue.
    fn records(&self) -> usize {
        match self {
            Request::AppendBatch(_, items) => items.len().max(1),
            _ => 1,
        }
    }
}

struct Command {
    request: Request,
    reply: oneshot::Sender<StorageResult<Outcome>>,
}

/// What the writer thread takes from its queue.
// The queue held Commands by value before there was a Stop; boxing them to shrink the enum
// would cost an allocation per request for a message sent once per process.
#[allow(clippy::large_enum_variant)]
enum Message {
    Command(Command),
    /// Answer what is queued before it, close the writing connection, end the thread; the
    /// sender learns when that is done.
    Stop(oneshot::Sender<()>),
}

/// The handle requests go through; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Message>,
    /// Records queued or being committed.
    queued: Arc<AtomicUsize>,
    /// Why the last group could not be committed, until one is.
    fault: Fault,
}

/// The writer's last failure to commit, shared with /healthz; cleared by the next commit.
#[derive(Clone, Default)]
pub(crate) struct Fault(Arc<std::sync::Mutex<Option<String>>>);

impl Fault {
    pub(crate) fn set(&self, why: String) {
        if let Ok(mut fault) = self.0.lock() {
            *fault = Some(why);
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut fault) = self.0.lock() {
            *fault = None;
        }
    }

    fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|fault| fault.clone())
    }
}

impl Writer {
    /// Opens the writing connection and starts the writer thread. Migrations must have run.
    pub fn start(url: &str, log: LogSigner, clock: Clock) -> StorageResult<Writer> {
        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
        let queued = Arc::new(AtomicUsize::new(0));
        let fault = Fault::default();
        commit::spawn(
            url,
            log,
            clock,
            receiver,
            Arc::clone(&queued),
            fault.clone(),
        )?;
        Ok(Writer {
            queue,
            queued,
            fault,
        })
    }

    async fn submit(&self, request: Request) -> StorageResult<Outcome> {
        let records = request.records();
        let before = self.queued.fetch_add(records, Ordering::AcqRel);
        if before > 0 && before + records > QUEUED_RECORDS {
            self.queued.fetch_sub(records, Ordering::AcqRel);
            return Err(StorageError::Unavailable(
                "the ledger writer is saturated".into(),
            ));
        }
        let (reply, answer) = oneshot::channel();
        if let Err(err) = self
            .queue
            .try_send(Message::Command(Command { request, reply }))
        {
            self.queued.fetch_sub(records, Ordering::AcqRel);
            return Err(StorageError::Unavailable(match err {
                mpsc::error::TrySendError::Full(_) => "the ledger writer is saturated".into(),
                mpsc::error::TrySendError::Closed(_) => "the ledger writer has stopped".into(),
            }));
        }
        answer.await.map_err(|_| {
            StorageError::Unavailable("the ledger writer dropped the request".into())
        })?
    }

    /// Stops the writer: what was queued before is answered, later requests are refused as
    /// "stopped", and the writing connection is closed before this returns, so that a process
    /// exiting after it holds no connection of the writer's (libpq's cleanup at exit raced with
    /// one still open). Waits for the queue to have room, as a request would not.
    pub async fn stop(&self) {
        let (reply, stopped) = oneshot::channel();
        if self.queue.send(Message::Stop(reply)).await.is_ok() {
            let _ = stopped.await;
        }
    }

    /// Signs a checkpoint of the current tree unless the latest one already covers it.
    pub async fn checkpoint(&self) -> StorageResult<StoredCheckpoint> {
        match self.submit(Request::Checkpoint).await? {
            Outcome::Checkpoint(checkpoint) => Ok(checkpoint),
            _ => Err(unexpected()),
        }
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
        submission: fieldtrail_domain::record::RecordSubmission,
    ) -> StorageResult<RecordOutcome> {
        // Prepared here, on the caller's thread: the writer thread is the one that is busy.
        let record = Box::new(Prepared::new(submission, String::new(), 0)?);
        match self
            .submit(Request::AppendRecord(submitter, record))
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
        let items = items
            .into_iter()
            .map(|item| Prepared::new(item.submission, item.pointer, item.index))
            .collect::<StorageResult<Vec<_>>>()?;
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

    /// A committed draw (docs/spot-checks.md); answers the draw's view.
    pub async fn draw(&self, actor: Actor, draw: NewDraw) -> StorageResult<Value> {
        self.submit_json(Request::Draw(actor, draw)).await
    }

    pub async fn answer_challenge(
        &self,
        submitter: Submitter,
        answer: ChallengeAnswer,
    ) -> StorageResult<Value> {
        self.submit_json(Request::AnswerChallenge(submitter, Box::new(answer)))
            .await
    }

    /// Decides `missed` for every challenge whose deadline has passed.
    pub async fn expire_challenges(&self) -> StorageResult<Value> {
        self.submit_json(Request::ExpireChallenges).await
    }

    pub async fn record_outcome(&self, actor: Actor, outcome: NewOutcome) -> StorageResult<Value> {
        self.submit_json(Request::RecordOutcome(actor, outcome))
            .await
    }

    pub async fn verify_household(
        &self,
        actor: Actor,
        verification: NewVerification,
    ) -> StorageResult<Value> {
        self.submit_json(Request::VerifyHousehold(actor, verification))
            .await
    }

    /// A decision on a negative-list item (docs/supervision.md).
    pub async fn decide_item(
        &self,
        actor: Actor,
        draft: ItemDecisionDraft,
    ) -> StorageResult<Value> {
        self.submit_json(Request::DecideItem(actor, Box::new(draft)))
            .await
    }

    pub async fn escalation_action(
        &self,
        actor: Actor,
        draft: EscalationActionDraft,
    ) -> StorageResult<Value> {
        self.submit_json(Request::EscalationAction(actor, draft))
            .await
    }

    /// Freezes a bulletin; `created` in the answer is false when the latest version is the same.
    pub async fn publish_bulletin(
        &self,
        actor: Actor,
        draft: BulletinDraft,
    ) -> StorageResult<Value> {
        self.submit_json(Request::PublishBulletin(actor, Box::new(draft)))
            .await
    }

    /// Acknowledges an open alert within the actor's scope.
    pub async fn ack_alert(&self, actor: Actor, ack: AlertAck) -> StorageResult<Value> {
        self.submit_json(Request::AckAlert(actor, ack)).await
    }

    /// Puts a read on record; answers once it is committed.
    pub async fn audit_read(&self, actor: Actor, read: ReadAudit) -> StorageResult<Value> {
        self.submit_json(Request::AuditRead(actor, read)).await
    }

    /// Registers a webhook; the answer carries its secret, the only time it is shown.
    pub async fn create_webhook(&self, actor: Actor, hook: NewWebhook) -> StorageResult<Value> {
        self.submit_json(Request::CreateWebhook(actor, Box::new(hook)))
            .await
    }

    pub async fn delete_webhook(&self, actor: Actor, id: String) -> StorageResult<Value> {
        self.submit_json(Request::DeleteWebhook(actor, id)).await
    }

    /// Keeps the delivery log of the sender's attempts.
    pub async fn webhook_attempts(&self, attempts: Vec<Attempt>) -> StorageResult<Value> {
        self.submit_json(Request::WebhookAttempts(attempts)).await
    }

    /// Applies retention (or, dry, says what it would do); answers with what was purged.
    pub async fn purge(&self, actor: Actor, request: PurgeRequest) -> StorageResult<Value> {
        self.submit_json(Request::Purge(actor, request)).await
    }

    /// Alerts for negative-list items proposed and not alerted yet; answers with their ids.
    pub async fn raise_proposed(&self, items: Vec<ProposedItem>) -> StorageResult<Value> {
        self.submit_json(Request::RaiseProposed(items)).await
    }

    /// Ends an assignment on `valid_to`; answers the assignment as it is afterwards.
    pub async fn end_assignment(&self, actor: Actor, end: EndPeriod) -> StorageResult<Value> {
        self.submit_json(Request::EndAssignment(actor, end)).await
    }

    /// Ends a pairing on `valid_to`; answers the pairing as it is afterwards.
    pub async fn end_pairing(&self, actor: Actor, end: EndPeriod) -> StorageResult<Value> {
        self.submit_json(Request::EndPairing(actor, end)).await
    }

    /// Deactivates, reactivates or changes the password of a person; answers the person.
    pub async fn change_account(
        &self,
        actor: Actor,
        person: PersonId,
        change: AccountChange,
    ) -> StorageResult<PersonView> {
        match self
            .submit(Request::ChangeAccount(actor, person, change))
            .await?
        {
            Outcome::Person(view) => Ok(view),
            _ => Err(unexpected()),
        }
    }

    /// Refuses a token from now on (logout).
    pub async fn revoke_token(&self, token: RevokedToken) -> StorageResult<Value> {
        self.submit_json(Request::RevokeToken(token)).await
    }

    /// Imports a roster sheet whole or not at all (docs/roster.md); answers the counts.
    pub async fn import_roster(&self, actor: Actor, import: RosterImport) -> StorageResult<Value> {
        self.submit_json(Request::ImportRoster(actor, Box::new(import)))
            .await
    }

    /// Why the last group could not be committed, if none has been since.
    pub fn fault(&self) -> Option<String> {
        self.fault.get()
    }

    /// A durable write of nothing that matters, to learn whether the database takes writes.
    pub async fn probe(&self) -> StorageResult<Value> {
        self.submit_json(Request::Probe).await
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
