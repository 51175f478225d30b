//! QoS 1 and QoS 2 messages sent to the client and not yet acknowledged.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU16;

use super::{MessageError, PacketIdAllocator};
use crate::codec::{Ack, Publish};
use crate::types::{PacketId, QoS, ReasonCode, StoreSeq};

/// Where an outbound QoS 1 or QoS 2 exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InflightState {
    /// QoS 1 PUBLISH sent, PUBACK awaited ([MQTT-4.3.2-3]).
    AwaitingPubAck,
    /// QoS 2 PUBLISH sent, PUBREC awaited ([MQTT-4.3.3-3]).
    AwaitingPubRec,
    /// PUBREC received and PUBREL sent, PUBCOMP awaited ([MQTT-4.3.3-5]).
    AwaitingPubComp,
}

/// Why a message could not enter the in-flight window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InflightError {
    /// Receive Maximum unacknowledged QoS > 0 PUBLISH packets are in flight already: the
    /// message must wait ([MQTT-3.3.4-9], [MQTT-4.9.0-2]).
    #[error("the client's Receive Maximum is reached [MQTT-3.3.4-9]")]
    ReceiveMaximumReached,
    /// All 65,535 packet identifiers are in use ([MQTT-2.2.1-4]).
    #[error("no unused packet identifier is left [MQTT-2.2.1-4]")]
    NoPacketId,
    /// The packet identifier is in flight already (restoring a session).
    #[error("packet identifier {0} is already in flight")]
    PacketIdInUse(PacketId),
    /// The PUBLISH is QoS 0, or does not carry the packet identifier it was given.
    #[error("only a QoS 1 or QoS 2 PUBLISH with its assigned packet identifier can be in flight")]
    NotAcknowledged,
    /// The PUBLISH names its topic by an alias alone: it could not be retransmitted on a new
    /// connection, where aliases are gone ([MQTT-3.3.2-7]). Apply the alias after inserting.
    #[error("an in-flight PUBLISH must carry its topic name")]
    TopicAliasOnly,
    /// Building the PUBLISH failed (for instance the message expired).
    #[error(transparent)]
    Message(#[from] MessageError),
}

/// What a PUBACK did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubAckOutcome {
    /// The QoS 1 exchange is complete, whatever the reason code ([MQTT-4.4.0-2]); its packet
    /// identifier is free and the quota grows by one (MQTT 5.0 §4.9). The PUBLISH is returned.
    Acknowledged(Box<Publish>),
    /// Nothing uses this identifier: nothing changed, nothing to answer (a late or repeated
    /// acknowledgement cannot be told from a wrong one).
    Unknown,
    /// A QoS 2 exchange uses this identifier: a PUBACK answers only a QoS 1 PUBLISH
    /// (MQTT 5.0 and 3.1.1 §3.4), so this is a Protocol Error (MQTT 5.0 §1.2; 3.1.1
    /// [MQTT-4.8.0-1]). Nothing changed.
    WrongKind(InflightState),
}

/// What a PUBREC did, and the PUBREL to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubRecOutcome {
    /// Send this PUBREL (Success) and await PUBCOMP ([MQTT-4.3.3-4]). Also the answer to a
    /// repeated PUBREC for an identifier already released.
    Release(Ack),
    /// The PUBREC carries an error code: the exchange is over, no PUBREL is sent and the
    /// PUBLISH is never retransmitted ([MQTT-4.4.0-2]); its identifier is free and the quota
    /// grows by one. The PUBLISH is returned.
    Refused(Box<Publish>),
    /// Nothing uses this identifier: answer with this PUBREL carrying 0x92 (Packet
    /// Identifier not found, MQTT 5.0 §3.6.2.1). Nothing changed.
    Unknown(Ack),
    /// A PUBREC with an error code for an identifier that awaits no PUBREC (unknown, or
    /// released already): the flow it would answer is over, so no PUBREL is sent
    /// ([MQTT-4.4.0-2]). Nothing changed.
    Ignored,
    /// A QoS 1 PUBLISH uses this identifier: a PUBREC answers only a QoS 2 PUBLISH (MQTT 5.0
    /// and 3.1.1 §3.5), so this is a Protocol Error. Nothing changed.
    WrongKind(InflightState),
}

/// What a PUBCOMP did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PubCompOutcome {
    /// The QoS 2 exchange is complete; its identifier is free and the quota grows by one.
    Completed,
    /// Nothing uses this identifier: nothing changed, nothing to answer.
    Unknown,
    /// The exchange under this identifier awaits a PUBACK or a PUBREC: no PUBREL was sent
    /// for it, and a PUBCOMP answers only a PUBREL (MQTT 5.0 and 3.1.1 §3.7), so this is a
    /// Protocol Error. Nothing changed.
    WrongKind(InflightState),
}

