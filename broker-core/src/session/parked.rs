//! A connected session in its compact idle form, while its connection is parked.
//!
//! A connection that has been idle for a while hands its socket to the parker and ends its
//! task (docs/architecture.md, "Parked connections"); the session goes with it in this form,
//! which keeps only what a quiet session needs to resume exactly where it was.
//!
//! # What is kept, and where
//!
//! A parked session is what every idle connection costs, so it is laid out for the common
//! case (no will, no topic alias, maybe a few subscriptions):
//!
//! - inline: the client identifier, the instant the last packet came (the Keep Alive
//!   deadline is counted from it, [MQTT-3.1.2-22]), the subscriptions as a boxed slice (no
//!   allocation when there are none), and the scalars: protocol version, Keep Alive, Session
//!   Expiry Interval, Clean Start, Request Problem Information, the client's Maximum Packet
//!   Size, both Receive Maximum values, both Topic Alias Maximum values and the packet
//!   identifier the next outbound QoS > 0 PUBLISH tries first;
//! - in one box, only when one of them is there: the will, the Authentication Method, the
//!   topic aliases of the connection both ways once used, and the shared-subscription origins
//!   of the session state.
//!
//! Everything else of a [`Session`] is empty or fixed while it is quiet (see
//! [`Session::park`]) and is made afresh by [`ParkedSession::resume`]; the
//! [`SessionConfig`] comes back as its argument.
//!
//! # What this module must never do
//!
//! No I/O, no clock: like the rest of the session, it only moves state.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU16;
use std::sync::Arc;
use std::time::Instant;

use super::machine::Phase;
use super::machine_auth::Reauth;
use super::{
    InboundAliases, InboundQos2, KeepAlive, OutboundAliases, OutboundInflight, Session,
    SessionConfig, SessionState, WillMessage,
};
use crate::router::SubscriptionEntry;
use crate::types::{ClientId, MqttString, PacketId, ProtocolVersion, TopicFilter};

/// A quiet connected session, compacted while its connection is parked
/// ([`Session::park`]); [`ParkedSession::resume`] gives back the same session.
#[derive(Debug)]
pub struct ParkedSession {
    client_id: ClientId,
    /// When the last control packet came: the Keep Alive deadline is counted from it.
    last_received: Instant,
    /// The subscriptions of the session state. A slice: a parked session looks nothing up,
    /// and a slice costs its entries where a map costs a table.
    subscriptions: Box<[(TopicFilter, SubscriptionEntry)]>,
    /// What most sessions do not have; `None` when none of it is there.
    rare: Option<Box<Rare>>,
    /// The Session Expiry Interval in force, in seconds.
    session_expiry: u32,
    /// The largest packet the client accepts.
    client_max_packet_size: u32,
    /// The Keep Alive in force, in seconds.
    keep_alive: u16,
    /// The client's Receive Maximum (the server's limit for 3.x): the outbound window.
    outbound_receive_maximum: NonZeroU16,
    /// The server's Receive Maximum: the inbound QoS 2 bound.
    inbound_receive_maximum: NonZeroU16,
    /// The packet identifier the next outbound QoS > 0 PUBLISH tries first.
    next_packet_id: PacketId,
    /// The Topic Alias Maximum the server sent (when there is no [`Rare`]).
    inbound_alias_maximum: u16,
    /// The client's Topic Alias Maximum (when there is no [`Rare`]).
    outbound_alias_maximum: u16,
    version: ProtocolVersion,
    clean_start: bool,
    problem_information: bool,
    bridge: bool,
}

/// The parts of a parked session that most sessions do not have.
#[derive(Debug)]
struct Rare {
    will: Option<Box<WillMessage>>,
    auth_method: Option<Box<MqttString>>,
    /// The client's topic aliases (empty, they allocate nothing).
    inbound_aliases: InboundAliases,
    /// The server's topic aliases (unused, they allocate nothing).
    outbound_aliases: OutboundAliases,
    /// Shared-subscription origins the session state still holds.
    #[allow(clippy::box_collection)] // moved as it is from the session state
    shared_outbound: Option<Box<HashMap<PacketId, TopicFilter>>>,
}

