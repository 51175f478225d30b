//! Applies batches of [`Op`]s to the store's table, each batch as one redb write transaction.
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
//! is removed. So a batch of any size costs the B-tree a handful of changes, where one key per
//! copy cost two changes per copy (the insert, the removal), each one a copied tree page.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use broker_core::types::ClientId;
use metrics::{counter, gauge, histogram};
use redb::{Durability, ReadableTable};

use crate::database::TABLE;
use crate::keys;
use crate::log_position::LogPosition;
use crate::log_record::LogWriter;
use crate::op::{Op, Outcome};
use crate::queue_index::QueueIndex;
use crate::record;
use crate::shared_db::Db;

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

/// The table, open for writing in one transaction.
type WriteTable<'txn> = redb::Table<'txn, &'static [u8], &'static [u8]>;

/// The state machine over the store's database.
#[derive(Debug)]
pub(crate) struct StateMachine {
    db: Db,
    /// The highest sequence number written to the table.
    written_seq: u64,
    seqs: SeqCounter,
    index: SharedIndex,
    log: LogWriter,
    /// A batch failed after the index took it in: the index no longer says what is on disk,
    /// so nothing more is applied (the store is reopened to go on).
    failed: bool,
    /// Whether the last batch committed.
    last_committed: bool,
    /// The position of the last batch that changed the table, written with it.
    applied: LogPosition,
    /// This open's epoch: the batches it applies are numbered in it.
    epoch: u64,
}

impl StateMachine {
    /// The state machine of `db`, which holds what earlier batches applied, and whose log
    /// records and finished runs `index` was loaded from. `seqs` goes on above every number
    /// the table holds (and above those it gave before, after a reopen).
    pub(crate) fn open(
        db: Db,
        index: SharedIndex,
        seqs: SeqCounter,
    ) -> Result<StateMachine, redb::Error> {
        let table = crate::database::read(&db)?;
        let written_seq = read_last_seq(&table)?;
        let applied = read_applied(&table)?;
        drop(table);
        seqs.fetch_max(written_seq.saturating_add(1), Ordering::AcqRel);
        Ok(StateMachine {
            db,
            written_seq,
            seqs,
            index,
            log: LogWriter::default(),
            failed: false,
            last_committed: false,
            applied,
            epoch: applied.epoch.saturating_add(1),
        })
    }

    /// The database it writes.
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Whether the last [`apply`](Self::apply) committed (a batch that changed nothing
    /// commits nothing).
    pub(crate) fn last_committed(&self) -> bool {
        self.last_committed
    }

    /// Applies `ops` in order, all or nothing, as one transaction committed with `durability`
    /// ([`Durability::Immediate`]: on disk when this returns; [`Durability::None`]: on disk
    /// with the next immediate commit, and until then lost whole in a crash, never in part).
    /// Gives one outcome per operation. A batch that changes the table takes the next
    /// [`LogPosition`] of this open's epoch, written in the same transaction.
    pub(crate) fn apply<'a>(
        &mut self,
        ops: impl IntoIterator<Item = &'a Op>,
        durability: Durability,
    ) -> Result<Vec<Outcome>, redb::Error> {
        self.last_committed = false;
        if self.failed {
            return Err(redb::Error::PreviousIo);
        }
        let mut txn = self.db.begin_write()?;
        txn.set_durability(durability)?;
        let position = LogPosition::new(self.epoch, self.applied.index.saturating_add(1));
        let applied = {
            let mut table = txn.open_table(TABLE)?;
            self.apply_to(&mut table, ops, position)
        };
        let (outcomes, writes, highest) = match applied {
            Ok(applied) => applied,
            Err(error) => {
                self.failed = true;
                return Err(error);
            }
        };
        if writes == 0 {
            // Nothing changed: no commit (and no fsync) for it.
            txn.abort()?;
            return Ok(outcomes);
        }
        let started = Instant::now();
        if let Err(error) = txn.commit() {
            self.failed = true;
            return Err(error.into());
        }
        if matches!(durability, Durability::Immediate) {
            counter!("skein_store_fsyncs_total").increment(1);
            histogram!("skein_store_fsync_seconds").record(started.elapsed().as_secs_f64());
        }
        self.written_seq = highest;
        self.applied = position;
        self.last_committed = true;
        Ok(outcomes)
    }

