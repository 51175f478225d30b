//! The stable, versioned byte forms of a queued message and a retained message: what a
//! durable store writes beside the session records (`session_format.rs`).
//!
//! Every integer is big-endian; the message itself is an MQTT 5 PUBLISH, as in the session
//! record, so every property survives the trip and the codec's checks guard what is read back.
//!
//! ```text
//! queued message                           retained message
//! magic     "SKQ"               3 bytes     magic     "SKR"              3 bytes
//! version   u8 = 1                          version   u8 = 1
//! received  u64 Unix ms                     stored at u64 (the caller's seconds)
//! qos       u8  delivery QoS                PUBLISH   u32 length + packet (MQTT 5),
//! retain    u8  RETAIN flag to send                   at the published QoS
//! sub ids   u32 count, then u32 each
//! shared    u8 0: none; 1: u16 length + filter
//! PUBLISH   u32 length + packet (MQTT 5), at the published QoS and RETAIN flag
//! ```
//!
//! A queued message's receive time is written as wall-clock time (Unix milliseconds), and read
//! back on the reader's monotonic clock: the time the broker was down counts against the
//! Message Expiry Interval, as it would have had the broker run. Like the session record, a
//! later version is refused as [`StoreError::Corrupt`], and decoding never panics.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use super::session_format::{bad, put_count, put_publish, read_publish, short, will_publish};
use super::StoreError;
use crate::codec::{put_field, EncodeError, Reader};
use crate::router::RetainedMessage;
use crate::session::{Message, QueuedMessage};
use crate::types::{QoS, SubscriptionId};

const QUEUED_MAGIC: &[u8; 3] = b"SKQ";
const RETAINED_MAGIC: &[u8; 3] = b"SKR";
/// The version of both forms this code writes.
pub const MESSAGE_FORMAT_VERSION: u8 = 1;

/// A monotonic instant and the wall-clock time (Unix milliseconds) it stands for: how a
/// receive time crosses a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    /// The monotonic clock's now.
    pub now: Instant,
    /// The same moment in Unix milliseconds.
    pub unix_ms: u64,
}

impl WallClock {
    /// Now, on both clocks.
    #[must_use]
    pub fn now() -> Self {
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        WallClock {
            now: Instant::now(),
            unix_ms,
        }
    }

    /// `at` in Unix milliseconds.
    fn to_unix(self, at: Instant) -> u64 {
        let age = self.now.saturating_duration_since(at);
        self.unix_ms
            .saturating_sub(u64::try_from(age.as_millis()).unwrap_or(u64::MAX))
    }

    /// Unix milliseconds `unix_ms` on the monotonic clock (now, for a time in the future or
    /// too far in the past for the clock).
    fn to_instant(self, unix_ms: u64) -> Instant {
        let age = Duration::from_millis(self.unix_ms.saturating_sub(unix_ms));
        self.now.checked_sub(age).unwrap_or(self.now)
    }
}

/// Encodes `message` (its receive time on `clock`) and appends it to `buf`; fails, writing
/// nothing, on a message its form cannot hold.
pub fn encode_queued(
    message: &QueuedMessage,
    clock: WallClock,
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    let start = buf.len();
    let written = put_queued(message, clock, buf);
    if written.is_err() {
        buf.truncate(start);
    }
    written
}

fn put_queued(
    message: &QueuedMessage,
    clock: WallClock,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    out.put_slice(QUEUED_MAGIC);
    out.put_u8(MESSAGE_FORMAT_VERSION);
    out.put_u64(clock.to_unix(message.message.received_at));
    out.put_u8(message.qos as u8);
    out.put_u8(u8::from(message.retain));
    put_count(out, message.subscription_ids.len())?;
    for id in &message.subscription_ids {
        out.put_u32(id.get());
    }
    match &message.shared {
        None => out.put_u8(0),
        Some(filter) => {
            out.put_u8(1);
            put_field(out, filter.as_str().as_bytes());
        }
    }
    put_publish(out, will_publish(&message.message))
}