impl Session {
    /// The session in its compact idle form, if it is quiet: connected, nothing to transmit
    /// and no command waiting, no packet deferred, no SUBSCRIBE waiting for the runtime, no
    /// re-authentication under way, and nothing in flight either way (no QoS 1 or QoS 2
    /// PUBLISH awaiting its acknowledgement, no PUBREL awaited). A session that is not quiet
    /// is given back unchanged.
    // The session is given back as it came, by value: boxing it would allocate on every
    // refused park, and the caller holds it by value anyway.
    #[allow(clippy::result_large_err)]
    pub fn park(self) -> Result<ParkedSession, Session> {
        let version = match self.version {
            Some(version) if self.is_quiet() => version,
            _ => return Err(self),
        };
        let Session {
            config: _,
            phase: _,
            version: _,
            state,
            will,
            keep_alive,
            session_expiry,
            clean_start,
            last_received,
            connect_deadline: _,
            inbound_aliases,
            outbound_aliases,
            client_max_packet_size,
            problem_information,
            bridge,
            pending_connect: _,
            deferred: _,
            auth_method,
            reauth: _,
            pending_subscribes: _,
            transmit: _,
            commands: _,
        } = self;
        let SessionState {
            client_id,
            subscriptions,
            outbound,
            inbound_qos2,
            shared_outbound,
        } = state;
        let inbound_alias_maximum = inbound_aliases.maximum();
        let outbound_alias_maximum = outbound_aliases.maximum();
        let rare = Rare {
            will,
            auth_method,
            inbound_aliases,
            outbound_aliases,
            shared_outbound: shared_outbound.filter(|shared| !shared.is_empty()),
        };
        Ok(ParkedSession {
            client_id,
            last_received,
            subscriptions: subscriptions.into_iter().collect(),
            rare: (!rare.is_empty()).then(|| Box::new(rare)),
            session_expiry,
            client_max_packet_size,
            keep_alive: keep_alive.seconds(),
            outbound_receive_maximum: outbound.receive_maximum(),
            inbound_receive_maximum: inbound_qos2.receive_maximum(),
            next_packet_id: outbound.next_packet_id(),
            inbound_alias_maximum,
            outbound_alias_maximum,
            version,
            clean_start,
            problem_information,
            bridge,
        })
    }

    /// Whether [`park`](Self::park) may take the session: everything it drops is empty or
    /// as a live idle connection has it.
    fn is_quiet(&self) -> bool {
        self.phase == Phase::Connected
            && self.transmit.is_empty()
            && self.commands.is_empty()
            && self.deferred.is_empty()
            && self.pending_subscribes.is_empty()
            && self.pending_connect.is_none()
            && self.reauth == Reauth::Idle
            && self.state.outbound.is_empty()
            && self.state.inbound_qos2.is_empty()
    }
}

impl ParkedSession {
    /// The session again, as it was parked, with the broker's session settings.
    #[must_use]
    pub fn resume(self, config: Arc<SessionConfig>) -> Session {
        let ParkedSession {
            client_id,
            last_received,
            subscriptions,
            rare,
            session_expiry,
            client_max_packet_size,
            keep_alive,
            outbound_receive_maximum,
            inbound_receive_maximum,
            next_packet_id,
            inbound_alias_maximum,
            outbound_alias_maximum,
            version,
            clean_start,
            problem_information,
            bridge,
        } = self;
        let Rare {
            will,
            auth_method,
            inbound_aliases,
            outbound_aliases,
            shared_outbound,
        } = rare.map_or_else(
            || Rare::none(inbound_alias_maximum, outbound_alias_maximum),
            |rare| *rare,
        );
        let state = SessionState {
            client_id,
            subscriptions: subscriptions.into_vec().into_iter().collect(),
            outbound: OutboundInflight::idle(outbound_receive_maximum, next_packet_id),
            inbound_qos2: InboundQos2::new(inbound_receive_maximum),
            shared_outbound,
        };
        Session {
            config,
            phase: Phase::Connected,
            version: Some(version),
            state,
            will,
            keep_alive: KeepAlive::new(keep_alive, None),
            session_expiry,
            clean_start,
            last_received,
            // Only read before CONNACK.
            connect_deadline: last_received,
            inbound_aliases,
            outbound_aliases,
            client_max_packet_size,
            problem_information,
            bridge,
            pending_connect: None,
            deferred: VecDeque::new(),
            auth_method,
            reauth: Reauth::Idle,
            pending_subscribes: Vec::new(),
            transmit: VecDeque::new(),
            commands: VecDeque::new(),
        }
    }

    /// When the parked session must be woken: its Keep Alive deadline, if it has one
    /// ([`Session::poll_timeout`]; [MQTT-3.1.2-22]).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        KeepAlive::new(self.keep_alive, None).deadline(self.last_received)
    }

    /// The client identifier.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The protocol version of the connection.
    #[must_use]
    pub fn version(&self) -> Option<ProtocolVersion> {
        Some(self.version)
    }

    /// How many subscriptions the session holds.
    #[must_use]
    pub fn subscription_count(&self) -> usize {
        self.subscriptions.len()
    }

    /// Whether the session keeps a will to publish if the connection is lost.
    #[must_use]
    pub fn has_will(&self) -> bool {
        self.rare.as_ref().is_some_and(|rare| rare.will.is_some())
    }
}

impl Rare {
    /// Nothing rare: no will, no method, topic aliases as a new connection has them.
    fn none(inbound_alias_maximum: u16, outbound_alias_maximum: u16) -> Self {
        Rare {
            will: None,
            auth_method: None,
            inbound_aliases: InboundAliases::new(inbound_alias_maximum),
            outbound_aliases: OutboundAliases::new(outbound_alias_maximum),
            shared_outbound: None,
        }
    }

    /// Whether this is [`Rare::none`]: nothing the inline part cannot rebuild.
    fn is_empty(&self) -> bool {
        self.will.is_none()
            && self.auth_method.is_none()
            && self.inbound_aliases.is_empty()
            && self.outbound_aliases.is_unused()
            && self.shared_outbound.is_none()
    }
}
