//! The stable, versioned byte form of a [`StoredSession`]: what a durable store writes and what
//! a node sends to a peer that takes a client over.
//!
//! One session is one record; every integer is big-endian:
//!
//! ```text
//! magic        "SKS"                       3 bytes
//! version      u8 = 2
//! client id    u16 length + UTF-8
//! expiry       u32                         Session Expiry Interval, seconds
//! subs         u32 count, then per subscription:
//!                filter        u16 length + UTF-8
//!                options       u8          the MQTT 5 subscription options byte
//!                id            u32         Subscription Identifier, 0: none
//! outbound     u32 count, then per exchange, in retransmission order:
//!                0, u32 length, PUBLISH    a PUBLISH sent and not acknowledged, as sent,
//!                                          encoded as an MQTT 5 packet
//!                1, u16 packet id          a PUBREL sent, no PUBCOMP yet
//! shared       u32 count, then u16 packet id + u16 length + filter
//! inbound qos2 u32 count, then u16 packet ids
//! stored       u32 count, then u16 packet id + u64 store sequence number   (version 2)
//! will         u8 0: none; 1: u32 delay (s), u64 age (ms), u32 length, PUBLISH (MQTT 5)
//!                                          the will not yet published: an online session's,
//!                                          or an offline one's waiting for its delay
//! ```
//!
//! MQTT's own PUBLISH encoding carries the messages, so every property survives the trip and
//! the codec's checks guard what is read back. A will's PUBLISH at QoS 1 or 2 carries packet
//! identifier 1, which means nothing. Instants do not cross processes: a will's receive time
//! is written as its age at `now` and read back as `now` minus that age, so its Message
//! Expiry Interval keeps counting.
//!
//! Version 1 had no `stored` section; it is read as empty.
//!
//! A new field means a new version: [`StoredSession::decode`] reads every version it knows and
//! refuses a later one (a record written by a newer Skein) as [`StoreError::Corrupt`], never
//! guessing. Decoding checks bounds and rejects trailing bytes; it never panics on any input.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use super::{StoreError, StoredInflight, StoredSession};
use crate::codec::{
    put_field, Decoder, EncodeError, Packet, Publish, QosPid, Reader, SubscriptionOptions,
    Violation,
};
use crate::router::SubscriptionEntry;
use crate::session::{Message, WillMessage};
use crate::types::{ClientId, PacketId, ProtocolVersion, QoS, SubscriptionId};

/// The first bytes of every record.
const MAGIC: &[u8; 3] = b"SKS";
/// The version this code writes.
pub const SESSION_FORMAT_VERSION: u8 = 2;
/// Outbound entry tags.
const TAG_PUBLISH: u8 = 0;
const TAG_RELEASED: u8 = 1;

