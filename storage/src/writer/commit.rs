//! The writer thread. It takes whatever has queued (up to [`MAX_GROUP`] requests and
//! [`MAX_GROUP_RECORDS`] records) as one group and:
//!
//! 1. reads what the group's records may refer to, one query per need ([`JudgeState::prefetch`]);
//! 2. judges every request in memory, in order, each seeing what the earlier ones taught;
//! 3. writes the group's rows with one multi-row statement per table ([`GroupRows::write`]);
//! 4. commits once — the one durable write of the group — and only then answers.
//!
//! Admin changes (rare) also read the database; before one runs, the rows judged so far are
//! written, so it sees the group as it stands, and it runs in a savepoint of its own so that its
//! failure leaves no trace. Records never need a savepoint: judging them is pure.
//!
//! If the group's write fails, nothing of it stays: the transaction is rolled back, the tree and
//! the judging state are reloaded, and the requests are retried one by one, each in a savepoint,
//! so that only the bad one gets the error. If the commit itself fails, every request of the
//! group is answered 503 and none is stored.

use super::appender::LedgerAppender;
use super::records::{self, Prepared, RecordOutcome, Submitter};
use super::rows::GroupRows;
use super::state::{JudgeState, Learned};
use super::{
    alerts, audits, decisions, lifecycle, pairings, policy, purge, roster, roster_import,
    spot_checks, supervision, webhooks,
};
use super::{Actor, Command, LogSigner, Message, Outcome, Request, MAX_GROUP, MAX_GROUP_RECORDS};
use crate::clock::Clock;
use crate::db::{establish, DbConnection};
use crate::error::{StorageError, StorageResult};
use crate::merkle::{self as tree_store, ledger_size, StoredCheckpoint};
use crate::schema::{health_probe, ledger};
use diesel::connection::{Connection, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use fieldtrail_domain::canonical::{format_utc_micros, unix_micros};
use fieldtrail_domain::merkle::CompactRange;
use fieldtrail_domain::note::Checkpoint;
use fieldtrail_domain::record::RecordSubmission;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::mpsc;

type Manager = <DbConnection as Connection>::TransactionManager;

/// Opens the writing connection, loads the tree and the judging state, and starts the thread.
pub(super) fn spawn(
    url: &str,
    log: LogSigner,
    clock: Clock,
    receiver: mpsc::Receiver<Message>,
    queued: Arc<AtomicUsize>,
    fault: super::Fault,
) -> StorageResult<()> {
    let mut conn = connect(url)?;
    let tree = catch_up_tree(&mut conn)?;
    let state = JudgeState::load(&mut conn)?;
    let checkpointer = match conn {
        DbConnection::Sqlite(_) => Some(crate::wal::Checkpointer::start(url)?),
        DbConnection::Postgres(_) => None,
    };
    let thread = WriterThread {
        _checkpointer: checkpointer,
        url: url.to_owned(),
        conn,
        tree,
        state,
        stale: false,
        log,
        clock,
        rows: GroupRows::default(),
        queued,
        fault,
    };
    std::thread::Builder::new()
        .name("ledger-writer".into())
        .spawn(move || thread.run(receiver))
        .map_err(|err| StorageError::Unavailable(err.to_string()))?;
    Ok(())
}

/// The writing connection, set up for durability. On PostgreSQL it also takes the lock that
/// keeps a second fieldtrail from handing out the same sequence numbers.
fn connect(url: &str) -> StorageResult<DbConnection> {
    let mut conn = establish(url)?;
    if let DbConnection::Postgres(_) = conn {
        let locked: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "pg_try_advisory_lock(7283361)",
        ))
        .get_result(&mut conn)?;
        if !locked {
            return Err(StorageError::Unavailable(
                "another fieldtrail instance is writing to this database".into(),
            ));
        }
        // Whatever the server's default: a group is acknowledged only once its commit is on disk.
        // The writer's queries are lookups by key: parallel workers would only add their start.
        conn.batch_execute("SET synchronous_commit = on; SET max_parallel_workers_per_gather = 0")?;
    } else {
        // The WAL checkpointer thread does the checkpoints (see crate::wal); the writer's own
        // autocheckpoint only bounds the WAL should it fall behind. No journal_size_limit: the
        // WAL file is reused from its start after each checkpoint, and truncating it each time
        // made the writer stall on giving the blocks back and allocating them again.
        // A group of thousands of records dirties many pages; a cache that holds them all saves
        // spilling them to the WAL and reading them back before the commit.
        conn.batch_execute(&format!(
            "PRAGMA wal_autocheckpoint = {}; PRAGMA cache_size = -32768;",
            crate::wal::WRITER_AUTOCHECKPOINT_PAGES
        ))?;
    }
    Ok(conn)
}