/// A packet to send again when a session resumes ([MQTT-4.4.0-1]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retransmission {
    /// An unacknowledged PUBLISH, with DUP set and its original packet identifier.
    Publish(Box<Publish>),
    /// A PUBREL whose PUBCOMP has not come.
    PubRel(Ack),
}

#[derive(Debug, Clone)]
struct Entry {
    /// Position in send order.
    seq: u64,
    state: InflightState,
    /// The PUBLISH as sent, without topic alias; `None` once released.
    publish: Option<Box<Publish>>,
    /// The durable store's sequence number of the message, when a store holds it
    /// ([`QueuedMessage::stored`](super::QueuedMessage::stored)); six bytes, so that an entry
    /// stays 24.
    stored: Option<StoreSeq>,
}

/// The QoS 1 and QoS 2 messages sent to one client and not yet acknowledged, with the packet
/// identifiers they hold.
///
/// - **Flow control.** At most the client's Receive Maximum entries are in flight: an entry
///   counts from its PUBLISH until its PUBACK, its PUBCOMP, or a PUBREC with an error code
///   ([MQTT-3.3.4-9], MQTT 5.0 §4.9). [`insert`](Self::insert) refuses beyond it. MQTT 3.x has
///   no Receive Maximum: use the broker's own limit.
/// - **Packet identifiers.** Each entry holds an identifier from its own
///   [`PacketIdAllocator`], never one in use ([MQTT-2.2.1-4]); it is freed when the entry goes.
/// - **Retransmission.** [`retransmissions`](Self::retransmissions) lists what to resend when
///   the session resumes on a new connection, and only then ([MQTT-4.4.0-1]): unacknowledged
///   PUBLISH packets with DUP set, in the order they were first sent ([MQTT-4.6.0-1]), and
///   PUBREL packets for exchanges past PUBREC, in the order the PUBRECs came. A PUBLISH is
///   resent as first sent: once sent, a message is not expired again ([MQTT-4.3.3-7]).
/// - **Versions.** The answers carry MQTT 5 reason codes (0x92); the encoder drops them for
///   3.x, whose acknowledgements have none.
///
/// The window and the send quota are per connection (MQTT 5.0 §4.9): on a new connection call
/// [`set_receive_maximum`](Self::set_receive_maximum) with the new client's value. A resumed
/// session may then hold more entries than the new maximum; they are all retransmitted and no
/// new one enters until the window drains below the maximum.
#[derive(Debug, Clone)]
pub struct OutboundInflight {
    receive_maximum: NonZeroU16,
    /// The exchanges, once there was one: most sessions never hold any, and the window is
    /// part of every connection's memory.
    tracked: Option<Box<Tracked>>,
    next_seq: u64,
}

/// The exchanges in flight, their identifiers and their retransmission order.
#[derive(Debug, Clone)]
struct Tracked {
    ids: PacketIdAllocator,
    entries: HashMap<PacketId, Entry>,
    order: BTreeMap<u64, PacketId>,
    /// The store sequence numbers of the exchanges completed since the last
    /// [`take_finished_stored`](OutboundInflight::take_finished_stored).
    finished: Vec<u64>,
    /// Whether a stored QoS 2 exchange began or was released since the last
    /// [`clear_stored_changed`](OutboundInflight::clear_stored_changed).
    stored_changed: bool,
}

impl OutboundInflight {
    /// An empty window for a client whose Receive Maximum is `receive_maximum` (65,535 when
    /// the client sent none, MQTT 5.0 §3.1.2.11.3).
    #[must_use]
    pub fn new(receive_maximum: NonZeroU16) -> Self {
        OutboundInflight {
            receive_maximum,
            tracked: None,
            next_seq: 0,
        }
    }

    /// An empty window whose next [`insert`](Self::insert) tries `next_packet_id` first: an
    /// idle window rebuilt from its [`next_packet_id`](Self::next_packet_id). The send order
    /// starts afresh, which nothing can tell from the outside while the window is empty.
    pub(crate) fn idle(receive_maximum: NonZeroU16, next_packet_id: PacketId) -> Self {
        let mut window = OutboundInflight::new(receive_maximum);
        if next_packet_id != PacketId::MIN {
            window.tracked = Some(Box::new(Tracked {
                ids: PacketIdAllocator::starting_at(next_packet_id),
                entries: HashMap::new(),
                order: BTreeMap::new(),
                finished: Vec::new(),
                stored_changed: false,
            }));
        }
        window
    }

