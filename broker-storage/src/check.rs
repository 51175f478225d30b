//! `skein store check`: reads every record of a store, moves the damaged ones to the
//! quarantine, and counts what is there.

use std::fmt;

use broker_core::store::{decode_queued, decode_retained, StoreError, StoredSession, WallClock};

use crate::database::{self, backend};
use crate::disk_store::DiskStore;
use crate::keys;
use crate::log_position::LogPosition;
use crate::log_record;
use crate::record;
use crate::state_machine;

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Session records that read back whole.
    pub sessions: usize,
    /// Queued messages (copies still queued for a client) that read back whole.
    pub queued: usize,
    /// Retained messages that read back whole.
    pub retained: usize,
    /// The records this check found damaged and moved to the quarantine: key and reason.
    pub damaged: Vec<(String, String)>,
    /// Records in the quarantine in all (damaged ones found now and earlier).
    pub quarantined: usize,
    /// The position of the last batch of writes the store holds.
    pub applied: LogPosition,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} session(s), {} queued message(s), {} retained message(s) read back whole.",
            self.sessions, self.queued, self.retained
        )?;
        for (key, reason) in &self.damaged {
            writeln!(f, "damaged: {key}: {reason}")?;
        }
        writeln!(
            f,
            "{} damaged record(s) found now; the quarantine holds {}.",
            self.damaged.len(),
            self.quarantined
        )?;
        write!(f, "Last batch of writes applied: {}.", self.applied)
    }
}

impl DiskStore {
    /// Reads every record; a damaged one is moved to the quarantine and listed.
    ///
    /// # Errors
    ///
    /// The database could not be read.
    pub fn check(&self) -> Result<CheckReport, StoreError> {
        let mut report = CheckReport {
            damaged: self.damaged_at_open().to_vec(),
            ..CheckReport::default()
        };
        let clock = WallClock::now();
        let mut damaged = Vec::new();
        let table = self.table()?;
        report.applied = state_machine::read_applied(&table).map_err(|e| backend("reading", e))?;
        database::scan_prefix(&table, &[], |key, value| {
            let kind = key.first().copied();
            if !matches!(kind, Some(b's' | b'l' | b'r')) {
                return Ok(());
            }
            let read = record::open(value).and_then(|record| match kind {
                Some(b's') => StoredSession::decode(record, clock.now)
                    .map(|_| report.sessions += 1)
                    .map_err(|e| e.to_string()),
                Some(b'l') => self.check_log_record(record, clock, &mut report.queued),
                _ => decode_retained(record)
                    .map(|_| report.retained += 1)
                    .map_err(|e| e.to_string()),
            });
            if let Err(reason) = read {
                damaged.push((key.to_vec(), value.to_vec(), reason));
            }
            Ok(())
        })
        .map_err(|e| backend("reading", e))?;
        for (key, value, reason) in damaged {
            self.quarantine(&key, &value, &reason);
            report.damaged.push((keys::describe(&key), reason));
        }
        report.quarantined = self.quarantined();
        Ok(report)
    }

    /// Reads every copy in a log record; counts in `queued` those still queued.
    fn check_log_record(
        &self,
        record: bytes::Bytes,
        clock: WallClock,
        queued: &mut usize,
    ) -> Result<(), String> {
        let entries = log_record::read(record)?;
        let index = state_machine::lock(self.index());
        let mut live = 0;
        for entry in entries {
            decode_queued(entry.message, clock).map_err(|e| e.to_string())?;
            if index.is_live(&entry.client_id, entry.seq) {
                live += 1;
            }
        }
        *queued += live;
        Ok(())
    }
}