/// Brings the stored tree level with the ledger (needed once, for a ledger written before the
/// tree existed; afterwards entries and nodes commit together) and returns the frontier.
fn catch_up_tree(conn: &mut DbConnection) -> StorageResult<CompactRange> {
    let ledger_size = u64::try_from(ledger_size(conn)?).unwrap_or(0);
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

/// The instant a group is received at, and the same as the answers show it.
struct Now {
    at: OffsetDateTime,
    text: String,
}

impl Now {
    fn new(clock: &Clock) -> Self {
        let at = clock.now();
        Now {
            at,
            text: format_utc_micros(at),
        }
    }
}

/// Why a group did not commit.
enum Failure {
    /// Writing its rows failed: retry its requests one by one.
    Write(StorageError),
    /// Beginning or committing the transaction failed: answer 503, store nothing.
    Commit(StorageError),
}

/// How the requests of a group are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// All rows at the end, one statement per table.
    Group,
    /// Each request (each batch item) written in a savepoint of its own.
    OneByOne,
}

struct WriterThread {
    /// Dropped when the thread ends: stops the WAL checkpointer and waits for it.
    _checkpointer: Option<crate::wal::Checkpointer>,
    url: String,
    conn: DbConnection,
    /// The frontier of the tree; its end is the last seq handed out.
    tree: CompactRange,
    state: JudgeState,
    /// The tree and state could not be reloaded after a failure: try again before the next group.
    stale: bool,
    log: LogSigner,
    clock: Clock,
    rows: GroupRows,
    queued: Arc<AtomicUsize>,
    fault: super::Fault,
}

type Answer = StorageResult<Outcome>;