    /// The packet identifier the next [`insert`](Self::insert) tries first.
    pub(crate) fn next_packet_id(&self) -> PacketId {
        self.tracked
            .as_ref()
            .map_or(PacketId::MIN, |tracked| tracked.ids.cursor())
    }

    /// The exchange under `id`, if there is one.
    fn entry(&self, id: PacketId) -> Option<&Entry> {
        self.tracked.as_ref()?.entries.get(&id)
    }

    /// The exchanges, made on first use.
    fn tracked_mut(&mut self) -> &mut Tracked {
        self.tracked.get_or_insert_with(|| {
            Box::new(Tracked {
                ids: PacketIdAllocator::new(),
                entries: HashMap::new(),
                order: BTreeMap::new(),
                finished: Vec::new(),
                stored_changed: false,
            })
        })
    }

    /// The client's Receive Maximum.
    #[must_use]
    pub fn receive_maximum(&self) -> NonZeroU16 {
        self.receive_maximum
    }

    /// Sets the Receive Maximum of a new connection resuming this session.
    pub fn set_receive_maximum(&mut self, receive_maximum: NonZeroU16) {
        self.receive_maximum = receive_maximum;
    }

    /// How many exchanges are in flight.
    #[must_use]
    pub fn len(&self) -> usize {
        self.tracked.as_ref().map_or(0, |t| t.entries.len())
    }

    /// Whether nothing is in flight.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether one more QoS > 0 PUBLISH may be sent now ([MQTT-4.9.0-2]).
    #[must_use]
    pub fn has_quota(&self) -> bool {
        self.len() < usize::from(self.receive_maximum.get())
    }

    /// Where the exchange using `id` stands, if one does.
    #[must_use]
    pub fn state(&self, id: PacketId) -> Option<InflightState> {
        self.entry(id).map(|e| e.state)
    }

    /// The PUBLISH recorded under `id` (without topic alias), while it awaits PUBACK or
    /// PUBREC; `None` once released or when nothing uses `id`.
    #[must_use]
    pub fn publish(&self, id: PacketId) -> Option<&Publish> {
        self.entry(id)?.publish.as_deref()
    }

    /// Assigns an unused packet identifier ([MQTT-2.2.1-4], [MQTT-4.3.2-1], [MQTT-4.3.3-1]),
    /// has `build` make the PUBLISH that carries it, records it and returns it to be sent.
    ///
    /// `build` gets the identifier and must return a QoS 1 or QoS 2 PUBLISH carrying it and
    /// its topic name, typically `|id| message.to_publish(options, now)`. Apply an outbound
    /// topic alias to the returned PUBLISH, not inside `build`: the recorded copy must name
    /// its topic to be retransmitted on another connection. On any error nothing is recorded.
    pub fn insert<F>(&mut self, build: F) -> Result<Publish, InflightError>
    where
        F: FnOnce(PacketId) -> Result<Publish, MessageError>,
    {
        self.insert_stored(build, None)
    }

    /// [`insert`](Self::insert) for a message a durable store holds under `stored`: the
    /// number comes back from [`take_finished_stored`](Self::take_finished_stored) once the
    /// exchange is complete, for the store to forget the message.
    pub fn insert_stored<F>(
        &mut self,
        build: F,
        stored: Option<StoreSeq>,
    ) -> Result<Publish, InflightError>
    where
        F: FnOnce(PacketId) -> Result<Publish, MessageError>,
    {
        if !self.has_quota() {
            return Err(InflightError::ReceiveMaximumReached);
        }
        let id = self
            .tracked_mut()
            .ids
            .allocate()
            .ok_or(InflightError::NoPacketId)?;
        let result = build(id).map_err(InflightError::from).and_then(|publish| {
            let state = check(&publish, id)?;
            Ok((publish, state))
        });
        match result {
            Ok((publish, state)) => {
                self.record(id, state, Some(Box::new(kept(&publish))), stored);
                if stored.is_some() && state == InflightState::AwaitingPubRec {
                    self.tracked_mut().stored_changed = true;
                }
                Ok(publish)
            }
            Err(e) => {
                self.tracked_mut().ids.release(id);
                Err(e)
            }
        }
    }

