//! CONNECT, CONNACK and session resumption.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::num::{NonZeroU16, NonZeroU32};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use crate::codec::{ConnAck, ConnAckProperties, Connect, DecodeError, Packet, Violation};
use crate::types::{ClientId, MqttString, ProtocolVersion, QoS, ReasonCode};

use super::machine::{will_message, Phase};
use super::machine_size::MIN_V5_CONNACK;
use super::{
    CloseReason, Command, ConnectRequest, InboundAliases, KeepAlive, OutboundAliases,
    Retransmission, Session, SessionState,
};

/// Client identifiers the server assigns are unique within the process.
static NEXT_ASSIGNED_ID: AtomicU64 = AtomicU64::new(1);

/// The MQTT 3.1 limit on client identifier length (3.1 §3.1, "Client Identifier").
const V31_MAX_CLIENT_ID: usize = 23;

/// What the CONNACK will say, between CONNECT and the runtime's answer.
#[derive(Debug)]
pub(crate) struct PendingConnect {
    assigned_client_id: bool,
    requested_session_expiry: Option<u32>,
    server_keep_alive: Option<u16>,
    request_response_information: bool,
    client_receive_maximum: NonZeroU16,
    /// The final Authentication Data of an enhanced authentication, for the CONNACK.
    pub(crate) auth_data: Option<bytes::Bytes>,
    /// A reason string for the CONNACK, from the authentication.
    pub(crate) reason: Option<MqttString>,
}

impl Session {
    pub(crate) fn handle_connect(&mut self, connect: Connect, now: Instant) {
        let version = connect.protocol;
        self.version = Some(version);
        let config = std::sync::Arc::clone(&self.config);
        let props = &connect.properties;

        // The largest packet the client accepts, first: even a refusal must fit it
        // ([MQTT-3.1.2-24]). Below the smallest CONNACK nothing can reach the client, so the
        // connection closes at once, before the runtime takes the client identifier over.
        self.client_max_packet_size = props
            .maximum_packet_size
            .map_or(crate::codec::MAX_PACKET_SIZE, NonZeroU32::get);
        if self.client_max_packet_size < MIN_V5_CONNACK {
            return self.close(
                CloseReason::ConnectRefused(ReasonCode::PacketTooLarge),
                false,
            );
        }

        // Control characters in the client identifier, user name or will topic: CONNACK 0x81
        // for 5.0, closed for 3.x, as any Malformed CONNECT (MQTT 5.0 §1.5.4, 3.1.1 §1.5.3).
        if !config.allow_control_characters && connect.has_control_characters() {
            let error = DecodeError::from(Violation::ControlCharacter);
            return self.handle_decode_error(&error, now);
        }

        // Client identifier ([MQTT-3.1.3-6], [MQTT-3.1.3-7], [MQTT-3.1.3-8]; 3.1.1
        // [MQTT-3.1.3-7], [MQTT-3.1.3-8]; 3.1: one to 23 characters).
        // A copy in its own allocation: the decoded one shares the read buffer, which the
        // session, the registry and the log label would otherwise keep alive for as long as
        // the session lives (kilobytes per connection for a few bytes of text).
        let mut client_id = connect.client_id.clone();
        let mut assigned = false;
        if client_id.as_str().is_empty() {
            let allowed = config.allow_zero_length_client_id
                && match version {
                    ProtocolVersion::V3_1 => false,
                    ProtocolVersion::V3_1_1 => connect.clean_start,
                    ProtocolVersion::V5 => true,
                };
            if !allowed {
                return self.refuse(ReasonCode::ClientIdentifierNotValid);
            }
            client_id = assign_client_id();
            assigned = true;
        }
        let too_long = client_id.as_str().len() > config.max_client_id_len
            || (version == ProtocolVersion::V3_1 && client_id.as_str().len() > V31_MAX_CLIENT_ID);
        if too_long {
            return self.refuse(ReasonCode::ClientIdentifierNotValid);
        }

        // The will must respect what the server supports ([MQTT-3.2.2-12], [MQTT-3.2.2-13]).
        if let Some(will) = &connect.will {
            if will.qos > config.max_qos {
                return self.refuse(ReasonCode::QoSNotSupported);
            }
            if will.retain && !config.retain_available {
                return self.refuse(ReasonCode::RetainNotSupported);
            }
            if !self.topic_within_limits(will.topic.as_str()) {
                return self.refuse(ReasonCode::TopicNameInvalid);
            }
        }

        // Keep Alive: the server may impose its own ([MQTT-3.2.2-21]); 3.x clients cannot be
        // told, so they keep theirs.
        let server_keep_alive = match (version, config.max_keep_alive) {
            (ProtocolVersion::V5, Some(max))
                if connect.keep_alive == 0 || connect.keep_alive > max =>
            {
                Some(max)
            }
            _ => None,
        };
        self.keep_alive = KeepAlive::new(connect.keep_alive, server_keep_alive);

        // Session Expiry Interval: v5 property (absent = 0); 3.x clean session 0 keeps the
        // session for as long as the server allows.
        let requested_session_expiry = match version {
            ProtocolVersion::V5 => props.session_expiry_interval,
            _ => None,
        };
        let requested = match version {
            ProtocolVersion::V5 => requested_session_expiry.unwrap_or(0),
            _ if connect.clean_start => 0,
            _ => u32::MAX,
        };
        self.session_expiry = requested.min(config.max_session_expiry);
        self.clean_start = connect.clean_start;
        self.bridge = connect.bridge;

        // What the client accepts (MQTT 5.0 §3.1.2.11).
        self.problem_information = props.request_problem_information.unwrap_or(true);
        let client_alias_max = if config.outbound_topic_aliases {
            props.topic_alias_maximum.unwrap_or(0)
        } else {
            0
        };
        self.outbound_aliases = OutboundAliases::new(client_alias_max);
        self.inbound_aliases = InboundAliases::new(match version {
            ProtocolVersion::V5 => config.topic_alias_maximum,
            _ => 0,
        });
        let client_receive_maximum = match version {
            ProtocolVersion::V5 => props.receive_maximum.unwrap_or(NonZeroU16::MAX),
            _ => config.max_inflight_v3,
        };

        self.will = connect.will.map(|w| Box::new(will_message(w, now)));
        // MQTT 5.0 §4.12: an Authentication Method starts an enhanced authentication; the
        // runtime's hooks decide whether they know it ([MQTT-4.12.0-1]).
        let auth_method = props.authentication_method.clone();
        let auth_data = props.authentication_data.clone();
        self.auth_method = auth_method.clone().map(Box::new);
        self.state = SessionState::new(client_id.clone());
        self.pending_connect = Some(Box::new(PendingConnect {
            assigned_client_id: assigned,
            requested_session_expiry,
            server_keep_alive,
            request_response_information: props.request_response_information.unwrap_or(false),
            client_receive_maximum,
            auth_data: None,
            reason: None,
        }));
        self.phase = Phase::Connecting;
        self.commands.push_back(Command::Connect(ConnectRequest {
            version,
            client_id,
            assigned_client_id: assigned,
            clean_start: connect.clean_start,
            session_expiry: self.session_expiry,
            keep_alive: self.keep_alive.seconds(),
            username: connect.username,
            password: connect.password,
            has_will: self.will.is_some(),
            auth_method,
            auth_data,
            bridge: connect.bridge,
        }));
    }

