//! The group committer: one thread applies every write, in the order submitted, and shares
//! fsyncs between them.
//!
//! It takes every submission waiting (up to [`MAX_BATCH_OPS`] operations), applies them as one
//! redb transaction, and then, at [`Durability::Sync`], commits it durably (one fsync) and
//! answers them all: every write that arrived while the previous commit ran is covered by the
//! next one. At [`Durability::Batched`] it commits without an fsync, answers, and marks the
//! store dirty; the flusher thread makes every commit so far durable within the window.
//!
//! A batch that fails (a full disk) is answered with the error, and the committer then
//! reopens the database (redb refuses every call after an I/O error until it is reopened;
//! `shared_db.rs`), at most once per [`REOPEN_PAUSE`]: once the disk has room again, writes go
//! on without a restart. Reopening reads back what is on disk, which is every write answered
//! at `sync`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use broker_core::store::StoreError;
use metrics::{counter, histogram};
use redb::Durability as Commit;
use tokio::sync::{mpsc, oneshot};

use crate::database::{self, backend, Compact};
use crate::op::{Op, Outcome};
use crate::options::{Durability, StoreOptions};
use crate::recover;
use crate::shared_db::{Db, SharedDb};
use crate::state_machine::{self, SeqCounter, SharedIndex, StateMachine};

/// Operations applied in one batch at most.
pub(crate) const MAX_BATCH_OPS: usize = 1024;
/// Submissions waiting for the committer at most; a writer past it waits.
pub(crate) const QUEUE: usize = 4096;
/// The shortest time between two attempts to reopen a failed database.
pub(crate) const REOPEN_PAUSE: Duration = Duration::from_millis(500);

/// Operations to apply, and where their outcomes go (nowhere when the store answered them
/// already, at `batched`).
pub(crate) struct Submission {
    pub(crate) ops: Vec<Op>,
    pub(crate) reply: Option<oneshot::Sender<Result<Vec<Outcome>, StoreError>>>,
}

/// Why the last batch failed, while the database is not reopened; shared with the store,
/// which then stops answering writes before they are applied.
pub(crate) type Failure = Arc<std::sync::Mutex<Option<StoreError>>>;

