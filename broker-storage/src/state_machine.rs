//! Applies batches of [`Op`]s to the store's tree, each batch as one atomic sled batch.
//!
//! Sequence numbers come from one counter ([`SeqCounter`]): the store gives a copy its number
//! as the copy is submitted (so that, at `batched`, it can answer at once), and the state
//! machine takes its log records' ids from it too. The highest number a batch used is written
//! in the same batch, so after a crash the counter starts above every number on disk.
//!
//! The copies a batch queues go into one log record (`log_record.rs`), not one key each;
//! removals only change the [`QueueIndex`] in memory, and reach the disk lazily, as the
//! client's finished runs (`ack_runs.rs`): with its next session record, a few clients per
//! batch, and all of them at a [`Op::Checkpoint`]. A log record whose copies are all finished
//! is removed. So a batch of any size costs sled a handful of changes, where one key per copy
//! cost two changes per copy (the insert, the removal), each one a copied tree node.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use broker_core::types::ClientId;
use metrics::gauge;

use crate::keys;
use crate::log_record::LogWriter;
use crate::op::{Op, Outcome};
use crate::queue_index::QueueIndex;
use crate::record;

/// Finished runs written per batch, besides those written with a session record: a crash
/// brings back what a client finished since its runs were last written (sent again, a legal
/// duplicate), so they are kept close behind, at a bounded cost per batch.
const RUNS_PER_BATCH: usize = 8;

/// The next sequence number to give, shared by the store (copies) and the state machine (log
/// records).
pub(crate) type SeqCounter = Arc<AtomicU64>;

/// The index, shared by the committer (which changes it) and the store's reads.
pub(crate) type SharedIndex = Arc<Mutex<QueueIndex>>;

/// The index, locked; a panic elsewhere while it was held leaves it as it was.
pub(crate) fn lock(index: &SharedIndex) -> MutexGuard<'_, QueueIndex> {
    index.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The state machine over one sled tree.
#[derive(Debug)]
pub(crate) struct StateMachine {
    tree: sled::Tree,
    /// The highest sequence number written to the tree.
    written_seq: u64,
    seqs: SeqCounter,
    index: SharedIndex,
    log: LogWriter,
    /// A batch failed after the index took it in: the index no longer says what is on disk,
    /// so nothing more is applied (the store is reopened to go on).
    failed: bool,
}

/// The keys a batch has written so far (true) or removed (false), for the reads of later
/// operations in the same batch.
type Overlay = BTreeMap<Vec<u8>, bool>;

impl StateMachine {
    /// The state machine of `tree`, which holds what earlier batches applied, and whose log
    /// records and finished runs `index` was loaded from. `seqs` goes on above every number
    /// the tree holds (and above those it gave before, after a reopen).
    pub(crate) fn open(
        tree: sled::Tree,
        index: SharedIndex,
        seqs: SeqCounter,
    ) -> sled::Result<StateMachine> {
        let written_seq = read_last_seq(&tree)?;
        seqs.fetch_max(written_seq.saturating_add(1), Ordering::AcqRel);
        Ok(StateMachine {
            tree,
            written_seq,
            seqs,
            index,
            log: LogWriter::default(),
            failed: false,
        })
    }