    /// The runtime accepts the connection: CONNACK 0 with Session Present set when
    /// `resumed` is a session to continue ([MQTT-3.2.2-2], [MQTT-3.2.2-3]; `None` starts a
    /// new one), then the retransmission of every unacknowledged PUBLISH and PUBREL of the
    /// resumed session, in order ([MQTT-4.4.0-1], [MQTT-4.6.0-1]), then the packets that
    /// arrived meanwhile.
    pub fn accept(&mut self, resumed: Option<SessionState>, now: Instant) {
        if self.phase != Phase::Connecting {
            return;
        }
        let Some(pending) = self.pending_connect.take() else {
            return;
        };
        // MQTT 3.1 has no Session Present flag: its CONNACK's first byte is reserved
        // (3.1 §3.2, "Topic Name Compression Response", not used) and stays 0.
        let session_present = resumed.is_some() && self.version != Some(ProtocolVersion::V3_1);
        if let Some(state) = resumed {
            self.state = state;
        }
        self.state
            .outbound
            .set_receive_maximum(pending.client_receive_maximum);
        self.state
            .inbound_qos2
            .set_receive_maximum(self.config.receive_maximum);

        let mut connack = ConnAck::new(session_present, ReasonCode::Success);
        if self.version == Some(ProtocolVersion::V5) {
            connack.properties = self.connack_properties(&pending);
        }
        let mut connack = Packet::ConnAck(Box::new(connack));
        // [MQTT-3.1.2-24]: a CONNACK that does not fit the client's Maximum Packet Size, even
        // without its Reason String and User Properties ([MQTT-3.2.2-19], [MQTT-3.2.2-20]),
        // cannot be sent, and nothing else could reach the client: close. The session stays
        // as it was (the runtime keeps or ends it by its expiry); no will is published, the
        // connection never became live.
        if !self.fit_to_client(&mut connack) {
            return self.close(
                CloseReason::ConnectRefused(ReasonCode::PacketTooLarge),
                false,
            );
        }
        self.transmit.push_back(connack);
        self.phase = Phase::Connected;
        self.last_received = now;

        let retransmissions: Vec<Retransmission> = self.state.outbound.retransmissions().collect();
        for retransmission in retransmissions {
            match retransmission {
                Retransmission::Publish(publish) => {
                    self.transmit.push_back(Packet::Publish(*publish))
                }
                Retransmission::PubRel(ack) => self.transmit.push_back(Packet::PubRel(ack)),
            }
        }
        while let Some(packet) = self.deferred.pop_front() {
            if self.phase != Phase::Connected {
                break;
            }
            self.handle_packet(packet, now);
        }
    }