/// The failure `failure` holds, if any.
pub(crate) fn failed(failure: &Failure) -> Option<StoreError> {
    failure
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// The committer's end.
pub(crate) struct Committer {
    pub(crate) rx: mpsc::Receiver<Submission>,
    pub(crate) db: SharedDb,
    /// How to open the database again.
    pub(crate) options: StoreOptions,
    /// `None` once a batch failed, until the database is reopened.
    pub(crate) machine: Option<StateMachine>,
    pub(crate) index: SharedIndex,
    pub(crate) durability: Durability,
    /// Batched durability: which commits are not durable yet, and when the last durable one
    /// was made.
    pub(crate) unsynced: Arc<Unsynced>,
    /// The sequence numbers, kept across a reopen (numbers are never reused).
    pub(crate) seqs: SeqCounter,
    /// When the database may be reopened next.
    pub(crate) reopen_at: Instant,
    /// Why the last batch failed: the answer until the database is reopened (a full disk
    /// stays a full disk).
    pub(crate) failure: Failure,
}

impl Committer {
    /// Runs until every sender is gone, then fsyncs what is left.
    pub(crate) fn run(mut self) {
        let mut waiting = Vec::new();
        while let Some(first) = self.rx.blocking_recv() {
            let mut ops = first.ops.len();
            waiting.push(first);
            while ops < MAX_BATCH_OPS {
                match self.rx.try_recv() {
                    Ok(next) => {
                        ops += next.ops.len();
                        waiting.push(next);
                    }
                    Err(_) => break,
                }
            }
            self.commit(&mut waiting, ops);
        }
        // Every removal not yet written goes with the last fsync: a graceful stop brings
        // nothing finished back.
        let Some(machine) = self.machine.as_mut() else {
            return;
        };
        if let Err(error) = machine.apply(std::iter::once(&Op::Checkpoint), Commit::Immediate) {
            tracing::error!(%error, "The session store could not write its last removals.");
        }
        // One durable commit covers every commit before it (the checkpoint's own is left out
        // when it had nothing to write).
        if let Some(db) = self.db.current() {
            if let Err(error) = flush(&db) {
                tracing::error!(%error, "The session store could not write its last changes to disk.");
            }
        }
    }

    /// Applies `ops`, and fsyncs at `sync`; a failure takes the database away for a reopen.
    fn apply(&mut self, waiting: &[Submission]) -> Result<Vec<Outcome>, StoreError> {
        if self.machine.is_none() && Instant::now() >= self.reopen_at {
            self.reopen();
        }
        let Some(machine) = self.machine.as_mut() else {
            return Err(failed(&self.failure).unwrap_or_else(|| {
                StoreError::Unavailable(
                    "the session store failed a write and could not reopen its database yet"
                        .to_owned(),
                )
            }));
        };
        let ops = || waiting.iter().flat_map(|s| s.ops.iter());
        let result = match self.durability {
            Durability::Sync => machine.apply(ops(), Commit::Immediate),
            Durability::Batched { window } => {
                // A checkpoint (a flush, a graceful stop) is durable at every level; a batch
                // a window after the last durable commit is made durable itself, which saves
                // the flusher an empty commit of its own.
                let durable = self.unsynced.since_durable() >= window
                    || ops().any(|op| *op == Op::Checkpoint);
                if durable {
                    // Only this thread adds to it, so every pending commit is covered.
                    let seen = self.unsynced.pending();
                    machine
                        .apply(ops(), Commit::Immediate)
                        .and_then(|outcomes| {
                            // A batch with nothing to write commits nothing: then an empty
                            // durable commit covers what is not durable yet.
                            if self.unsynced.is_dirty() && !machine.last_committed() {
                                flush(machine.db())?;
                            }
                            self.unsynced.mark_durable(seen);
                            Ok(outcomes)
                        })
                } else {
                    machine.apply(ops(), Commit::None).inspect(|_| {
                        if machine.last_committed() {
                            self.unsynced.set_dirty();
                        }
                    })
                }
            }
        }
        .map_err(|e| backend("writing a batch", e));
        if let Err(error) = &result {
            // Every handle of the failed database goes; the next batch opens it again.
            self.machine = None;
            drop(self.db.take());
            self.reopen_at = Instant::now();
            *self
                .failure
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(error.clone());
        }
        result
    }

    /// Opens the database again and reads back its index; on failure, tries again after
    /// [`REOPEN_PAUSE`].
    fn reopen(&mut self) {
        self.reopen_at = Instant::now() + REOPEN_PAUSE;
        let opened = database::open(&self.options, Compact::No).and_then(|db| {
            let (index, damaged) = recover::load_index(&db)?;
            if !damaged.is_empty() {
                tracing::warn!(records = damaged.len(), "The session store found damaged records as it reopened; they are in its quarantine.");
            }
            *state_machine::lock(&self.index) = index;
            let mut machine = StateMachine::open(db.clone(), self.index.clone(), self.seqs.clone())?;
            machine.apply(std::iter::empty(), Commit::Immediate)?;
            Ok((db, machine))
        });
        match opened {
            Ok((db, machine)) => {
                tracing::warn!("The session store reopened its database after a failed write; it takes writes again.");
                counter!("skein_store_reopens_total").increment(1);
                self.db.set(db);
                self.machine = Some(machine);
                *self
                    .failure
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
            }
            Err(error) => {
                tracing::error!(%error, "The session store could not reopen its database; it tries again shortly.");
            }
        }
    }

    /// Applies and answers `waiting` (emptied).
    fn commit(&mut self, waiting: &mut Vec<Submission>, ops: usize) {
        histogram!("skein_store_batch_ops").record(ops as f64);
        match self.apply(waiting) {
            Ok(outcomes) => {
                let mut outcomes = outcomes.into_iter();
                for submission in waiting.drain(..) {
                    let mine = outcomes.by_ref().take(submission.ops.len()).collect();
                    if let Some(reply) = submission.reply {
                        let _ = reply.send(Ok(mine));
                    }
                }
            }
            Err(error) => {
                counter!("skein_store_write_errors_total").increment(1);
                tracing::error!(%error, "The session store failed a write.");
                for submission in waiting.drain(..) {
                    if let Some(reply) = submission.reply {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
            }
        }
    }
}

/// Makes every commit so far durable: one empty durable commit (one fsync), counted and timed.
pub(crate) fn flush(db: &Db) -> Result<(), redb::Error> {
    let started = Instant::now();
    let mut txn = db.begin_write()?;
    txn.set_durability(Commit::Immediate)?;
    txn.commit()?;
    counter!("skein_store_fsyncs_total").increment(1);
    histogram!("skein_store_fsync_seconds").record(started.elapsed().as_secs_f64());
    Ok(())
}

/// The shortest sleep of the flusher.
const MIN_PAUSE: Duration = Duration::from_micros(200);

/// What batched durability knows of its commits, shared by the committer and the flusher:
/// whether some are not durable yet, and when the last durable commit was made.
#[derive(Debug)]
pub(crate) struct Unsynced {
    /// Commits made since the last durable one (not durable yet).
    pending: AtomicU64,
    base: Instant,
    /// When the last durable commit ended, in nanoseconds since `base`.
    durable_at: AtomicU64,
}

impl Unsynced {
    /// Nothing to make durable, as of now.
    pub(crate) fn new() -> Arc<Unsynced> {
        Arc::new(Unsynced {
            pending: AtomicU64::new(0),
            base: Instant::now(),
            durable_at: AtomicU64::new(0),
        })
    }

    /// A commit that is not durable yet was made.
    fn set_dirty(&self) {
        self.pending.fetch_add(1, Ordering::AcqRel);
    }

    /// How many commits are not durable yet.
    fn pending(&self) -> u64 {
        self.pending.load(Ordering::Acquire)
    }

    /// Whether a commit is not durable yet.
    fn is_dirty(&self) -> bool {
        self.pending() > 0
    }

    /// A durable commit was made, which covers the `seen` commits counted before it began
    /// (those counted since stay pending).
    fn mark_durable(&self, seen: u64) {
        let _ = self
            .pending
            .compare_exchange(seen, 0, Ordering::AcqRel, Ordering::Acquire);
        let now = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.durable_at.store(now, Ordering::Release);
    }

    /// How long ago the last durable commit was made.
    fn since_durable(&self) -> Duration {
        let at = Duration::from_nanos(self.durable_at.load(Ordering::Acquire));
        self.base.elapsed().saturating_sub(at)
    }
}

/// The flusher of batched durability: makes the commits the committer left non-durable
/// durable, at most `window` after the last durable commit, until `stop`. While batches keep
/// coming the committer does it itself; the flusher covers a store that went quiet.
pub(crate) fn spawn_flusher(
    db: SharedDb,
    window: Duration,
    unsynced: Arc<Unsynced>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("skein-store-flush".to_owned())
        .spawn(move || {
            while !stop.load(Ordering::Acquire) {
                let since = unsynced.since_durable();
                if !unsynced.is_dirty() || since < window {
                    // Until the window after the last durable commit ends; a quiet store
                    // looks again a window later.
                    let pause = if unsynced.is_dirty() {
                        window - since
                    } else {
                        window
                    };
                    std::thread::sleep(pause.max(MIN_PAUSE));
                    continue;
                }
                // While the committer reopens the database, there is nothing to flush: the
                // reopened one holds only what is on disk.
                let Some(db) = db.current() else {
                    std::thread::sleep(window);
                    continue;
                };
                let seen = unsynced.pending();
                match flush(&db) {
                    Ok(()) => unsynced.mark_durable(seen),
                    Err(error) => {
                        counter!("skein_store_write_errors_total").increment(1);
                        tracing::error!(%error, "The session store could not write to disk.");
                        std::thread::sleep(window);
                    }
                }
            }
        })
}