/// The queued message a record holds, its receive time on `clock`'s monotonic clock. Any
/// byte string is safe to pass.
pub fn decode_queued(record: Bytes, clock: WallClock) -> Result<QueuedMessage, StoreError> {
    read_queued(record, clock).map_err(|reason| StoreError::Corrupt {
        client_id: String::new(),
        reason,
    })
}

fn read_queued(record: Bytes, clock: WallClock) -> Result<QueuedMessage, String> {
    let mut r = Reader::new(record);
    header(&mut r, QUEUED_MAGIC, "queued message")?;
    let received_at = clock.to_instant(r.u64().map_err(short)?);
    let qos = QoS::try_from(r.u8().map_err(short)?).map_err(bad)?;
    let retain = match r.u8().map_err(short)? {
        0 => false,
        1 => true,
        flag => return Err(format!("retain flag {flag}")),
    };
    let mut subscription_ids = Vec::new();
    for _ in 0..r.u32().map_err(short)? {
        subscription_ids.push(SubscriptionId::new(r.u32().map_err(short)?).map_err(bad)?);
    }
    let shared = match r.u8().map_err(short)? {
        0 => None,
        1 => Some(r.topic_filter().map_err(bad)?),
        flag => return Err(format!("shared flag {flag}")),
    };
    let publish = read_publish(&mut r)?;
    r.finish()
        .map_err(|_| "trailing bytes after the record".to_owned())?;
    let message = Message::from_publish(publish, received_at).map_err(|e| e.to_string())?;
    if qos > message.qos {
        return Err(format!(
            "delivery QoS {} above the published QoS {}",
            qos as u8, message.qos as u8
        ));
    }
    Ok(QueuedMessage {
        message,
        qos,
        retain,
        subscription_ids,
        shared,
        // The store's sequence number is its key, not part of the record.
        stored: None,
    })
}

/// Encodes `message` and appends it to `buf`; fails, writing nothing, on a message its form
/// cannot hold.
pub fn encode_retained(message: &RetainedMessage, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let mut out = BytesMut::new();
    out.put_slice(RETAINED_MAGIC);
    out.put_u8(MESSAGE_FORMAT_VERSION);
    out.put_u64(message.stored_at);
    let as_message = Message {
        topic: message.topic.clone(),
        payload: message.payload.clone(),
        qos: message.qos,
        retain: true,
        properties: message.properties.clone(),
        received_at: Instant::now(),
    };
    put_publish(&mut out, will_publish(&as_message))?;
    buf.extend_from_slice(&out);
    Ok(())
}

/// The retained message a record holds. Any byte string is safe to pass.
pub fn decode_retained(record: Bytes) -> Result<RetainedMessage, StoreError> {
    read_retained(record).map_err(|reason| StoreError::Corrupt {
        client_id: String::new(),
        reason,
    })
}

fn read_retained(record: Bytes) -> Result<RetainedMessage, String> {
    let mut r = Reader::new(record);
    header(&mut r, RETAINED_MAGIC, "retained message")?;
    let stored_at = r.u64().map_err(short)?;
    let publish = read_publish(&mut r)?;
    r.finish()
        .map_err(|_| "trailing bytes after the record".to_owned())?;
    let topic = publish
        .topic
        .ok_or_else(|| "a retained message without a topic".to_owned())?;
    Ok(RetainedMessage {
        topic,
        payload: publish.payload,
        qos: publish.qos_pid.qos(),
        properties: publish.properties,
        stored_at,
    })
}

/// Checks the magic and the version.
fn header(r: &mut Reader, magic: &[u8; 3], what: &str) -> Result<(), String> {
    if r.take(magic.len()).map_err(short)?.as_ref() != magic {
        return Err(format!("not a {what} record"));
    }
    let version = r.u8().map_err(short)?;
    if version != MESSAGE_FORMAT_VERSION {
        return Err(format!(
            "{what} format version {version}; this Skein reads version {MESSAGE_FORMAT_VERSION}"
        ));
    }
    Ok(())
}
