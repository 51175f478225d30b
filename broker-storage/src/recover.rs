//! What the store does with its table when it opens: builds the [`QueueIndex`] from the log
//! records and the finished runs. A damaged record is moved to the quarantine and the rest is
//! loaded.

use std::collections::HashMap;

use broker_core::types::ClientId;
use metrics::counter;
use redb::ReadableTable;

use crate::ack_runs::AckRuns;
use crate::database::{self, TABLE};
use crate::keys;
use crate::log_record;
use crate::queue_index::QueueIndex;
use crate::record;

/// A damaged record found at open: its key (as a person reads it) and why.
pub(crate) type Damaged = (String, String);

/// Moves the damaged value of `key` to the quarantine (unless it has changed since it was
/// read), and says so.
pub(crate) fn quarantine(db: &redb::Database, key: &[u8], value: &[u8], reason: &str) {
    counter!("skein_store_corrupt_records_total").increment(1);
    tracing::warn!(
        key = %keys::describe(key),
        reason,
        "A damaged record in the session store was moved to its quarantine."
    );
    if let Err(error) = move_to_quarantine(db, key, value) {
        tracing::error!(%error, "Could not move a damaged record to the quarantine.");
    }
}

/// Out of the way (unless it changed since it was read), and kept aside, in one commit.
fn move_to_quarantine(db: &redb::Database, key: &[u8], value: &[u8]) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut table = txn.open_table(TABLE)?;
        let unchanged = table.get(key)?.is_some_and(|now| now.value() == value);
        if unchanged {
            table.remove(key)?;
            table.insert(keys::quarantined(key).as_slice(), value)?;
        }
    }
    txn.commit()?;
    Ok(())
}

/// Builds the index of `db`'s queued copies; damaged records are quarantined and listed.
pub(crate) fn load_index(db: &redb::Database) -> Result<(QueueIndex, Vec<Damaged>), redb::Error> {
    let table = database::read(db)?;
    let mut bad: Vec<(Vec<u8>, Vec<u8>, String)> = Vec::new();
    let mut finished: HashMap<ClientId, AckRuns> = HashMap::new();
    database::scan_prefix(&table, keys::ACKS_PREFIX, |key, value| {
        let Some(client_id) = keys::acks_client(key) else {
            return Ok(());
        };
        match record::open(value).and_then(AckRuns::decode) {
            Ok(runs) => {
                finished.insert(client_id, runs);
            }
            // Its copies come back as queued: sent again, never lost.
            Err(reason) => bad.push((key.to_vec(), value.to_vec(), reason)),
        }
        Ok(())
    })?;
    let mut index = QueueIndex::default();
    database::scan_prefix(&table, keys::LOG_PREFIX, |key, value| {
        let Some(id) = keys::log_id(key) else {
            return Ok(());
        };
        match record::open(value).and_then(log_record::read) {
            Ok(entries) => {
                for entry in entries {
                    let done = finished
                        .get(&entry.client_id)
                        .is_some_and(|runs| runs.contains(entry.seq));
                    index.add_copy(&entry.client_id, entry.seq, id, !done);
                }
            }
            Err(reason) => bad.push((key.to_vec(), value.to_vec(), reason)),
        }
        Ok(())
    })?;
    drop(table);
    for client_id in finished.keys() {
        index.runs_written(client_id);
    }
    index.note_empty_records();
    let mut damaged = Vec::with_capacity(bad.len());
    for (key, value, reason) in bad {
        quarantine(db, &key, &value, &reason);
        damaged.push((keys::describe(&key), reason));
    }
    Ok((index, damaged))
}
