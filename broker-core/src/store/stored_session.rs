//! A session as a store keeps it.

use crate::codec::Publish;
use crate::router::SubscriptionEntry;
use crate::session::{InflightState, SessionState, WillMessage};
use crate::types::{ClientId, PacketId, TopicFilter};

use super::StoreError;

/// Everything a store keeps of one persistent session apart from its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The client identifier.
    pub client_id: ClientId,
    /// The Session Expiry Interval in force, in seconds (`u32::MAX`: never).
    pub session_expiry: u32,
    /// The subscriptions, sorted by filter.
    pub subscriptions: Vec<(TopicFilter, SubscriptionEntry)>,
    /// The QoS 1 and 2 messages sent to the client and not completely acknowledged, in
    /// retransmission order.
    pub outbound: Vec<StoredInflight>,
    /// The in-flight PUBLISH packets of `outbound` that came through a shared subscription,
    /// with its filter, sorted by packet identifier: if the session ends before the client
    /// acknowledges them, another member of the group gets them (MQTT 5.0 §4.8.2).
    pub shared_outbound: Vec<(PacketId, TopicFilter)>,
    /// The packet identifiers of QoS 2 messages received from the client and not released.
    pub inbound_qos2: Vec<PacketId>,
    /// The exchanges of `outbound` whose message a durable store holds in the session's
    /// queue, with its sequence number, sorted by packet identifier: restored, the session
    /// resends them under their packet identifiers and the queue skips them.
    pub stored_outbound: Vec<(PacketId, u64)>,
    /// The will not yet published, if any. While the session's connection is open (a
    /// record written at its CONNECT, SUBSCRIBE, ...), the will that connection's loss would
    /// publish; once the session is offline, the will waiting for its Will Delay Interval.
    /// `None` once the will is published or discarded (a normal DISCONNECT). A restart loads
    /// every record as a session whose connection was lost at start, so a session that was
    /// online at a crash gets its will published after its delay, counted from the start.
    pub will: Option<WillMessage>,
}

/// One outbound exchange in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredInflight {
    /// A PUBLISH sent and not acknowledged (QoS 1: no PUBACK; QoS 2: no PUBREC), as sent.
    Publish(Box<Publish>),
    /// A QoS 2 exchange whose PUBREL was sent and whose PUBCOMP has not come.
    Released(PacketId),
}

impl StoredSession {
    /// The record of `state` with its Session Expiry Interval and the will not yet published
    /// (see [`StoredSession::will`]).
    #[must_use]
    pub fn from_state(
        state: &SessionState,
        session_expiry: u32,
        will: Option<WillMessage>,
    ) -> Self {
        let mut subscriptions: Vec<_> = state
            .subscriptions()
            .map(|(filter, entry)| (filter.clone(), *entry))
            .collect();
        subscriptions.sort_by(|a, b| a.0.cmp(&b.0));
        let outbound = state
            .outbound()
            .iter()
            .filter_map(|(id, s)| match s {
                InflightState::AwaitingPubComp => Some(StoredInflight::Released(id)),
                InflightState::AwaitingPubAck | InflightState::AwaitingPubRec => state
                    .outbound()
                    .publish(id)
                    .map(|p| StoredInflight::Publish(Box::new(p.clone()))),
            })
            .collect();
        let mut shared_outbound: Vec<(PacketId, TopicFilter)> = state
            .shared_inflight()
            .filter_map(|(publish, filter)| Some((publish.qos_pid.packet_id()?, filter.clone())))
            .collect();
        shared_outbound.sort_by_key(|(id, _)| *id);
        let mut inbound_qos2: Vec<PacketId> = state.inbound_qos2().iter().collect();
        inbound_qos2.sort_unstable();
        let mut stored_outbound: Vec<(PacketId, u64)> = state.outbound().stored().collect();
        stored_outbound.sort_unstable();
        StoredSession {
            client_id: state.client_id().clone(),
            session_expiry,
            subscriptions,
            outbound,
            shared_outbound,
            inbound_qos2,
            stored_outbound,
            will,
        }
    }

    /// The session state this record describes. Fails on a record no session could have
    /// produced (a packet identifier twice, an in-flight PUBLISH at QoS 0, a shared origin for
    /// a packet identifier with no PUBLISH in flight).
    pub fn to_state(&self) -> Result<SessionState, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            client_id: self.client_id.as_str().to_owned(),
            reason,
        };
        let mut state = SessionState::new(self.client_id.clone());
        for (filter, entry) in &self.subscriptions {
            state.insert_subscription(filter.clone(), *entry);
        }
        for inflight in &self.outbound {
            let result = match inflight {
                StoredInflight::Publish(p) => state.outbound.restore_publish((**p).clone()),
                StoredInflight::Released(id) => state.outbound.restore_released(*id),
            };
            result.map_err(|e| corrupt(e.to_string()))?;
        }
        for (id, filter) in &self.shared_outbound {
            if state.outbound.publish(*id).is_none() {
                return Err(corrupt(format!(
                    "shared origin for packet id {} with no PUBLISH in flight",
                    id.get()
                )));
            }
            state.note_shared(*id, filter.clone());
        }
        for (id, seq) in &self.stored_outbound {
            if !state.outbound.set_stored(*id, *seq) {
                return Err(corrupt(format!(
                    "store sequence number for packet id {} with nothing in flight",
                    id.get()
                )));
            }
        }
        for id in &self.inbound_qos2 {
            if !state.inbound_qos2.restore(*id) {
                return Err(corrupt(format!("inbound packet id {} twice", id.get())));
            }
        }
        Ok(state)
    }
}
