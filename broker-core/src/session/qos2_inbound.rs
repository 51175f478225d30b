//! Exactly-once receive state: QoS 2 messages the client published.

use std::collections::HashSet;
use std::num::NonZeroU16;

use crate::codec::Ack;
use crate::types::{PacketId, ReasonCode};

/// The client sent more unacknowledged QoS 2 PUBLISH packets than the server's Receive
/// Maximum allows: the server disconnects with 0x93 Receive Maximum exceeded (MQTT 5.0
/// §3.3.4, the sentence after [MQTT-3.3.4-7]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client exceeded the server's Receive Maximum of {maximum} [MQTT-3.3.4-7]")]
pub struct ReceiveMaximumExceeded {
    /// The server's Receive Maximum.
    pub maximum: u16,
}

impl ReceiveMaximumExceeded {
    /// The normative statement the client broke.
    pub const STATEMENT: &'static str = "MQTT-3.3.4-7";

    /// The DISCONNECT reason code: 0x93.
    #[must_use]
    pub fn reason_code(self) -> ReasonCode {
        ReasonCode::ReceiveMaximumExceeded
    }
}

/// What to do with a QoS 2 PUBLISH from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundQos2Publish {
    /// A new message: deliver it onward, then answer PUBREC ([MQTT-4.3.3-8]). If the server
    /// refuses it (PUBREC with a code of 0x80 or more), call [`InboundQos2::refuse`].
    New,
    /// A repeat of a message received and not yet released: answer PUBREC again and do not
    /// deliver it again ([MQTT-4.3.3-10]).
    Duplicate,
}

/// The packet identifiers of the QoS 2 messages the client published for which the server
/// sent PUBREC and has not yet received PUBREL (MQTT 5.0 §4.3.3, the receiver's side).
///
/// It remembers identifiers, not messages: the message is delivered onward once, when it
/// first arrives, and the identifier stops a repeated PUBLISH from being delivered twice until
/// the PUBREL releases it ([MQTT-4.3.3-10], [MQTT-4.3.3-12]). This state is part of the
/// session and survives reconnection; the Receive Maximum is per connection.
///
/// The bound counts QoS 2 exchanges only. A session that answers QoS 1 PUBLISH packets later
/// than on receipt (for instance after persisting them) counts those itself against the
/// same Receive Maximum.
#[derive(Debug, Clone)]
pub struct InboundQos2 {
    receive_maximum: NonZeroU16,
    /// The pending identifiers, once there was one: most sessions never hold any, and an
    /// empty set is 48 bytes of every session, a box 8.
    #[allow(clippy::box_collection)]
    pending: Option<Box<HashSet<PacketId>>>,
    /// Whether an identifier was added or released since the last
    /// [`clear_changed`](Self::clear_changed).
    changed: bool,
}

impl InboundQos2 {
    /// No exchange pending, bounded by the server's Receive Maximum (the value sent in
    /// CONNACK, 65,535 when absent).
    #[must_use]
    pub fn new(receive_maximum: NonZeroU16) -> Self {
        InboundQos2 {
            receive_maximum,
            pending: None,
            changed: false,
        }
    }

    /// The server's Receive Maximum in force.
    pub(crate) fn receive_maximum(&self) -> NonZeroU16 {
        self.receive_maximum
    }

    /// Sets the Receive Maximum of a new connection resuming this session.
    pub fn set_receive_maximum(&mut self, receive_maximum: NonZeroU16) {
        self.receive_maximum = receive_maximum;
    }

    /// How many identifiers await their PUBREL.
    #[must_use]
    pub fn len(&self) -> usize {
        self.pending.as_ref().map_or(0, |p| p.len())
    }

