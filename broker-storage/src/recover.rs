//! What the store does with its tree when it opens: moves the copies of a format-1 store
//! into a log record, and builds the [`QueueIndex`] from the log records and the finished
//! runs. A damaged record is moved to the quarantine and the rest is loaded.

use std::collections::HashMap;

use broker_core::types::ClientId;
use metrics::counter;

use crate::ack_runs::AckRuns;
use crate::keys;
use crate::log_record::{self, LogWriter};
use crate::queue_index::QueueIndex;
use crate::record;
use crate::state_machine::read_last_seq;

/// A damaged record found at open: its key (as a person reads it) and why.
pub(crate) type Damaged = (String, String);

/// Moves the damaged value of `key` to the quarantine (unless it has changed since it was
/// read), and says so.
pub(crate) fn quarantine(tree: &sled::Tree, key: &[u8], value: &[u8], reason: &str) {
    counter!("skein_store_corrupt_records_total").increment(1);
    tracing::warn!(
        key = %keys::describe(key),
        reason,
        "A damaged record in the session store was moved to its quarantine."
    );
    // Out of the way first (unless it changed since it was read), then kept aside: the
    // store's one tree holds the quarantine too (every sled tree costs megabytes of memory).
    let moved = tree
        .compare_and_swap(key, Some(value), None::<&[u8]>)
        .and_then(|swapped| match swapped {
            Ok(()) => tree.insert(keys::quarantined(key), value).map(drop),
            Err(_) => Ok(()),
        });
    if let Err(error) = moved {
        tracing::error!(%error, "Could not move a damaged record to the quarantine.");
    }
}

/// Builds the index of `tree`'s queued copies; damaged records are quarantined and listed.
pub(crate) fn load_index(tree: &sled::Tree) -> sled::Result<(QueueIndex, Vec<Damaged>)> {
    let mut damaged = Vec::new();
    let mut finished: HashMap<ClientId, AckRuns> = HashMap::new();
    for entry in tree.scan_prefix(keys::ACKS_PREFIX) {
        let (key, value) = entry?;
        let Some(client_id) = keys::acks_client(&key) else {
            continue;
        };
        match record::open(&value).and_then(AckRuns::decode) {
            Ok(runs) => {
                finished.insert(client_id, runs);
            }
            Err(reason) => {
                // Its copies come back as queued: sent again, never lost.
                quarantine(tree, &key, &value, &reason);
                damaged.push((keys::describe(&key), reason));
            }
        }
    }
    let mut index = QueueIndex::default();
    for entry in tree.scan_prefix(keys::LOG_PREFIX) {
        let (key, value) = entry?;
        let Some(id) = keys::log_id(&key) else {
            continue;
        };
        match record::open(&value).and_then(log_record::read) {
            Ok(entries) => {
                for entry in entries {
                    let done = finished
                        .get(&entry.client_id)
                        .is_some_and(|runs| runs.contains(entry.seq));
                    index.add_copy(&entry.client_id, entry.seq, id, !done);
                }
            }
            Err(reason) => {
                quarantine(tree, &key, &value, &reason);
                damaged.push((keys::describe(&key), reason));
            }
        }
    }
    for client_id in finished.keys() {
        index.runs_written(client_id);
    }
    index.note_empty_records();
    Ok((index, damaged))
}

/// Moves the copies of a format-1 store (one key per copy) into one log record, in one
/// atomic batch. Returns how many it moved.
pub(crate) fn migrate_queued_keys(tree: &sled::Tree) -> sled::Result<usize> {
    let mut batch = sled::Batch::default();
    let mut copies = Vec::new();
    for entry in tree.scan_prefix(keys::QUEUED_PREFIX) {
        let (key, value) = entry?;
        batch.remove(&key);
        let Some((client_id, seq)) = keys::queued_parts(&key) else {
            continue;
        };
        match record::open(&value) {
            Ok(message) => copies.push((seq, client_id, message)),
            Err(reason) => {
                counter!("skein_store_corrupt_records_total").increment(1);
                tracing::warn!(key = %keys::describe(&key), reason, "A damaged queued message was moved to the quarantine.");
                batch.insert(keys::quarantined(&key), value);
            }
        }
    }
    copies.sort_by_key(|(seq, _, _)| *seq);
    let moved = copies.len();
    if moved > 0 {
        let id = read_last_seq(tree)?.saturating_add(1);
        let mut log = LogWriter::default();
        for (seq, client_id, message) in &copies {
            log.push(*seq, client_id, message);
        }
        batch.insert(keys::log(id), record::seal(&log.finish()));
        batch.insert(keys::LAST_SEQ, &id.to_be_bytes());
    }
    tree.apply_batch(batch)?;
    Ok(moved)
}