    /// The runtime refuses the connection with `code` (a CONNACK code of 0x80 or more; 3.x
    /// clients get the matching return code): CONNACK with Session Present 0
    /// ([MQTT-3.2.2-6]), then close. The will is never published.
    pub fn reject(&mut self, code: ReasonCode, _now: Instant) {
        if matches!(self.phase, Phase::Connecting | Phase::ExpectAuth) {
            self.refuse(code);
        }
    }

    pub(crate) fn refuse(&mut self, code: ReasonCode) {
        self.refuse_with(code, None, CloseReason::ConnectRefused(code));
    }

    /// CONNACK with `code` (and, for an MQTT 5 client that accepts them, `reason` as its
    /// Reason String), then close for `why`. The will is never published.
    pub(crate) fn refuse_with(
        &mut self,
        code: ReasonCode,
        reason: Option<MqttString>,
        why: CloseReason,
    ) {
        self.pending_connect = None;
        self.will = None;
        let mut connack = ConnAck::new(false, code);
        if self.version == Some(ProtocolVersion::V5) && self.problem_information {
            connack.properties.reason_string = reason;
        }
        // [MQTT-3.2.2-19]: the Reason String goes if the CONNACK would not fit; a CONNACK
        // that still does not fit is not sent ([MQTT-3.1.2-24]).
        self.transmit_fitted(Packet::ConnAck(Box::new(connack)));
        self.close(why, false);
    }

    fn connack_properties(&self, pending: &PendingConnect) -> ConnAckProperties {
        let config = &self.config;
        let mut p = ConnAckProperties::default();
        if pending.requested_session_expiry.unwrap_or(0) != self.session_expiry {
            p.session_expiry_interval = Some(self.session_expiry);
        }
        if config.receive_maximum != NonZeroU16::MAX {
            p.receive_maximum = Some(config.receive_maximum);
        }
        if config.max_qos != QoS::ExactlyOnce {
            p.maximum_qos = Some(config.max_qos);
        }
        if !config.retain_available {
            p.retain_available = Some(false);
        }
        // MQTT 5.0 §3.2.2.3.6: absent means no limit beyond the protocol's own.
        let limit = config.decoder_limit();
        if limit < crate::codec::MAX_PACKET_SIZE {
            p.maximum_packet_size = NonZeroU32::new(limit);
        }
        if pending.assigned_client_id {
            p.assigned_client_identifier = Some(self.state.client_id().clone());
        }
        if config.topic_alias_maximum > 0 {
            p.topic_alias_maximum = Some(config.topic_alias_maximum);
        }
        if !config.wildcard_subscriptions {
            p.wildcard_subscription_available = Some(false);
        }
        if !config.subscription_identifiers {
            p.subscription_identifiers_available = Some(false);
        }
        if !config.shared_subscriptions {
            p.shared_subscription_available = Some(false);
        }
        p.server_keep_alive = pending.server_keep_alive;
        // [MQTT-4.12.0-5]: the method of the CONNECT in a successful CONNACK; [MQTT-4.12.0-6]:
        // none without one.
        if let Some(method) = &self.auth_method {
            p.authentication_method = Some(MqttString::clone(method));
            p.authentication_data = pending.auth_data.clone();
        }
        if self.problem_information {
            p.reason_string = pending.reason.clone();
        }
        if pending.request_response_information {
            p.response_information = config
                .response_information
                .as_deref()
                .and_then(|info| MqttString::new(info).ok());
        }
        p
    }

    /// Whether a topic name or filter is within the configured length and level caps.
    pub(crate) fn topic_within_limits(&self, topic: &str) -> bool {
        topic.len() <= self.config.max_topic_len
            && memchr::memchr_iter(b'/', topic.as_bytes()).count() < self.config.max_topic_levels
    }
}

/// A client identifier for a client that sent an empty one: unique within this process by a
/// counter, and across processes (the other nodes of a cluster, this node's earlier runs,
/// whose persistent sessions a store may still hold) by a random tag drawn once per process.
/// A counter alone repeats across nodes and restarts, and an assigned identifier repeated on
/// another node takes over the session that holds it there.
fn assign_client_id() -> ClientId {
    let n = NEXT_ASSIGNED_ID.fetch_add(1, Ordering::Relaxed);
    let id = format!("skein-{:016x}-{n:x}", process_tag());
    ClientId::new(&id).unwrap_or_default()
}

/// 64 random bits, the same for the whole process: std's randomly keyed hasher, keyed afresh
/// for each process by the operating system's random source.
fn process_tag() -> u64 {
    static TAG: OnceLock<u64> = OnceLock::new();
    *TAG.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.finish()
    })
}