    /// Applies `ops` to `table`, and `position` with them if they changed anything; gives
    /// the outcomes, how many keys changed, and the highest sequence number now written.
    fn apply_to<'a>(
        &mut self,
        table: &mut WriteTable<'_>,
        ops: impl IntoIterator<Item = &'a Op>,
        position: LogPosition,
    ) -> Result<(Vec<Outcome>, usize, u64), redb::Error> {
        let index = Arc::clone(&self.index);
        let mut index = lock(&index);
        let mut writes = Writes { table, count: 0 };
        let mut highest = self.written_seq;
        let mut log_id = None;
        let mut outcomes = Vec::new();
        for op in ops {
            let outcome = match op {
                Op::SaveSession { client_id, record } => {
                    writes.insert(&keys::session(client_id), record)?;
                    if index.is_dirty(client_id) {
                        write_runs(&mut index, &mut writes, client_id)?;
                    }
                    Outcome::Done
                }
                Op::RemoveSession { client_id } => {
                    let existed = writes.remove(&keys::session(client_id))?;
                    index.finish_up_to(client_id, u64::MAX);
                    write_runs(&mut index, &mut writes, client_id)?;
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
                Op::ForgetQueued { client_id, seqs } => {
                    for seq in seqs {
                        index.finish(client_id, *seq);
                    }
                    Outcome::Done
                }
                Op::SetRetained { topic, record } => {
                    writes.insert(&keys::retained(topic), record)?;
                    Outcome::Done
                }
                Op::RemoveRetained { topic } => {
                    Outcome::Existed(writes.remove(&keys::retained(topic))?)
                }
                Op::Checkpoint => {
                    for client_id in index.take_dirty(usize::MAX) {
                        write_runs(&mut index, &mut writes, &client_id)?;
                    }
                    Outcome::Done
                }
            };
            outcomes.push(outcome);
        }
        for client_id in index.take_dirty(RUNS_PER_BATCH) {
            write_runs(&mut index, &mut writes, &client_id)?;
        }
        let emptied = index.take_emptied();
        let record = self.log.finish();
        let mut keep_log = log_id;
        for id in emptied.records {
            if Some(id) == keep_log {
                // Every copy it would hold is finished already: it is never written.
                keep_log = None;
            } else {
                writes.remove(&keys::log(id))?;
            }
        }
        for client_id in &emptied.runs {
            writes.remove(&keys::acks(client_id))?;
        }
        if let Some(id) = keep_log {
            writes.insert(&keys::log(id), &record::seal(&record))?;
        }
        if highest != self.written_seq {
            writes.insert(keys::LAST_SEQ, &highest.to_be_bytes())?;
        }
        if writes.count > 0 {
            writes.insert(keys::APPLIED, &position.encode())?;
        }
        gauge!("skein_store_queued_copies").set(index.live_copies() as f64);
        gauge!("skein_store_log_records").set(index.records() as f64);
        Ok((outcomes, writes.count, highest))
    }
}

/// The last sequence number given, as `table` holds it.
pub(crate) fn read_last_seq<T>(table: &T) -> Result<u64, redb::Error>
where
    T: ReadableTable<&'static [u8], &'static [u8]>,
{
    Ok(table
        .get(keys::LAST_SEQ)?
        .and_then(|v| v.value().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0))
}

/// The position of the last batch applied, as `table` holds it (the start of the log when
/// none was).
pub(crate) fn read_applied<T>(table: &T) -> Result<LogPosition, redb::Error>
where
    T: ReadableTable<&'static [u8], &'static [u8]>,
{
    Ok(table
        .get(keys::APPLIED)?
        .and_then(|v| LogPosition::decode(v.value()))
        .unwrap_or_default())
}

/// Writes `client_id`'s finished runs, or removes them when it has none left.
fn write_runs(
    index: &mut QueueIndex,
    writes: &mut Writes<'_, '_>,
    client_id: &ClientId,
) -> Result<(), redb::Error> {
    match index.runs(client_id) {
        Some(runs) => writes.insert(&keys::acks(client_id), &record::seal(&runs.encode())),
        None => {
            if index.has_written_runs(client_id) {
                writes.remove(&keys::acks(client_id))?;
                index.runs_removed(client_id);
            }
            Ok(())
        }
    }
}

/// The table a transaction writes, and how many changes it made.
struct Writes<'t, 'txn> {
    table: &'t mut WriteTable<'txn>,
    count: usize,
}

impl Writes<'_, '_> {
    fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<(), redb::Error> {
        self.table.insert(key, value)?;
        self.count += 1;
        Ok(())
    }

    /// Removes `key`; says whether it held a value.
    fn remove(&mut self, key: &[u8]) -> Result<bool, redb::Error> {
        let existed = self.table.remove(key)?.is_some();
        if existed {
            self.count += 1;
        }
        Ok(existed)
    }
}

#[cfg(test)]
#[path = "state_machine_test.rs"]
mod tests;