    /// Records a PUBLISH sent on an earlier connection, as when a session is restored from a
    /// store. The Receive Maximum is not checked. `publish` must be QoS 1 or 2 and name its
    /// topic; its state is [`InflightState::AwaitingPubAck`] or
    /// [`InflightState::AwaitingPubRec`] by its QoS.
    pub fn restore_publish(&mut self, publish: Publish) -> Result<(), InflightError> {
        let id = publish
            .qos_pid
            .packet_id()
            .ok_or(InflightError::NotAcknowledged)?;
        let state = check(&publish, id)?;
        if !self.tracked_mut().ids.mark_used(id) {
            return Err(InflightError::PacketIdInUse(id));
        }
        self.record(id, state, Some(Box::new(kept(&publish))), None);
        Ok(())
    }

    /// Records a QoS 2 exchange whose PUBREL was sent on an earlier connection
    /// ([`InflightState::AwaitingPubComp`]), as when a session is restored from a store.
    pub fn restore_released(&mut self, id: PacketId) -> Result<(), InflightError> {
        if !self.tracked_mut().ids.mark_used(id) {
            return Err(InflightError::PacketIdInUse(id));
        }
        self.record(id, InflightState::AwaitingPubComp, None, None);
        Ok(())
    }

    /// Notes that a durable store holds the message of the exchange under `id` under
    /// `stored` (restoring a session). Returns whether `id` is in flight.
    pub fn set_stored(&mut self, id: PacketId, stored: u64) -> bool {
        match self.tracked.as_mut().and_then(|t| t.entries.get_mut(&id)) {
            Some(entry) => {
                entry.stored = StoreSeq::new(stored);
                entry.stored.is_some()
            }
            None => false,
        }
    }

