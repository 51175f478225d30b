//! The key layout of the store's one redb table (one table, though a redb transaction is atomic
//! across tables: one key space is one scan for `skein store check`).
//!
//! ```text
//! s <client id>                   session record
//! l <id u64>                      a log record: the copies one batch queued (log_record.rs)
//! a <client id>                   the client's finished copies still in log records (ack_runs.rs)
//! r <topic>                       retained message
//! x <key>                         a damaged record, moved out of the way (the quarantine)
//! m format                        the store's format, u32
//! m seq                           the last sequence number given (copies and log records), u64
//! ```
//!
//! Integers are big-endian, so keys sort as the numbers do.

use broker_core::types::{ClientId, TopicName};

const SESSION: u8 = b's';
const LOG: u8 = b'l';
const ACKS: u8 = b'a';
const RETAINED: u8 = b'r';

/// The key of the store's format number.
pub(crate) const FORMAT: &[u8] = b"mformat";
/// The key of the last queue sequence number given.
pub(crate) const LAST_SEQ: &[u8] = b"mseq";
/// The key of the position of the last batch applied ([`LogPosition`](crate::LogPosition)).
pub(crate) const APPLIED: &[u8] = b"mapplied";

fn prefixed(tag: u8, text: &str, extra: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + text.len() + extra);
    key.push(tag);
    key.extend_from_slice(text.as_bytes());
    key
}

/// The key of `client_id`'s session record.
pub(crate) fn session(client_id: &ClientId) -> Vec<u8> {
    prefixed(SESSION, client_id.as_str(), 0)
}

/// Every session key starts so.
pub(crate) const SESSION_PREFIX: &[u8] = &[SESSION];

/// The client identifier of a session key.
pub(crate) fn session_client(key: &[u8]) -> Option<ClientId> {
    let text = std::str::from_utf8(key.strip_prefix(SESSION_PREFIX)?).ok()?;
    ClientId::new(text).ok()
}

/// The key of log record `id`.
pub(crate) fn log(id: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(LOG);
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// Every log record's key starts so.
pub(crate) const LOG_PREFIX: &[u8] = &[LOG];

/// The id of a log record's key.
pub(crate) fn log_id(key: &[u8]) -> Option<u64> {
    let id = key.strip_prefix(LOG_PREFIX)?;
    Some(u64::from_be_bytes(id.try_into().ok()?))
}

/// The key of `client_id`'s finished runs.
pub(crate) fn acks(client_id: &ClientId) -> Vec<u8> {
    prefixed(ACKS, client_id.as_str(), 0)
}

/// Every finished-runs key starts so.
pub(crate) const ACKS_PREFIX: &[u8] = &[ACKS];

/// The client identifier of a finished-runs key.
pub(crate) fn acks_client(key: &[u8]) -> Option<ClientId> {
    let text = std::str::from_utf8(key.strip_prefix(ACKS_PREFIX)?).ok()?;
    ClientId::new(text).ok()
}

/// The key of `topic`'s retained message.
pub(crate) fn retained(topic: &TopicName) -> Vec<u8> {
    prefixed(RETAINED, topic.as_str(), 0)
}

/// Every retained key starts so.
pub(crate) const RETAINED_PREFIX: &[u8] = &[RETAINED];

/// Every quarantined key starts so.
pub(crate) const QUARANTINE_PREFIX: &[u8] = b"x";

/// The quarantine's key for the damaged record of `key`.
pub(crate) fn quarantined(key: &[u8]) -> Vec<u8> {
    let mut quarantined = QUARANTINE_PREFIX.to_vec();
    quarantined.extend_from_slice(key);
    quarantined
}

/// A key as a person reads it: `session c1`, `log record #42`, `retained a/b`.
pub(crate) fn describe(key: &[u8]) -> String {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match key.split_first() {
        Some((&SESSION, rest)) => format!("session {}", text(rest)),
        Some((&RETAINED, rest)) => format!("retained {}", text(rest)),
        Some((&ACKS, rest)) => format!("finished runs {}", text(rest)),
        Some((&LOG, _)) => match log_id(key) {
            Some(id) => format!("log record #{id}"),
            None => text(key),
        },
        _ => text(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_and_log_records_sort_by_id() {
        let ab = ClientId::new("ab").unwrap();
        assert_eq!(session_client(&session(&ab)), Some(ab.clone()));
        assert_eq!(acks_client(&acks(&ab)), Some(ab.clone()));
        assert_eq!(log_id(&log(300)), Some(300));
        assert!(log(2) < log(256));
        assert_eq!(describe(&log(5)), "log record #5");
        assert_eq!(describe(&session(&ab)), "session ab");
    }
}
