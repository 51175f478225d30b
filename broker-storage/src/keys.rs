//! The key layout of the store's one sled tree (one tree, so that a batch of writes is atomic:
//! sled applies a batch atomically per tree).
//!
//! ```text
//! s <client id>                   session record
//! q <client id> 0x00 <seq u64>    a queued message of the client, oldest first
//! r <topic>                       retained message
//! x <key>                         a damaged record, moved out of the way (the quarantine)
//! m format                        the store's format, u32
//! m seq                           the last queue sequence number given, u64
//! ```
//!
//! A client identifier holds no U+0000 (MQTT forbids it in every string), so `0x00` ends it in
//! a queue key, and one client's queue is one contiguous range that no other client's
//! identifier can fall into. Integers are big-endian, so keys sort as the numbers do.

use broker_core::types::{ClientId, TopicName};

const SESSION: u8 = b's';
const QUEUED: u8 = b'q';
const RETAINED: u8 = b'r';

/// The key of the store's format number.
pub(crate) const FORMAT: &[u8] = b"mformat";
/// The key of the last queue sequence number given.
pub(crate) const LAST_SEQ: &[u8] = b"mseq";

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

/// The start of `client_id`'s queue: every key of it starts so.
pub(crate) fn queue_prefix(client_id: &ClientId) -> Vec<u8> {
    let mut key = prefixed(QUEUED, client_id.as_str(), 9);
    key.push(0);
    key
}

/// The key of `client_id`'s queued message `seq`.
pub(crate) fn queued(client_id: &ClientId, seq: u64) -> Vec<u8> {
    let mut key = queue_prefix(client_id);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The sequence number of a queue key.
pub(crate) fn queued_seq(key: &[u8]) -> Option<u64> {
    let (_, seq) = key.split_last_chunk::<8>()?;
    Some(u64::from_be_bytes(*seq))
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

/// A key as a person reads it: `session c1`, `queued c1 #42`, `retained a/b`.
pub(crate) fn describe(key: &[u8]) -> String {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match key.split_first() {
        Some((&SESSION, rest)) => format!("session {}", text(rest)),
        Some((&RETAINED, rest)) => format!("retained {}", text(rest)),
        Some((&QUEUED, rest)) => match (rest.split_last_chunk::<9>(), queued_seq(key)) {
            (Some((client, _)), Some(seq)) => format!("queued {} #{seq}", text(client)),
            _ => format!("queued {}", text(rest)),
        },
        _ => text(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_clients_queue_is_a_range_no_other_client_falls_into() {
        let a = ClientId::new("a").unwrap();
        let ab = ClientId::new("ab").unwrap();
        let prefix = queue_prefix(&a);
        assert!(queued(&a, 0).starts_with(&prefix));
        assert!(queued(&a, u64::MAX).starts_with(&prefix));
        assert!(!queued(&ab, 1).starts_with(&prefix));
        assert!(queued(&a, 2) < queued(&a, 256));
        assert_eq!(queued_seq(&queued(&a, 300)), Some(300));
        assert_eq!(session_client(&session(&ab)), Some(ab));
    }
}
