//! The group committer: one thread applies every write, in the order submitted, and shares
//! fsyncs between them.
//!
//! It takes every submission waiting (up to [`MAX_BATCH_OPS`] operations), applies them as one
//! atomic batch, and then, at [`Durability::Sync`], fsyncs once and answers them all: every
//! write that arrived while the previous fsync ran is covered by the next one. At
//! [`Durability::Batched`] it answers once the batch is applied and marks the store dirty;
//! the flusher thread fsyncs within the window.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use broker_core::store::StoreError;
use metrics::{counter, histogram};
use tokio::sync::{mpsc, oneshot};

use crate::op::{Op, Outcome};
use crate::options::Durability;
use crate::state_machine::StateMachine;

/// Operations applied in one batch at most.
pub(crate) const MAX_BATCH_OPS: usize = 1024;
/// Submissions waiting for the committer at most; a writer past it waits.
pub(crate) const QUEUE: usize = 4096;

/// Operations to apply, and where their outcomes go.
pub(crate) struct Submission {
    pub(crate) ops: Vec<Op>,
    pub(crate) reply: oneshot::Sender<Result<Vec<Outcome>, StoreError>>,
}

/// The committer's end.
pub(crate) struct Committer {
    pub(crate) rx: mpsc::Receiver<Submission>,
    pub(crate) db: sled::Db,
    pub(crate) machine: StateMachine,
    pub(crate) durability: Durability,
    /// Set when a batch is applied and not yet fsynced (batched durability).
    pub(crate) dirty: Arc<AtomicBool>,
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
        if let Err(error) = self.machine.apply(std::iter::once(&Op::Checkpoint)) {
            tracing::error!(%error, "The session store could not write its last removals.");
        }
        if let Err(error) = flush(&self.db) {
            tracing::error!(%error, "The session store could not write its last changes to disk.");
        }
    }

    /// Applies and answers `waiting` (emptied).
    fn commit(&mut self, waiting: &mut Vec<Submission>, ops: usize) {
        histogram!("skein_store_batch_ops").record(ops as f64);
        let applied = self
            .machine
            .apply(waiting.iter().flat_map(|s| s.ops.iter()))
            .map_err(|e| backend("applying a batch", &e));
        let result = applied.and_then(|outcomes| {
            match self.durability {
                Durability::Sync => {
                    flush(&self.db).map_err(|e| backend("writing a batch to disk", &e))?;
                }
                Durability::Batched { .. } => self.dirty.store(true, Ordering::Release),
            }
            Ok(outcomes)
        });
        match result {
            Ok(outcomes) => {
                let mut outcomes = outcomes.into_iter();
                for submission in waiting.drain(..) {
                    let mine = outcomes.by_ref().take(submission.ops.len()).collect();
                    let _ = submission.reply.send(Ok(mine));
                }
            }
            Err(error) => {
                counter!("skein_store_write_errors_total").increment(1);
                tracing::error!(%error, "The session store failed a write.");
                for submission in waiting.drain(..) {
                    let _ = submission.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// One fsync of the database, counted and timed.
pub(crate) fn flush(db: &sled::Db) -> sled::Result<()> {
    let started = Instant::now();
    db.flush()?;
    counter!("skein_store_fsyncs_total").increment(1);
    histogram!("skein_store_fsync_seconds").record(started.elapsed().as_secs_f64());
    Ok(())
}

/// A store error for a failed sled call; a full disk says so.
pub(crate) fn backend(doing: &str, error: &sled::Error) -> StoreError {
    if let sled::Error::Io(io) = error {
        // sled hands out a copy of the error it met on its own threads, which keeps the kind
        // but not the system's number.
        if io.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error())
            || io.kind() == std::io::ErrorKind::StorageFull
        {
            return StoreError::Full(format!("{doing}: the disk is full"));
        }
    }
    StoreError::Backend(format!("{doing}: {error}"))
}

/// The flusher of batched durability: fsyncs a dirty store every `window` until `stop`.
pub(crate) fn spawn_flusher(
    db: sled::Db,
    window: Duration,
    dirty: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("skein-store-flush".to_owned())
        .spawn(move || {
            while !stop.load(Ordering::Acquire) {
                std::thread::sleep(window);
                if dirty.swap(false, Ordering::AcqRel) {
                    if let Err(error) = flush(&db) {
                        counter!("skein_store_write_errors_total").increment(1);
                        tracing::error!(%error, "The session store could not write to disk.");
                        dirty.store(true, Ordering::Release);
                    }
                }
            }
        })
}