    /// The store sequence numbers of the exchanges in flight whose message a durable store
    /// holds, by packet identifier.
    pub fn stored(&self) -> impl Iterator<Item = (PacketId, u64)> + '_ {
        self.tracked.iter().flat_map(|tracked| {
            tracked
                .entries
                .iter()
                .filter_map(|(id, entry)| Some((*id, entry.stored?.get())))
        })
    }

    /// Whether a QoS 2 exchange whose message a durable store holds began (its PUBLISH is to
    /// be sent) or was released (its PUBREL is to be sent) since the last
    /// [`clear_stored_changed`](Self::clear_stored_changed). Exactly once across a crash
    /// needs the session's record to say so before those packets leave: restored, the
    /// session then resends the PUBLISH under the same packet identifier, or the PUBREL, and
    /// no new message takes an identifier the client still holds.
    #[must_use]
    pub fn stored_changed(&self) -> bool {
        self.tracked.as_ref().is_some_and(|t| t.stored_changed)
    }

    /// The record has been written: see [`stored_changed`](Self::stored_changed).
    pub fn clear_stored_changed(&mut self) {
        if let Some(tracked) = self.tracked.as_mut() {
            tracked.stored_changed = false;
        }
    }

    /// Moves the store sequence numbers of the exchanges completed since the last call into
    /// `into`: the store may forget those messages.
    pub fn take_finished_stored(&mut self, into: &mut Vec<u64>) {
        if let Some(tracked) = self.tracked.as_mut() {
            into.append(&mut tracked.finished);
        }
    }

    /// Handles a PUBACK from the client.
    pub fn handle_puback(&mut self, ack: &Ack) -> PubAckOutcome {
        match self.entry(ack.packet_id).map(|e| e.state) {
            Some(InflightState::AwaitingPubAck) => {}
            Some(state) => return PubAckOutcome::WrongKind(state),
            None => return PubAckOutcome::Unknown,
        }
        match self.remove(ack.packet_id).and_then(|e| e.publish) {
            Some(publish) => PubAckOutcome::Acknowledged(publish),
            None => PubAckOutcome::Unknown,
        }
    }

    /// Handles a PUBREC from the client and says which PUBREL, if any, to answer with.
    pub fn handle_pubrec(&mut self, ack: &Ack) -> PubRecOutcome {
        let id = ack.packet_id;
        let state = self.entry(id).map(|e| e.state);
        match state {
            Some(InflightState::AwaitingPubAck) => {
                PubRecOutcome::WrongKind(InflightState::AwaitingPubAck)
            }
            Some(InflightState::AwaitingPubRec) if ack.code.is_error() => {
                match self.remove(id).and_then(|e| e.publish) {
                    Some(publish) => PubRecOutcome::Refused(publish),
                    None => PubRecOutcome::Ignored,
                }
            }
            Some(InflightState::AwaitingPubRec) => {
                // [MQTT-4.3.3-6]: the PUBLISH is never sent again, so drop it; the PUBREL
                // goes to the back of the retransmission order (the order PUBRECs came).
                let seq = self.next_seq();
                let tracked = self.tracked_mut();
                if let Some(entry) = tracked.entries.get_mut(&id) {
                    tracked.order.remove(&entry.seq);
                    entry.seq = seq;
                    entry.state = InflightState::AwaitingPubComp;
                    entry.publish = None;
                    tracked.order.insert(seq, id);
                    tracked.stored_changed |= entry.stored.is_some();
                }
                PubRecOutcome::Release(Ack::new(id))
            }
            // [MQTT-4.4.0-2]: a failing PUBREC ends its flow; no PUBREL answers it.
            Some(InflightState::AwaitingPubComp) | None if ack.code.is_error() => {
                PubRecOutcome::Ignored
            }
            Some(InflightState::AwaitingPubComp) => PubRecOutcome::Release(Ack::new(id)),
            None => PubRecOutcome::Unknown(not_found(id)),
        }
    }

    /// Handles a PUBCOMP from the client.
    pub fn handle_pubcomp(&mut self, ack: &Ack) -> PubCompOutcome {
        match self.entry(ack.packet_id).map(|e| e.state) {
            Some(InflightState::AwaitingPubComp) => {
                self.remove(ack.packet_id);
                PubCompOutcome::Completed
            }
            Some(state) => PubCompOutcome::WrongKind(state),
            None => PubCompOutcome::Unknown,
        }
    }

    /// What to send again, in order, when the session resumes on a new connection
    /// ([MQTT-4.4.0-1]): PUBLISH packets with DUP set and their original identifiers, and
    /// PUBREL packets. Never call it at any other time: resending is forbidden otherwise.
    pub fn retransmissions(&self) -> impl Iterator<Item = Retransmission> + '_ {
        self.tracked.iter().flat_map(|tracked| {
            tracked.order.values().filter_map(|id| {
                let entry = tracked.entries.get(id)?;
                Some(match &entry.publish {
                    Some(publish) => {
                        let mut publish = publish.clone();
                        publish.dup = true;
                        Retransmission::Publish(publish)
                    }
                    None => Retransmission::PubRel(Ack::new(*id)),
                })
            })
        })
    }

    /// The exchanges in flight, in retransmission order, with their state.
    pub fn iter(&self) -> impl Iterator<Item = (PacketId, InflightState)> + '_ {
        self.tracked.iter().flat_map(|tracked| {
            tracked
                .order
                .values()
                .filter_map(|id| tracked.entries.get(id).map(|e| (*id, e.state)))
        })
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    fn record(
        &mut self,
        id: PacketId,
        state: InflightState,
        publish: Option<Box<Publish>>,
        stored: Option<StoreSeq>,
    ) {
        let seq = self.next_seq();
        let tracked = self.tracked_mut();
        tracked.order.insert(seq, id);
        tracked.entries.insert(
            id,
            Entry {
                seq,
                state,
                publish,
                stored,
            },
        );
    }

    fn remove(&mut self, id: PacketId) -> Option<Entry> {
        let tracked = self.tracked.as_mut()?;
        let entry = tracked.entries.remove(&id)?;
        tracked.order.remove(&entry.seq);
        tracked.ids.release(id);
        // Every removal completes an exchange (PUBACK, failing PUBREC, PUBCOMP).
        tracked.finished.extend(entry.stored.map(StoreSeq::get));
        Some(entry)
    }
}

/// The state a new PUBLISH starts in, if it may be in flight under `id`.
fn check(publish: &Publish, id: PacketId) -> Result<InflightState, InflightError> {
    if publish.qos_pid.packet_id() != Some(id) {
        return Err(InflightError::NotAcknowledged);
    }
    if publish.topic.is_none() {
        return Err(InflightError::TopicAliasOnly);
    }
    Ok(match publish.qos_pid.qos() {
        QoS::ExactlyOnce => InflightState::AwaitingPubRec,
        _ => InflightState::AwaitingPubAck,
    })
}

/// The copy kept for retransmission: no alias (it belongs to the connection), DUP clear.
fn kept(publish: &Publish) -> Publish {
    let mut publish = publish.clone();
    publish.properties.topic_alias = None;
    publish.dup = false;
    publish
}

fn not_found(id: PacketId) -> Ack {
    Ack {
        code: ReasonCode::PacketIdentifierNotFound,
        ..Ack::new(id)
    }
}

#[cfg(test)]
#[path = "inflight_test.rs"]
mod tests;