impl StoredSession {
    /// Appends the record's byte form (version [`SESSION_FORMAT_VERSION`]) to `buf`; `now` is
    /// the clock the will's receive time is on. Fails, writing nothing, on a field its form
    /// cannot hold (a PUBLISH over the MQTT size limit). Strings need no check: every string
    /// type holds at most 65,535 bytes from its construction.
    pub fn encode(&self, now: Instant, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let mut out = BytesMut::new();
        out.put_slice(MAGIC);
        out.put_u8(SESSION_FORMAT_VERSION);
        put_field(&mut out, self.client_id.as_str().as_bytes());
        out.put_u32(self.session_expiry);
        put_count(&mut out, self.subscriptions.len())?;
        for (filter, entry) in &self.subscriptions {
            put_field(&mut out, filter.as_str().as_bytes());
            out.put_u8(entry.options.to_byte(ProtocolVersion::V5));
            out.put_u32(entry.id.map_or(0, SubscriptionId::get));
        }
        put_count(&mut out, self.outbound.len())?;
        for inflight in &self.outbound {
            match inflight {
                StoredInflight::Publish(publish) => {
                    out.put_u8(TAG_PUBLISH);
                    put_publish(&mut out, Publish::clone(publish))?;
                }
                StoredInflight::Released(id) => {
                    out.put_u8(TAG_RELEASED);
                    out.put_u16(id.get());
                }
            }
        }
        put_count(&mut out, self.shared_outbound.len())?;
        for (id, filter) in &self.shared_outbound {
            out.put_u16(id.get());
            put_field(&mut out, filter.as_str().as_bytes());
        }
        put_count(&mut out, self.inbound_qos2.len())?;
        for id in &self.inbound_qos2 {
            out.put_u16(id.get());
        }
        put_count(&mut out, self.stored_outbound.len())?;
        for (id, seq) in &self.stored_outbound {
            out.put_u16(id.get());
            out.put_u64(*seq);
        }
        match &self.will {
            None => out.put_u8(0),
            Some(will) => {
                out.put_u8(1);
                out.put_u32(will.delay);
                let age = now.saturating_duration_since(will.message.received_at);
                out.put_u64(u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
                put_publish(&mut out, will_publish(&will.message))?;
            }
        }
        buf.extend_from_slice(&out);
        Ok(())
    }

    /// The session a record holds, its will's receive time on `now`'s clock. Any byte string
    /// is safe to pass: what is not a complete record of a known version is
    /// [`StoreError::Corrupt`].
    pub fn decode(record: Bytes, now: Instant) -> Result<StoredSession, StoreError> {
        let mut client = String::new();
        read_session(record, now, &mut client).map_err(|reason| StoreError::Corrupt {
            client_id: client,
            reason,
        })
    }
}

/// Reads one record; `client` gets the client identifier as soon as it is known, for the
/// error.
fn read_session(record: Bytes, now: Instant, client: &mut String) -> Result<StoredSession, String> {
    let mut r = Reader::new(record);
    let magic = r.take(MAGIC.len()).map_err(short)?;
    if magic.as_ref() != MAGIC {
        return Err("not a session record".to_owned());
    }
    let version = r.u8().map_err(short)?;
    if version != SESSION_FORMAT_VERSION && version != 1 {
        return Err(format!(
            "session format version {version}; this Skein reads version {SESSION_FORMAT_VERSION}"
        ));
    }
    let client_id = ClientId::new(r.string().map_err(bad)?.as_str()).map_err(bad)?;
    client.push_str(client_id.as_str());
    let session_expiry = r.u32().map_err(short)?;
    let mut subscriptions = Vec::new();
    for _ in 0..r.u32().map_err(short)? {
        let filter = r.topic_filter().map_err(bad)?;
        let options = SubscriptionOptions::from_byte(r.u8().map_err(short)?, ProtocolVersion::V5)
            .map_err(bad)?;
        let id = match r.u32().map_err(short)? {
            0 => None,
            id => Some(SubscriptionId::new(id).map_err(bad)?),
        };
        subscriptions.push((filter, SubscriptionEntry::new(options, id)));
    }
    let mut outbound = Vec::new();
    for _ in 0..r.u32().map_err(short)? {
        outbound.push(match r.u8().map_err(short)? {
            TAG_PUBLISH => StoredInflight::Publish(Box::new(read_publish(&mut r)?)),
            TAG_RELEASED => StoredInflight::Released(r.packet_id().map_err(bad)?),
            tag => return Err(format!("unknown in-flight entry {tag}")),
        });
    }
    let mut shared_outbound = Vec::new();
    for _ in 0..r.u32().map_err(short)? {
        let id = r.packet_id().map_err(bad)?;
        shared_outbound.push((id, r.topic_filter().map_err(bad)?));
    }
    let mut inbound_qos2 = Vec::new();
    for _ in 0..r.u32().map_err(short)? {
        inbound_qos2.push(r.packet_id().map_err(bad)?);
    }
    let mut stored_outbound = Vec::new();
    if version >= 2 {
        for _ in 0..r.u32().map_err(short)? {
            let id = r.packet_id().map_err(bad)?;
            stored_outbound.push((id, r.u64().map_err(short)?));
        }
    }
    let will = match r.u8().map_err(short)? {
        0 => None,
        1 => {
            let delay = r.u32().map_err(short)?;
            let age = Duration::from_millis(r.u64().map_err(short)?);
            let publish = read_publish(&mut r)?;
            let received_at = now.checked_sub(age).unwrap_or(now);
            let message = Message::from_publish(publish, received_at).map_err(|e| e.to_string())?;
            Some(WillMessage { message, delay })
        }
        flag => return Err(format!("will flag {flag}")),
    };
    r.finish()
        .map_err(|_| "trailing bytes after the record".to_owned())?;
    Ok(StoredSession {
        client_id,
        session_expiry,
        subscriptions,
        outbound,
        shared_outbound,
        inbound_qos2,
        stored_outbound,
        will,
    })
}

/// The error text of a record that ends early.
pub(super) fn short(_: Violation) -> String {
    "the record ends early".to_owned()
}

/// The error text of a field that does not hold a valid value.
pub(super) fn bad(violation: Violation) -> String {
    violation.to_string()
}

/// A u32 count of items.
pub(super) fn put_count(out: &mut BytesMut, count: usize) -> Result<(), EncodeError> {
    out.put_u32(u32::try_from(count).map_err(|_| EncodeError::TooLarge(count))?);
    Ok(())
}

/// A u32-length-prefixed MQTT 5 PUBLISH packet, encoded in place.
pub(super) fn put_publish(out: &mut BytesMut, publish: Publish) -> Result<(), EncodeError> {
    let packet = Packet::Publish(publish);
    put_count(out, packet.encoded_len(ProtocolVersion::V5)?)?;
    packet.encode(ProtocolVersion::V5, out)?;
    Ok(())
}

/// Reads a u32-length-prefixed MQTT 5 PUBLISH packet.
pub(super) fn read_publish(r: &mut Reader) -> Result<Publish, String> {
    let len = r.u32().map_err(short)?;
    let len = usize::try_from(len).map_err(|_| "a PUBLISH too large".to_owned())?;
    let mut bytes = BytesMut::from(r.take(len).map_err(short)?.as_ref());
    match Decoder::with_version(ProtocolVersion::V5).decode(&mut bytes) {
        Ok(Some(Packet::Publish(publish))) if bytes.is_empty() => Ok(publish),
        Ok(Some(_)) => Err("an in-flight entry that is not one PUBLISH".to_owned()),
        Ok(None) => Err("an incomplete PUBLISH".to_owned()),
        Err(error) => Err(format!("a bad PUBLISH: {error}")),
    }
}

/// The PUBLISH that carries a will's (or a queued or retained) message; QoS 1 and 2 need a
/// packet identifier on the wire, and 1 stands in for it.
pub(super) fn will_publish(message: &Message) -> Publish {
    let qos_pid = match message.qos {
        QoS::AtMostOnce => QosPid::AtMostOnce,
        QoS::AtLeastOnce => QosPid::AtLeastOnce(PacketId::MIN),
        QoS::ExactlyOnce => QosPid::ExactlyOnce(PacketId::MIN),
    };
    Publish {
        dup: false,
        qos_pid,
        retain: message.retain,
        topic: Some(message.topic.clone()),
        payload: message.payload.clone(),
        properties: message.properties.clone(),
    }
}