impl WriterThread {
    fn run(mut self, mut receiver: mpsc::Receiver<Message>) {
        let mut group: Vec<Command> = Vec::with_capacity(MAX_GROUP);
        let mut carried: Option<Message> = None;
        let stopped = loop {
            let first = match carried.take() {
                Some(Message::Command(command)) => command,
                Some(Message::Stop(reply)) => break Some(reply),
                None => match receiver.blocking_recv() {
                    Some(Message::Command(command)) => command,
                    Some(Message::Stop(reply)) => break Some(reply),
                    None => break None,
                },
            };
            let mut records = first.request.records();
            group.push(first);
            while group.len() < MAX_GROUP {
                match receiver.try_recv() {
                    Ok(Message::Command(next))
                        if records + next.request.records() <= MAX_GROUP_RECORDS =>
                    {
                        records += next.request.records();
                        group.push(next);
                    }
                    Ok(next) => {
                        carried = Some(next);
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.commit_group(&mut group);
            self.queued.fetch_sub(records, Ordering::AcqRel);
        };
        // Whatever arrived after the stop is refused; nothing of it was written. A second stop
        // is told with the first, once the connection is closed.
        let mut stoppers: Vec<_> = stopped.into_iter().collect();
        receiver.close();
        while let Ok(message) = receiver.try_recv() {
            match message {
                Message::Command(command) => {
                    self.queued
                        .fetch_sub(command.request.records(), Ordering::AcqRel);
                    let _ = command.reply.send(Err(StorageError::Unavailable(
                        "the ledger writer has stopped".into(),
                    )));
                }
                Message::Stop(reply) => stoppers.push(reply),
            }
        }
        // Closes the writing connection and ends the WAL checkpointer before anyone is told.
        drop(self);
        tracing::info!("ledger writer stopped");
        for reply in stoppers {
            let _ = reply.send(());
        }
    }

    fn commit_group(&mut self, group: &mut Vec<Command>) {
        let (requests, replies): (Vec<Request>, Vec<_>) = group
            .drain(..)
            .map(|command| (command.request, command.reply))
            .unzip();
        let started = std::time::Instant::now();
        let answers = self.answers(&requests);
        tracing::debug!(
            requests = requests.len(),
            micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "group committed"
        );
        for (reply, answer) in replies.into_iter().zip(answers) {
            // A caller that gave up waiting is no error: its write is committed all the same.
            let _ = reply.send(answer);
        }
    }

    /// The group's answers; what happened to it is also kept for /healthz.
    fn answers(&mut self, requests: &[Request]) -> Vec<Answer> {
        let answers = self.group_answers(requests);
        let failed = answers.iter().find_map(|answer| match answer {
            Err(StorageError::Unavailable(why)) if why.starts_with(NOT_COMMITTED) => {
                Some(why.clone())
            }
            _ => None,
        });
        match failed {
            Some(why) => self.fault.set(why),
            // Only a group that wrote proves the database takes writes again.
            None if requests.iter().any(Request::writes) => self.fault.clear(),
            None => {}
        }
        answers
    }

    fn group_answers(&mut self, requests: &[Request]) -> Vec<Answer> {
        if self.stale {
            if let Err(err) = self.reload() {
                return unavailable(requests.len(), &err);
            }
        }
        let now = Now::new(&self.clock);
        if requests
            .iter()
            .all(|r| matches!(r, Request::ExpireChallenges))
            && !self.state.has_due_challenges(unix_micros(now.at))
        {
            // The deadline watch asks every second; most of the time nothing is due.
            return requests
                .iter()
                .map(|_| Ok(Outcome::Json(serde_json::json!({"missed": 0}))))
                .collect();
        }
        match self.grouped(requests, &now) {
            Ok(answers) => {
                self.state.settle();
                answers
            }
            Err(Failure::Write(err)) => {
                tracing::warn!(error = %err, requests = requests.len(), "writing a group failed; retrying its requests one by one");
                if let Err(err) = self.reload() {
                    return unavailable(requests.len(), &err);
                }
                match self.one_by_one(requests, &now) {
                    Ok(answers) => {
                        self.state.settle();
                        answers
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "committing a group one by one failed");
                        let _ = self.reload();
                        unavailable(requests.len(), &err)
                    }
                }
            }
            Err(Failure::Commit(err)) => {
                tracing::error!(error = %err, requests = requests.len(), "committing a group failed");
                let _ = self.reload();
                unavailable(requests.len(), &err)
            }
        }
    }

    /// The tree and the judging state as the database holds them (after a failed group: without
    /// anything of it). Reconnects if the connection itself is what failed.
    fn reload(&mut self) -> StorageResult<()> {
        self.rows.clear();
        let loaded = catch_up_tree(&mut self.conn)
            .and_then(|tree| Ok((tree, JudgeState::load(&mut self.conn)?)));
        let loaded = match loaded {
            Ok(loaded) => Ok(loaded),
            Err(err) => {
                // While the database stays away every group lands here; one line says so.
                if self.stale {
                    tracing::debug!(error = %err, "reloading the writer's state failed again");
                } else {
                    tracing::warn!(error = %err, "reloading the writer's state failed; reconnecting");
                }
                connect(&self.url).and_then(|mut conn| {
                    let tree = catch_up_tree(&mut conn)?;
                    let state = JudgeState::load(&mut conn)?;
                    self.conn = conn;
                    Ok((tree, state))
                })
            }
        };
        match loaded {
            Ok((tree, state)) => {
                if self.stale {
                    tracing::info!("the writer's state is reloaded; writing again");
                }
                self.tree = tree;
                self.state = state;
                self.stale = false;
                Ok(())
            }
            Err(err) => {
                self.stale = true;
                Err(err)
            }
        }
    }

    /// The fast path: one transaction, rows written together at the end.
    fn grouped(&mut self, requests: &[Request], now: &Now) -> Result<Vec<Answer>, Failure> {
        Manager::begin_transaction(&mut self.conn).map_err(|err| Failure::Commit(err.into()))?;
        let started = std::time::Instant::now();
        let result = self.apply_all(requests, now, Mode::Group);
        let judged = started.elapsed();
        let result = result.and_then(|answers| {
            self.rows
                .write(&mut self.conn, self.state.webhooks())
                .map_err(Failure::Write)?;
            Ok(answers)
        });
        let written = started.elapsed();
        match result {
            Ok(answers) => {
                Manager::commit_transaction(&mut self.conn)
                    .map_err(|err| Failure::Commit(err.into()))?;
                tracing::trace!(
                    judge_us = judged.as_micros() as u64,
                    write_us = (written - judged).as_micros() as u64,
                    commit_us = (started.elapsed() - written).as_micros() as u64,
                    "group phases"
                );
                Ok(answers)
            }
            Err(failure) => {
                self.rows.clear();
                if let Err(err) = Manager::rollback_transaction(&mut self.conn) {
                    tracing::warn!(error = %err, "rolling back a failed group");
                }
                Err(failure)
            }
        }
    }

    /// The fallback: the same requests in one transaction, each in a savepoint.
    fn one_by_one(&mut self, requests: &[Request], now: &Now) -> StorageResult<Vec<Answer>> {
        Manager::begin_transaction(&mut self.conn)?;
        let result = self.apply_all(requests, now, Mode::OneByOne);
        match result {
            Ok(answers) => {
                Manager::commit_transaction(&mut self.conn)?;
                Ok(answers)
            }
            Err(Failure::Write(err) | Failure::Commit(err)) => {
                self.rows.clear();
                let _ = Manager::rollback_transaction(&mut self.conn);
                Err(err)
            }
        }
    }

    fn apply_all(
        &mut self,
        requests: &[Request],
        now: &Now,
        mode: Mode,
    ) -> Result<Vec<Answer>, Failure> {
        let started = std::time::Instant::now();
        self.state
            .prefetch(&mut self.conn, record_items(requests))
            .map_err(Failure::Write)?;
        tracing::trace!(micros = started.elapsed().as_micros() as u64, "prefetched");
        let mut answers = Vec::with_capacity(requests.len());
        for request in requests {
            answers.push(self.apply(request, now, mode)?);
        }
        Ok(answers)
    }

    /// One request's answer; Err only when the group as a whole has to stop.
    fn apply(&mut self, request: &Request, now: &Now, mode: Mode) -> Result<Answer, Failure> {
        match request {
            Request::AppendRecord(submitter, record) => {
                let device = record.submission.device_id.as_ref().map(|d| d.as_str());
                if let Err(err) =
                    self.state
                        .admit(&submitter.person, std::iter::once(device), now.at)
                {
                    return Ok(Err(err));
                }
                Ok(self
                    .record(submitter, record, now, mode)
                    .map(Outcome::Record))
            }
            Request::AppendBatch(submitter, items) => {
                let devices = items
                    .iter()
                    .map(|item| item.submission.device_id.as_ref().map(|d| d.as_str()));
                if let Err(err) = self.state.admit(&submitter.person, devices, now.at) {
                    return Ok(Err(err));
                }
                Ok(Ok(Outcome::Batch(self.batch(submitter, items, now, mode))))
            }
            Request::Checkpoint => self.admin(now, |conn, ledger, _, log| {
                Ok((
                    Outcome::Checkpoint(sign_checkpoint(conn, ledger, log)?),
                    Vec::new(),
                ))
            }),
            Request::Draw(actor, draw) => self.admin(now, |conn, ledger, state, log| {
                let (view, learned) = spot_checks::draw(conn, ledger, state, actor, log, draw)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::AnswerChallenge(submitter, answer) => {
                self.admin(now, |conn, ledger, state, _| {
                    let (view, learned) =
                        spot_checks::answer_challenge(conn, ledger, state, submitter, answer)?;
                    Ok((Outcome::Json(view), learned))
                })
            }
            // Asked every second; under load it shares a group with records, which it must
            // not interrupt (an admin change writes the group's rows first) when nothing is due.
            Request::ExpireChallenges if !self.state.has_due_challenges(unix_micros(now.at)) => {
                Ok(Ok(Outcome::Json(serde_json::json!({"missed": 0}))))
            }
            Request::ExpireChallenges => self.admin(now, |conn, ledger, state, _| {
                let (view, learned) = spot_checks::expire_challenges(conn, ledger, state)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::RecordOutcome(actor, outcome) => self.admin(now, |_, ledger, state, _| {
                let (view, learned) = spot_checks::record_outcome(ledger, state, actor, outcome)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::VerifyHousehold(actor, verification) => {
                self.admin(now, |conn, ledger, state, _| {
                    let (view, learned) =
                        spot_checks::verify_household(conn, ledger, state, actor, verification)?;
                    Ok((Outcome::Json(view), learned))
                })
            }
            Request::DecideItem(actor, draft) => self.admin(now, |conn, ledger, _, _| {
                let (view, learned) = supervision::decide_item(conn, ledger, actor, draft)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::EscalationAction(actor, draft) => self.admin(now, |conn, ledger, state, _| {
                let (view, learned) =
                    supervision::record_action(conn, ledger, state, actor, draft)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::PublishBulletin(actor, draft) => self.admin(now, |conn, ledger, _, _| {
                let (view, learned) = supervision::publish_bulletin(conn, ledger, actor, draft)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::AuditRead(actor, read) => self.admin(now, |conn, ledger, _, _| {
                let (view, learned) = audits::audit(conn, ledger, actor, read)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::CreateWebhook(actor, hook) => self.admin(now, |conn, ledger, state, _| {
                let (view, learned) = webhooks::create(conn, ledger, state, actor, hook)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::DeleteWebhook(actor, id) => self.admin(now, |conn, ledger, _, _| {
                let (view, learned) = webhooks::delete(conn, ledger, actor, id)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::RaiseProposed(items) => self.admin(now, |conn, ledger, state, _| {
                let (view, learned) =
                    alerts::raise_proposed(conn, ledger, state, &Actor::operator(), items)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::Purge(actor, request) => self.admin(now, |conn, ledger, state, _| {
                let (view, learned) = purge::purge(conn, ledger, state, actor, request)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::WebhookAttempts(attempts) => self.admin(now, |conn, _, _, _| {
                let view = webhooks::record_attempts(conn, attempts)?;
                Ok((Outcome::Json(view), Vec::new()))
            }),
            Request::AckAlert(actor, ack) => self.admin(now, |conn, ledger, _, _| {
                let (view, learned) = alerts::ack(conn, ledger, actor, ack)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::ImportUnits(actor, units) => self.admin(now, |conn, ledger, state, _| {
                let (imported, learned) = roster::import_units(conn, ledger, state, actor, units)?;
                Ok((Outcome::Units(imported), learned))
            }),
            Request::CreatePerson(actor, person) => self.admin(now, |conn, ledger, state, _| {
                let (view, learned) = roster::create_person(conn, ledger, state, actor, person)?;
                Ok((Outcome::Person(view), learned))
            }),
            Request::CreateFirstAdmin(person) => self.admin(now, |conn, ledger, state, _| {
                let (view, learned) = roster::create_first_admin(conn, ledger, state, person)?;
                Ok((Outcome::Person(view), learned))
            }),
            Request::CreateAssignment(actor, assignment) => {
                self.admin(now, |conn, ledger, state, _| {
                    let (view, learned) =
                        roster::create_assignment(conn, ledger, state, actor, assignment)?;
                    Ok((Outcome::Assignment(view), learned))
                })
            }
            Request::CreateHousehold(actor, household) => {
                self.admin(now, |conn, ledger, state, _| {
                    let (view, learned) =
                        roster::create_household(conn, ledger, state, actor, household)?;
                    Ok((Outcome::Household(view), learned))
                })
            }
            Request::Decide(actor, decision) => self.admin(now, |conn, ledger, state, _| {
                let answer = decisions::decide(conn, ledger, state, actor, decision)?;
                Ok((Outcome::Json(answer), Vec::new()))
            }),
            Request::SetPolicy(actor, unit, overrides) => {
                self.admin(now, |conn, ledger, state, _| {
                    let (view, learned) =
                        policy::set_policy(conn, ledger, state, actor, unit, overrides)?;
                    Ok((Outcome::Json(view), learned))
                })
            }
            Request::BindDevice(actor, person, device) => self.admin(now, |_, ledger, state, _| {
                let (answer, learned) =
                    pairings::bind_device(ledger, state, actor, *person, device)?;
                Ok((Outcome::Json(answer), learned))
            }),
            Request::EndAssignment(actor, end) => self.admin(now, |conn, ledger, state, _| {
                let (view, learned) = lifecycle::end_assignment(conn, ledger, state, actor, end)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::EndPairing(actor, end) => self.admin(now, |conn, ledger, state, _| {
                let (view, learned) = lifecycle::end_pairing(conn, ledger, state, actor, end)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::ChangeAccount(actor, person, change) => {
                self.admin(now, |conn, ledger, _, _| {
                    let (view, learned) =
                        lifecycle::change_account(conn, ledger, actor, *person, change)?;
                    Ok((Outcome::Person(view), learned))
                })
            }
            Request::RevokeToken(token) => self.admin(now, |conn, _, _, _| {
                Ok((
                    Outcome::Json(lifecycle::revoke_token(conn, token)?),
                    Vec::new(),
                ))
            }),
            Request::ImportRoster(actor, import) => self.admin(now, |conn, ledger, state, _| {
                let (view, learned) = roster_import::import(conn, ledger, state, actor, import)?;
                Ok((Outcome::Json(view), learned))
            }),
            Request::Probe => self.admin(now, |conn, _, _, _| {
                diesel::delete(health_probe::table).execute(conn)?;
                diesel::insert_into(health_probe::table)
                    .values((
                        health_probe::id.eq(1),
                        health_probe::checked_at.eq(unix_micros(now.at)),
                    ))
                    .execute(conn)?;
                Ok((
                    Outcome::Json(serde_json::json!({"probe": "ok"})),
                    Vec::new(),
                ))
            }),
            Request::CreatePairing(actor, pairing) => self.admin(now, |conn, ledger, state, _| {
                let (answer, learned) =
                    pairings::create_pairing(conn, ledger, state, actor, pairing)?;
                Ok((Outcome::Json(answer), learned))
            }),
        }
    }

    /// One record: judged in memory and, when retrying one by one, written in a savepoint.
    fn record(
        &mut self,
        submitter: &Submitter,
        record: &Prepared,
        now: &Now,
        mode: Mode,
    ) -> StorageResult<RecordOutcome> {
        match mode {
            Mode::Group => {
                let (_, mut ledger, state, _) = self.parts(now);
                let (outcome, learned) =
                    records::append_record(&mut ledger, state, submitter, record)?;
                self.state.learn(learned);
                Ok(outcome)
            }
            Mode::OneByOne => self.in_savepoint(now, |_, ledger, state, _| {
                records::append_record(ledger, state, submitter, record)
            }),
        }
    }

    /// A batch: items in captured_at order, each seeing the ones before; answered by index.
    fn batch(
        &mut self,
        submitter: &Submitter,
        items: &[Prepared],
        now: &Now,
        mode: Mode,
    ) -> Vec<(usize, StorageResult<RecordOutcome>)> {
        let mut order: Vec<&Prepared> = items.iter().collect();
        order.sort_by_key(|item| item.submission.captured_at.at());
        order
            .into_iter()
            .map(|item| (item.index, self.record(submitter, item, now, mode)))
            .collect()
    }

    /// An admin change: the group's rows so far are written first, so that it reads the
    /// database as the group left it; then it runs in a savepoint of its own.
    fn admin(&mut self, now: &Now, change: impl Change<Outcome>) -> Result<Answer, Failure> {
        if !self.rows.is_empty() {
            self.rows
                .write(&mut self.conn, self.state.webhooks())
                .map_err(Failure::Write)?;
        }
        Ok(self.in_savepoint(now, change))
    }

    /// Runs `change` and writes its rows in a savepoint: on failure the tree and the rows are as
    /// they were before it, on success what it taught is learned.
    fn in_savepoint<T>(&mut self, now: &Now, change: impl Change<T>) -> StorageResult<T> {
        let before = self.tree.clone();
        let (conn, mut ledger, state, log) = self.parts(now);
        let result = conn.transaction(|sp| {
            let (value, learned) = change(sp, &mut ledger, state, log)?;
            ledger.rows.write(sp, state.webhooks())?;
            Ok((value, learned))
        });
        match result {
            Ok((value, learned)) => {
                self.state.learn(learned);
                Ok(value)
            }
            Err(err) => {
                self.tree = before;
                self.rows.clear();
                Err(err)
            }
        }
    }

    /// What a request works with: the connection, an appender for the group's entries, the
    /// judging state and the log's signer.
    fn parts<'s>(
        &'s mut self,
        now: &'s Now,
    ) -> (
        &'s mut DbConnection,
        LedgerAppender<'s>,
        &'s JudgeState,
        &'s LogSigner,
    ) {
        let ledger = LedgerAppender {
            tree: &mut self.tree,
            rows: &mut self.rows,
            now: now.at,
            now_text: &now.text,
        };
        (&mut self.conn, ledger, &self.state, &self.log)
    }
}

/// A change run with what [`WriterThread::parts`] gives, returning its value and what it taught.
trait Change<T>:
    FnOnce(
    &mut DbConnection,
    &mut LedgerAppender<'_>,
    &JudgeState,
    &LogSigner,
) -> StorageResult<(T, Vec<Learned>)>
{
}

impl<T, F> Change<T> for F where
    F: FnOnce(
        &mut DbConnection,
        &mut LedgerAppender<'_>,
        &JudgeState,
        &LogSigner,
    ) -> StorageResult<(T, Vec<Learned>)>
{
}

/// Every record the requests carry, with the person it is stored under.
fn record_items(
    requests: &[Request],
) -> impl Iterator<Item = (fieldtrail_domain::person::PersonId, &RecordSubmission)> {
    requests.iter().flat_map(|request| {
        let items: Box<dyn Iterator<Item = _>> = match request {
            Request::AppendRecord(submitter, record) => {
                Box::new(std::iter::once((submitter.person, &record.submission)))
            }
            Request::AppendBatch(submitter, items) => Box::new(
                items
                    .iter()
                    .map(move |item| (submitter.person, &item.submission)),
            ),
            _ => Box::new(std::iter::empty()),
        };
        items
    })
}

/// How an answer that nothing of the group was committed begins.
const NOT_COMMITTED: &str = "the ledger could not commit this request";

fn unavailable(count: usize, err: &StorageError) -> Vec<Answer> {
    (0..count)
        .map(|_| {
            Err(StorageError::Unavailable(format!(
                "{NOT_COMMITTED}; nothing of it was stored ({err})"
            )))
        })
        .collect()
}

/// The latest checkpoint if it covers the whole tree, else a new one, signed and kept.
pub(super) fn sign_checkpoint(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    log: &LogSigner,
) -> StorageResult<StoredCheckpoint> {
    let size = ledger.tree.end();
    if let Some(latest) = tree_store::latest_checkpoint(conn)? {
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
    tree_store::insert_checkpoint(conn, &checkpoint, unix_micros(ledger.now))?;
    Ok(checkpoint)
}