    /// Applies `ops` in order, all or nothing, and gives one outcome per operation.
    pub(crate) fn apply<'a>(
        &mut self,
        ops: impl IntoIterator<Item = &'a Op>,
    ) -> sled::Result<Vec<Outcome>> {
        if self.failed {
            return Err(sled::Error::ReportableBug(
                "an earlier batch failed; the store must be reopened".to_owned(),
            ));
        }
        let index = Arc::clone(&self.index);
        let mut index = lock(&index);
        let mut batch = Writes::default();
        let mut overlay = Overlay::new();
        let mut highest = self.written_seq;
        let mut log_id = None;
        let mut outcomes = Vec::new();
        for op in ops {
            let outcome = match op {
                Op::SaveSession { client_id, record } => {
                    put(&mut batch, &mut overlay, keys::session(client_id), record);
                    if index.is_dirty(client_id) {
                        write_runs(&mut index, &mut batch, client_id);
                    }
                    Outcome::Done
                }
                Op::RemoveSession { client_id } => {
                    let key = keys::session(client_id);
                    let existed = self.present(&overlay, &key)?;
                    delete(&mut batch, &mut overlay, key);
                    index.finish_up_to(client_id, u64::MAX);
                    write_runs(&mut index, &mut batch, client_id);
                    Outcome::Existed(existed)
                }
                Op::Enqueue {
                    client_id,
                    seq,
                    record,
                } => {
                    let id =
                        *log_id.get_or_insert_with(|| self.seqs.fetch_add(1, Ordering::AcqRel));
                    highest = highest.max(id).max(*seq);
                    self.log.push(*seq, client_id, record);
                    index.add(client_id, *seq, id);
                    Outcome::Seq(*seq)
                }
                Op::AckQueued { client_id, up_to } => {
                    index.finish_up_to(client_id, *up_to);
                    Outcome::Done
                }
                Op::ForgetQueued { client_id, seq } => {
                    index.finish(client_id, *seq);
                    Outcome::Done
                }
                Op::SetRetained { topic, record } => {
                    put(&mut batch, &mut overlay, keys::retained(topic), record);
                    Outcome::Done
                }
                Op::RemoveRetained { topic } => {
                    let key = keys::retained(topic);
                    let existed = self.present(&overlay, &key)?;
                    delete(&mut batch, &mut overlay, key);
                    Outcome::Existed(existed)
                }
                Op::Checkpoint => {
                    for client_id in index.take_dirty(usize::MAX) {
                        write_runs(&mut index, &mut batch, &client_id);
                    }
                    Outcome::Done
                }
            };
            outcomes.push(outcome);
        }
        for client_id in index.take_dirty(RUNS_PER_BATCH) {
            write_runs(&mut index, &mut batch, &client_id);
        }
        let emptied = index.take_emptied();
        let record = self.log.finish();
        let mut keep_log = log_id;
        for id in emptied.records {
            if Some(id) == keep_log {
                // Every copy it would hold is finished already: it is never written.
                keep_log = None;
            } else {
                batch.remove(keys::log(id));
            }
        }
        for client_id in &emptied.runs {
            batch.remove(keys::acks(client_id));
        }
        if let Some(id) = keep_log {
            batch.insert(keys::log(id), record::seal(&record));
        }
        if highest != self.written_seq {
            batch.insert(keys::LAST_SEQ, &highest.to_be_bytes());
        }
        gauge!("skein_store_queued_copies").set(index.live_copies() as f64);
        gauge!("skein_store_log_records").set(index.records() as f64);
        drop(index);
        if batch.len == 0 {
            // Nothing to write: sled is not handed an empty batch (a batch marker with no
            // writes behind it; a crash test met sled's recovery failing after some).
            return Ok(outcomes);
        }
        if let Err(error) = self.tree.apply_batch(batch.batch) {
            self.failed = true;
            return Err(error);
        }
        self.written_seq = highest;
        Ok(outcomes)
    }

    /// Whether `key` holds a value once the batch so far is applied.
    fn present(&self, overlay: &Overlay, key: &[u8]) -> sled::Result<bool> {
        match overlay.get(key) {
            Some(present) => Ok(*present),
            None => self.tree.contains_key(key),
        }
    }
}

/// The last sequence number given, as `tree` holds it.
pub(crate) fn read_last_seq(tree: &sled::Tree) -> sled::Result<u64> {
    Ok(tree
        .get(keys::LAST_SEQ)?
        .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0))
}

/// Writes `client_id`'s finished runs, or removes them when it has none left.
fn write_runs(index: &mut QueueIndex, batch: &mut Writes, client_id: &ClientId) {
    match index.runs(client_id) {
        Some(runs) => batch.insert(keys::acks(client_id), record::seal(&runs.encode())),
        None => {
            if index.has_written_runs(client_id) {
                batch.remove(keys::acks(client_id));
                index.runs_removed(client_id);
            }
        }
    }
}

/// A sled batch, and how many writes it holds.
#[derive(Default)]
struct Writes {
    batch: sled::Batch,
    len: usize,
}

impl Writes {
    fn insert(&mut self, key: impl Into<sled::IVec>, value: impl Into<sled::IVec>) {
        self.batch.insert(key, value);
        self.len += 1;
    }

    fn remove(&mut self, key: impl Into<sled::IVec>) {
        self.batch.remove(key);
        self.len += 1;
    }
}

fn put(batch: &mut Writes, overlay: &mut Overlay, key: Vec<u8>, value: &[u8]) {
    batch.insert(key.as_slice(), value);
    overlay.insert(key, true);
}

fn delete(batch: &mut Writes, overlay: &mut Overlay, key: Vec<u8>) {
    batch.remove(key.as_slice());
    overlay.insert(key, false);
}

#[cfg(test)]
#[path = "state_machine_test.rs"]
mod tests;
