//! A log record: the queued messages one committed batch added, every persistent
//! subscriber's copy under its own sequence number, in one value.
//!
//! ```text
//! version  u8 (1)
//! count    u32
//! count times:
//!   seq      u64
//!   client   u16 length, then the client identifier
//!   message  u32 length, then the queued message's byte form (broker-core's
//!            `encode_queued`); the length SAME says "the same bytes as the entry before"
//! ```
//!
//! One value per batch instead of one key per copy: the B-tree copies a page on every change,
//! so the cost of a batch no longer grows with its copies, and a message with many persistent
//! subscribers is written once. The whole value is sealed ([`record`](crate::record)).

use std::ops::Range;

use broker_core::types::ClientId;
use bytes::{Buf, BufMut, Bytes};

/// The version of this layout.
const VERSION: u8 = 1;
/// A message length that says "the same bytes as the entry before".
const SAME: u32 = u32::MAX;

/// One queued copy in a log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogEntry {
    /// Its sequence number.
    pub(crate) seq: u64,
    /// Whose queue.
    pub(crate) client_id: ClientId,
    /// The queued message's byte form.
    pub(crate) message: Bytes,
}

/// Builds one log record, entry by entry.
#[derive(Debug, Default)]
pub(crate) struct LogWriter {
    buf: Vec<u8>,
    count: u32,
    last_message: Option<Bytes>,
}

impl LogWriter {
    /// Adds a copy. A copy whose bytes are those of the copy before (one message, many
    /// subscribers with the same options) is written as a reference to it.
    pub(crate) fn push(&mut self, seq: u64, client_id: &ClientId, message: &Bytes) {
        if self.count == 0 {
            self.buf.put_u8(VERSION);
            self.buf.put_u32(0);
        }
        self.count += 1;
        self.buf.put_u64(seq);
        // A client identifier is at most 65,535 bytes: MQTT strings are.
        let id = client_id.as_str().as_bytes();
        let len = u16::try_from(id.len()).unwrap_or(u16::MAX);
        self.buf.put_u16(len);
        self.buf
            .put_slice(id.get(..usize::from(len)).unwrap_or_default());
        if self.last_message.as_ref() == Some(message) {
            self.buf.put_u32(SAME);
        } else {
            // A queued message's byte form is below 4 GiB: MQTT packets are below 256 MiB.
            self.buf
                .put_u32(u32::try_from(message.len()).unwrap_or(SAME - 1));
            self.buf.put_slice(message);
            self.last_message = Some(message.clone());
        }
    }

    /// The record's bytes (unsealed); the writer is empty again.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        if let Some(count) = self.buf.get_mut(1..5) {
            count.copy_from_slice(&self.count.to_be_bytes());
        }
        self.count = 0;
        self.last_message = None;
        std::mem::take(&mut self.buf)
    }
}

/// The entries of a log record (unsealed), or why it does not read.
pub(crate) fn read(record: Bytes) -> Result<Vec<LogEntry>, String> {
    let mut entries = Vec::new();
    walk(&record, |seq, id, message| {
        let text = std::str::from_utf8(id).map_err(|e| format!("a client identifier: {e}"))?;
        let client_id = ClientId::new(text).map_err(|e| format!("a client identifier: {e:?}"))?;
        entries.push(LogEntry {
            seq,
            client_id,
            message: record.slice(message),
        });
        Ok(())
    })?;
    Ok(entries)
}

/// The copies of `client_id` in a log record (unsealed) whose numbers `wanted` takes, with
/// their numbers, each in bytes of its own, or why the record does not read. The other
/// entries are only stepped over: a queue reading its next copies back from a record that
/// holds every subscriber's copies of a batch copies nothing else.
pub(crate) fn read_client(
    record: &[u8],
    client_id: &ClientId,
    mut wanted: impl FnMut(u64) -> bool,
) -> Result<Vec<(u64, Bytes)>, String> {
    let id = client_id.as_str().as_bytes();
    let mut copies = Vec::new();
    walk(record, |seq, entry_id, message| {
        if entry_id == id && wanted(seq) {
            let bytes = record.get(message).unwrap_or_default();
            copies.push((seq, Bytes::copy_from_slice(bytes)));
        }
        Ok(())
    })?;
    Ok(copies)
}