    /// Whether no identifier awaits its PUBREL.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pending.as_ref().is_none_or(|p| p.is_empty())
    }

    /// Whether `id` awaits its PUBREL.
    #[must_use]
    pub fn contains(&self, id: PacketId) -> bool {
        self.pending.as_ref().is_some_and(|p| p.contains(&id))
    }

    /// Handles a QoS 2 PUBLISH with identifier `id`, whatever its DUP flag.
    ///
    /// A new identifier beyond the Receive Maximum is refused with
    /// [`ReceiveMaximumExceeded`]: disconnect with its reason code. A repeated one is always
    /// accepted, since it takes no new slot.
    pub fn handle_publish(
        &mut self,
        id: PacketId,
    ) -> Result<InboundQos2Publish, ReceiveMaximumExceeded> {
        if self.contains(id) {
            return Ok(InboundQos2Publish::Duplicate);
        }
        if self.len() >= usize::from(self.receive_maximum.get()) {
            return Err(ReceiveMaximumExceeded {
                maximum: self.receive_maximum.get(),
            });
        }
        self.pending.get_or_insert_default().insert(id);
        self.changed = true;
        Ok(InboundQos2Publish::New)
    }

    /// Forgets `id` after the server answered its PUBLISH with a PUBREC carrying 0x80 or
    /// more: a later PUBLISH with that identifier is a new message ([MQTT-4.3.3-9]).
    /// Returns whether `id` was pending.
    pub fn refuse(&mut self, id: PacketId) -> bool {
        let removed = self.pending.as_mut().is_some_and(|p| p.remove(&id));
        self.changed |= removed;
        removed
    }

    /// Handles a PUBREL and returns the PUBCOMP to answer with, carrying the same identifier
    /// ([MQTT-4.3.3-11]): Success if the identifier was pending, which releases it
    /// ([MQTT-4.3.3-12]); 0x92 Packet Identifier not found otherwise (MQTT 5.0 §3.7.2.1).
    pub fn handle_pubrel(&mut self, pubrel: &Ack) -> Ack {
        let id = pubrel.packet_id;
        let code = if self.pending.as_mut().is_some_and(|p| p.remove(&id)) {
            self.changed = true;
            ReasonCode::Success
        } else {
            ReasonCode::PacketIdentifierNotFound
        };
        Ack {
            code,
            ..Ack::new(id)
        }
    }

    /// Whether an identifier was added or released since the last
    /// [`clear_changed`](Self::clear_changed): a persistent session's record must say so
    /// before the PUBREC or PUBCOMP that follows leaves, or a crash could have a repeated
    /// PUBLISH delivered twice, or a new one taken for a repeat.
    #[must_use]
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// The record has been written: see [`changed`](Self::changed).
    pub fn clear_changed(&mut self) {
        self.changed = false;
    }

    /// The pending identifiers, in no particular order (for persisting the session).
    pub fn iter(&self) -> impl Iterator<Item = PacketId> + '_ {
        self.pending.iter().flat_map(|p| p.iter().copied())
    }

    /// Records `id` as pending, as when a session is restored from a store; the Receive
    /// Maximum is not checked. Returns whether it was new.
    pub fn restore(&mut self, id: PacketId) -> bool {
        self.pending.get_or_insert_default().insert(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(value: u16) -> PacketId {
        PacketId::new(value).unwrap()
    }

    fn window(n: u16) -> InboundQos2 {
        InboundQos2::new(NonZeroU16::new(n).unwrap())
    }

    #[test]
    fn duplicates_are_not_delivered_again_mqtt_4_3_3_10() {
        // [MQTT-4.3.3-10]: until PUBREL, a PUBLISH with the same id gets PUBREC, no delivery.
        let mut q = window(10);
        assert_eq!(q.handle_publish(id(5)), Ok(InboundQos2Publish::New));
        assert_eq!(q.handle_publish(id(5)), Ok(InboundQos2Publish::Duplicate));
        assert_eq!(q.handle_publish(id(5)), Ok(InboundQos2Publish::Duplicate));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn pubrel_answers_pubcomp_mqtt_4_3_3_11_and_12() {
        let mut q = window(10);
        q.handle_publish(id(5)).unwrap();
        // [MQTT-4.3.3-11]: PUBCOMP with the same id.
        let comp = q.handle_pubrel(&Ack::new(id(5)));
        assert_eq!(comp, Ack::new(id(5)));
        assert!(q.is_empty());
        // [MQTT-4.3.3-12]: afterwards the same id is a new message.
        assert_eq!(q.handle_publish(id(5)), Ok(InboundQos2Publish::New));
    }

    #[test]
    fn unknown_pubrel_gets_0x92() {
        // MQTT 5.0 §3.7.2.1: PUBCOMP 0x92 Packet Identifier not found.
        let mut q = window(10);
        let comp = q.handle_pubrel(&Ack::new(id(8)));
        assert_eq!(comp.packet_id, id(8));
        assert_eq!(comp.code, ReasonCode::PacketIdentifierNotFound);
    }

    #[test]
    fn refused_ids_are_new_again_mqtt_4_3_3_9() {
        let mut q = window(10);
        q.handle_publish(id(5)).unwrap();
        assert!(q.refuse(id(5)));
        assert!(!q.refuse(id(5)));
        assert_eq!(q.handle_publish(id(5)), Ok(InboundQos2Publish::New));
    }

    #[test]
    fn receive_maximum_exceeded_is_0x93() {
        // MQTT 5.0 §3.3.4 (after [MQTT-3.3.4-7]): more than Receive Maximum -> 0x93.
        let mut q = window(2);
        q.handle_publish(id(1)).unwrap();
        q.handle_publish(id(2)).unwrap();
        let err = q.handle_publish(id(3)).unwrap_err();
        assert_eq!(err, ReceiveMaximumExceeded { maximum: 2 });
        assert_eq!(err.reason_code(), ReasonCode::ReceiveMaximumExceeded);
        assert_eq!(err.reason_code().get(), 0x93);
        // A duplicate takes no new slot.
        assert_eq!(q.handle_publish(id(2)), Ok(InboundQos2Publish::Duplicate));
        q.handle_pubrel(&Ack::new(id(1)));
        assert_eq!(q.handle_publish(id(3)), Ok(InboundQos2Publish::New));
    }

    #[test]
    fn restore_skips_the_bound() {
        let mut q = window(1);
        assert!(q.restore(id(1)));
        assert!(q.restore(id(2)));
        assert!(!q.restore(id(2)));
        assert_eq!(q.handle_publish(id(2)), Ok(InboundQos2Publish::Duplicate));
        let mut ids: Vec<_> = q.iter().map(PacketId::get).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![1, 2]);
    }
}