/// Calls `each` with every entry of a log record (unsealed): its number, its client
/// identifier's bytes, and where its message's bytes are; or says why the record does not
/// read.
fn walk(
    record: &[u8],
    mut each: impl FnMut(u64, &[u8], Range<usize>) -> Result<(), String>,
) -> Result<(), String> {
    let short = || "the log record ends early".to_owned();
    let mut r = record;
    if r.remaining() < 5 {
        return Err(short());
    }
    let version = r.get_u8();
    if version != VERSION {
        return Err(format!("log record version {version}, expected {VERSION}"));
    }
    let count = r.get_u32();
    let mut last: Option<Range<usize>> = None;
    for _ in 0..count {
        if r.remaining() < 10 {
            return Err(short());
        }
        let seq = r.get_u64();
        let id_len = usize::from(r.get_u16());
        if r.remaining() < id_len + 4 {
            return Err(short());
        }
        let (id, rest) = r.split_at(id_len);
        r = rest;
        let message = match r.get_u32() {
            SAME => last
                .clone()
                .ok_or_else(|| "the first entry refers to one before it".to_owned())?,
            len => {
                let len = usize::try_from(len).map_err(|e| e.to_string())?;
                let at = record.len() - r.remaining();
                r = r.get(len..).ok_or_else(short)?;
                at..at + len
            }
        };
        last = Some(message.clone());
        each(seq, id, message)?;
    }
    if r.has_remaining() {
        return Err(format!("{} bytes after the last entry", r.remaining()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str) -> ClientId {
        ClientId::new(name).unwrap()
    }

    #[test]
    fn entries_read_back_in_order_and_a_repeated_message_is_written_once() {
        let message = Bytes::from_static(b"one message, many subscribers");
        let other = Bytes::from_static(b"another");
        let mut writer = LogWriter::default();
        writer.push(7, &client("a"), &message);
        writer.push(8, &client("b"), &message);
        writer.push(9, &client("c"), &other);
        writer.push(10, &client("a"), &message);
        let record = writer.finish();
        assert!(writer.finish().is_empty(), "finish leaves the writer empty");
        let once = record
            .windows(message.len())
            .filter(|w| *w == &message[..])
            .count();
        assert_eq!(once, 2, "the message twice in a row is written once");
        let entries = read(Bytes::from(record)).unwrap();
        let got: Vec<(u64, &str, &[u8])> = entries
            .iter()
            .map(|e| (e.seq, e.client_id.as_str(), &e.message[..]))
            .collect();
        assert_eq!(
            got,
            vec![
                (7, "a", &message[..]),
                (8, "b", &message[..]),
                (9, "c", &other[..]),
                (10, "a", &message[..]),
            ]
        );
    }

    #[test]
    fn one_clients_wanted_copies_read_alone_even_through_a_repeated_message() {
        let message = Bytes::from_static(b"shared");
        let mut writer = LogWriter::default();
        writer.push(1, &client("b"), &message);
        writer.push(2, &client("a"), &message);
        writer.push(3, &client("ab"), &Bytes::from_static(b"x"));
        writer.push(4, &client("a"), &Bytes::from_static(b"own"));
        writer.push(5, &client("a"), &Bytes::from_static(b"skipped"));
        let record = writer.finish();
        let got = read_client(&record, &client("a"), |seq| seq != 5).unwrap();
        let got: Vec<(u64, &[u8])> = got.iter().map(|(s, m)| (*s, &m[..])).collect();
        assert_eq!(got, vec![(2, &b"shared"[..]), (4, &b"own"[..])]);
        assert!(read_client(&record[..record.len() - 1], &client("a"), |_| true).is_err());
    }

    #[test]
    fn a_cut_or_bad_record_is_an_error_not_a_panic() {
        let mut writer = LogWriter::default();
        writer.push(1, &client("a"), &Bytes::from_static(b"m"));
        writer.push(2, &client("b"), &Bytes::from_static(b"m"));
        let record = writer.finish();
        for len in 0..record.len() {
            assert!(read(Bytes::copy_from_slice(&record[..len])).is_err());
        }
        let mut longer = record.clone();
        longer.push(0);
        assert!(read(Bytes::from(longer)).is_err());
        let mut version = record;
        version[0] = 9;
        assert!(read(Bytes::from(version)).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_read_without_a_panic(bytes in proptest::collection::vec(0u8.., 0..256)) {
            let _ = read(Bytes::from(bytes));
        }
    }
}
