//! One network connection's protocol state machine.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crate::codec::{
    DecodeError, Disconnect, DisconnectProperties, ErrorAnswer, Packet, Violation, Will,
};
use crate::types::{ClientId, MqttString, ProtocolVersion, ReasonCode};

use super::{
    Close, CloseReason, Command, FilterRequest, InboundAliases, KeepAlive, OutboundAliases,
    SessionConfig, SessionState, WillMessage,
};
use crate::types::PacketId;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Phase {
    /// Waiting for CONNECT ([MQTT-3.1.0-1]).
    ExpectConnect,
    /// CONNECT (or an AUTH of its enhanced authentication) handed to the runtime
    /// ([`Command::Connect`], [`Command::Authenticate`]); waiting for its answer:
    /// [`Session::accept`], [`Session::reject`], or an authentication answer. Packets that
    /// arrive meanwhile wait.
    Connecting,
    /// MQTT 5 enhanced authentication: AUTH 0x18 sent, waiting for the client's answer
    /// (MQTT 5.0 §4.12); only AUTH and DISCONNECT may come ([MQTT-3.1.2-30]).
    ExpectAuth,
    /// CONNACK 0 sent: the session is live.
    Connected,
    /// [`Command::Close`] emitted: nothing more is accepted.
    Closed,
}

/// One client's protocol state machine, for one network connection (docs/architecture.md,
/// `session/`). It does no I/O and reads no clock:
///
/// - inputs are method calls: [`handle_packet`](Self::handle_packet) for every decoded
///   packet, [`handle_decode_error`](Self::handle_decode_error),
///   [`connection_lost`](Self::connection_lost), [`handle_timeout`](Self::handle_timeout) when
///   [`poll_timeout`](Self::poll_timeout) passes, and the runtime's answers to commands;
/// - outputs are polled: [`poll_transmit`](Self::poll_transmit) gives the packets to write,
///   in order, encoded for [`version`](Self::version); [`poll_command`](Self::poll_command)
///   gives the work that needs the rest of the broker ([`Command`]).
///
/// The runtime drains every command after each input and carries it out before it writes the
/// transmitted packets, so that a subscription is in the router before its SUBACK is sent and
/// a message is routed before its PUBACK.
#[derive(Debug)]
pub struct Session {
    pub(crate) config: Arc<SessionConfig>,
    pub(crate) phase: Phase,
    pub(crate) version: Option<ProtocolVersion>,
    pub(crate) state: SessionState,
    /// The CONNECT's will, until the connection closes; boxed, since most connections have
    /// none and the session lives inside every connection's task.
    pub(crate) will: Option<Box<WillMessage>>,
    pub(crate) keep_alive: KeepAlive,
    /// The Session Expiry Interval in force, in seconds.
    pub(crate) session_expiry: u32,
    pub(crate) clean_start: bool,
    pub(crate) last_received: Instant,
    pub(crate) connect_deadline: Instant,
    pub(crate) inbound_aliases: InboundAliases,
    pub(crate) outbound_aliases: OutboundAliases,
    /// The largest packet the client accepts (MQTT 5 Maximum Packet Size).
    pub(crate) client_max_packet_size: u32,
    /// Whether the client wants Reason Strings and User Properties on acknowledgements.
    pub(crate) problem_information: bool,
    /// Whether the client is a bridge ([`Connect::bridge`](crate::codec::Connect::bridge)):
    /// its subscriptions are No Local and Retain As Published, whatever its SUBSCRIBE says.
    pub(crate) bridge: bool,
    /// What the CONNACK will say, prepared by CONNECT, used by `accept`.
    pub(crate) pending_connect: Option<Box<super::machine_connect::PendingConnect>>,
    /// Packets that arrived after CONNECT and before the runtime's answer.
    pub(crate) deferred: VecDeque<Packet>,
    /// The Authentication Method of the CONNECT (MQTT 5 enhanced authentication): every
    /// AUTH of the connection carries it ([MQTT-4.12.0-5]). Boxed: most connections have
    /// none.
    pub(crate) auth_method: Option<Box<crate::types::MqttString>>,
    /// Where a re-authentication stands (live connections).
    pub(crate) reauth: super::machine_auth::Reauth,
    /// SUBSCRIBE requests handed to the runtime and not yet completed.
    pub(crate) pending_subscribes: Vec<(PacketId, Vec<FilterRequest>)>,
    pub(crate) transmit: VecDeque<Packet>,
    pub(crate) commands: VecDeque<Command>,
}

impl Session {
    /// A new network connection, accepted at `now`, waiting for CONNECT.
    #[must_use]
    pub fn new(config: Arc<SessionConfig>, now: Instant) -> Self {
        let connect_deadline = now.checked_add(config.connect_timeout).unwrap_or(now);
        Session {
            phase: Phase::ExpectConnect,
            version: None,
            state: SessionState::new(ClientId::default()),
            will: None,
            keep_alive: KeepAlive::new(0, None),
            session_expiry: 0,
            clean_start: true,
            last_received: now,
            connect_deadline,
            inbound_aliases: InboundAliases::new(config.topic_alias_maximum),
            outbound_aliases: OutboundAliases::new(0),
            client_max_packet_size: crate::codec::MAX_PACKET_SIZE,
            problem_information: true,
            bridge: false,
            pending_connect: None,
            auth_method: None,
            reauth: super::machine_auth::Reauth::Idle,
            deferred: VecDeque::new(),
            pending_subscribes: Vec::new(),
            transmit: VecDeque::new(),
            commands: VecDeque::new(),
            config,
        }
    }

    /// The protocol version, once CONNECT has been read.
    #[must_use]
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// The client identifier, once CONNECT has been read (the assigned one if the client
    /// sent none).
    #[must_use]
    pub fn client_id(&self) -> Option<&ClientId> {
        (self.phase != Phase::ExpectConnect).then(|| self.state.client_id())
    }

    /// Whether CONNACK 0 has been sent and the connection is live.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// Whether the connection is over ([`Command::Close`] emitted).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The Keep Alive in force.
    #[must_use]
    pub fn keep_alive(&self) -> KeepAlive {
        self.keep_alive
    }

    /// The Session Expiry Interval in force, in seconds (0: the session ends with the
    /// connection; `u32::MAX`: never).
    #[must_use]
    pub fn session_expiry(&self) -> u32 {
        self.session_expiry
    }

    /// The session state.
    #[must_use]
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// Moves the store sequence numbers of the messages the client has finished with since
    /// the last call (PUBACK, PUBCOMP, a failing PUBREC) into `into`: a durable store may
    /// forget them ([`QueuedMessage::stored`](super::QueuedMessage::stored)).
    pub fn take_finished_stored(&mut self, into: &mut Vec<u64>) {
        self.state.outbound.take_finished_stored(into);
    }

    /// Whether a persistent session's record must be written before its next packets
    /// leave, for exactly once across a crash: a stored QoS 2 exchange began or was released
    /// ([`OutboundInflight::stored_changed`](super::OutboundInflight::stored_changed)), or a
    /// QoS 2 identifier from the client was added or released
    /// ([`InboundQos2::changed`](super::InboundQos2::changed)).
    #[must_use]
    pub fn record_changed(&self) -> bool {
        self.state.outbound.stored_changed() || self.state.inbound_qos2.changed()
    }

    /// The record has been written (or need not be).
    pub fn clear_record_changed(&mut self) {
        self.state.outbound.clear_stored_changed();
        self.state.inbound_qos2.clear_changed();
    }

    /// The session state, to keep after the connection closed (or to hand over to the
    /// connection that took the client identifier over).
    #[must_use]
    pub fn into_state(self) -> SessionState {
        self.state
    }

    /// Gives back the memory of the packet and command queues where they are empty; they
    /// grow again with the next packet. For a connection that goes idle (after the CONNECT
    /// exchange), so that it keeps nothing it does not use.
    pub fn release_buffers(&mut self) {
        if self.transmit.is_empty() {
            self.transmit = VecDeque::new();
        }
        if self.commands.is_empty() {
            self.commands = VecDeque::new();
        }
        if self.deferred.is_empty() {
            self.deferred = VecDeque::new();
        }
        if self.pending_subscribes.is_empty() {
            self.pending_subscribes = Vec::new();
        }
    }

    /// The next packet to write to the client.
    pub fn poll_transmit(&mut self) -> Option<Packet> {
        self.transmit.pop_front()
    }

    /// The next command for the runtime.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has something to do.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::ExpectConnect | Phase::ExpectAuth => Some(self.connect_deadline),
            Phase::Connected => self.keep_alive.deadline(self.last_received),
            Phase::Connecting | Phase::Closed => None,
        }
    }

    /// Acts on the deadlines that have passed at `now`: no CONNECT in time, or a client
    /// silent for one and a half times its Keep Alive ([MQTT-3.1.2-22]; v5 first gets
    /// DISCONNECT 0x8D, and the will is published).
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::ExpectConnect | Phase::ExpectAuth if now >= self.connect_deadline => {
                self.close(CloseReason::ConnectTimeout, false);
            }
            Phase::Connected if self.keep_alive.is_expired(self.last_received, now) => {
                self.send_disconnect(ReasonCode::KeepAliveTimeout, None);
                self.close(CloseReason::KeepAliveTimeout, true);
            }
            _ => {}
        }
    }

    /// The runtime holds the client's input unread at `now` (its rate limit paused the
    /// reads): the client is not silent, we are not listening, so its Keep Alive counts from
    /// `now` ([MQTT-3.1.2-22] is about a client that sends nothing).
    pub fn handle_input_held(&mut self, now: Instant) {
        if self.phase == Phase::Connected && self.last_received < now {
            self.last_received = now;
        }
    }

    /// Feeds one decoded packet received at `now`.
    pub fn handle_packet(&mut self, packet: Packet, now: Instant) {
        match self.phase {
            Phase::Closed => {}
            Phase::ExpectConnect => {
                self.last_received = now;
                match packet {
                    Packet::Connect(connect) => self.handle_connect(*connect, now),
                    // [MQTT-3.1.0-1]: the first packet must be CONNECT.
                    _ => self.close(CloseReason::ProtocolError(ReasonCode::ProtocolError), false),
                }
            }
            Phase::Connecting => {
                self.last_received = now;
                self.deferred.push_back(packet);
            }
            Phase::ExpectAuth => {
                self.last_received = now;
                self.handle_exchange_packet(packet);
            }
            Phase::Connected => {
                self.last_received = now;
                self.dispatch(packet, now);
            }
        }
    }

    fn dispatch(&mut self, packet: Packet, now: Instant) {
        // MQTT 5.0 §1.5.4 (3.1.1 §1.5.3): a receiver MAY treat control characters as a
        // Malformed Packet. A CONNECT's strings are checked by `handle_connect`.
        if !self.config.allow_control_characters && packet.has_control_characters() {
            return self.handle_decode_error(&Violation::ControlCharacter.into(), now);
        }
        match packet {
            Packet::Publish(publish) => self.handle_publish(publish, now),
            Packet::PubAck(ack) => self.handle_puback(&ack),
            Packet::PubRec(ack) => self.handle_pubrec(&ack),
            Packet::PubRel(ack) => self.handle_pubrel(&ack),
            Packet::PubComp(ack) => self.handle_pubcomp(&ack),
            Packet::Subscribe(subscribe) => self.handle_subscribe(subscribe),
            Packet::Unsubscribe(unsubscribe) => self.handle_unsubscribe(unsubscribe),
            Packet::PingReq => self.transmit.push_back(Packet::PingResp),
            Packet::Disconnect(disconnect) => self.handle_disconnect(&disconnect),
            Packet::Auth(auth) => self.handle_reauth_packet(auth),
            // A second CONNECT ([MQTT-3.1.0-2]); server-to-client packets from a client are
            // Protocol Errors too.
            Packet::Connect(_)
            | Packet::ConnAck(_)
            | Packet::SubAck(_)
            | Packet::UnsubAck(_)
            | Packet::PingResp => self.protocol_error(ReasonCode::ProtocolError, None),
        }
    }

    /// The client sent bytes that do not decode: answer as [`DecodeError::answer`] says
    /// (CONNACK or DISCONNECT with its reason code for v5, nothing for 3.x) and close. The
    /// will is published if the connection was live ([MQTT-3.1.2-8]).
    pub fn handle_decode_error(&mut self, error: &DecodeError, _now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        let connack_sent = self.phase == Phase::Connected;
        let code = match error.answer(self.version, connack_sent) {
            ErrorAnswer::ConnAck { version, code } => {
                self.version = Some(version);
                self.transmit
                    .push_back(Packet::ConnAck(Box::new(crate::codec::ConnAck::new(
                        false, code,
                    ))));
                code
            }
            ErrorAnswer::Disconnect(code) => {
                self.send_disconnect(code, Some(error.to_string()));
                code
            }
            ErrorAnswer::Close => error.reason_code(),
        };
        self.close(CloseReason::ProtocolError(code), connack_sent);
    }

    /// The network connection closed or failed without a DISCONNECT: the will is published
    /// ([MQTT-3.1.2-8]).
    pub fn connection_lost(&mut self, _now: Instant) {
        if self.phase != Phase::Closed {
            let live = self.phase == Phase::Connected;
            self.close(CloseReason::ConnectionLost, live);
        }
    }

    /// Another connection took this client identifier over ([MQTT-3.1.4-3]): a v5 client
    /// gets DISCONNECT 0x8E. The [`Close`] carries the will; the runtime publishes it only if
    /// the session does not continue on the new connection within the will's delay.
    pub fn take_over(&mut self, _now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        self.send_disconnect(ReasonCode::SessionTakenOver, None);
        let live = self.phase == Phase::Connected;
        self.close(CloseReason::TakenOver, live);
    }

    /// The server closes the connection with `code` (0x8B Server shutting down, 0x98
    /// Administrative action, 0x97 Quota exceeded, ...); a v5 client gets DISCONNECT with it,
    /// and the will is published.
    pub fn server_disconnect(&mut self, code: ReasonCode, _now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        self.send_disconnect(code, None);
        let live = self.phase == Phase::Connected;
        self.close(CloseReason::ServerDisconnect(code), live);
    }

    /// An operator closes the connection: [`server_disconnect`](Self::server_disconnect)
    /// with 0x98 Administrative action. With `discard_session`, the session ends with the
    /// connection (its Session Expiry Interval becomes 0).
    pub fn administrative_close(&mut self, discard_session: bool, now: Instant) {
        if discard_session && self.phase != Phase::Closed {
            self.session_expiry = 0;
        }
        self.server_disconnect(ReasonCode::AdministrativeAction, now);
    }

    pub(crate) fn handle_disconnect(&mut self, disconnect: &Disconnect) {
        if let Some(expiry) = disconnect.properties.session_expiry_interval {
            // [MQTT-3.14.2-2]: a session that was to end with the connection cannot be
            // given an expiry at DISCONNECT.
            if self.session_expiry == 0 && expiry != 0 {
                self.protocol_error(ReasonCode::ProtocolError, Some("[MQTT-3.14.2-2]"));
                return;
            }
            self.session_expiry = expiry.min(self.config.max_session_expiry);
        }
        // [MQTT-3.14.4-3]: a normal DISCONNECT discards the will; 0x04 asks for it.
        let publish_will = disconnect.code == ReasonCode::DisconnectWithWill;
        self.close(CloseReason::ClientDisconnect(disconnect.code), publish_will);
    }

    /// A Protocol Error (or another error that ends the connection) detected after CONNACK:
    /// v5 DISCONNECT with `code`, close, publish the will.
    pub(crate) fn protocol_error(&mut self, code: ReasonCode, reason: Option<&str>) {
        self.send_disconnect(code, reason.map(str::to_owned));
        self.close(CloseReason::ProtocolError(code), true);
    }

    /// Queues a DISCONNECT for a v5 client whose CONNACK was sent ([MQTT-3.14.0-1]: not
    /// before). 3.x has no server DISCONNECT: the connection is just closed.
    pub(crate) fn send_disconnect(&mut self, code: ReasonCode, reason: Option<String>) {
        if self.version != Some(ProtocolVersion::V5) || self.phase != Phase::Connected {
            return;
        }
        let mut properties = DisconnectProperties::default();
        if self.problem_information {
            properties.reason_string = reason.and_then(|r| MqttString::new(r).ok());
        }
        // [MQTT-3.14.2-3]: the Reason String goes if the DISCONNECT would not fit.
        self.transmit_fitted(Packet::Disconnect(Disconnect { code, properties }));
    }

    /// Ends the connection: emits [`Command::Close`] with the will when `publish_will`.
    pub(crate) fn close(&mut self, reason: CloseReason, publish_will: bool) {
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        let discarded_will = !publish_will && self.will.is_some();
        let will = if publish_will {
            self.will.take().map(|will| *will)
        } else {
            None
        };
        self.will = None;
        self.reauth = super::machine_auth::Reauth::Idle;
        self.deferred.clear();
        self.pending_subscribes.clear();
        let session_expiry = self.session_expiry;
        self.commands.push_back(Command::Close(Close {
            reason,
            will,
            discarded_will,
            session_expiry,
        }));
    }
}

/// The will of a CONNECT as the message it publishes, detached from the receive buffer.
pub(crate) fn will_message(will: Will, now: Instant) -> WillMessage {
    let p = will.properties;
    let delay = p.will_delay_interval.unwrap_or(0);
    let properties = crate::codec::PublishProperties {
        payload_format_indicator: p.payload_format_indicator,
        message_expiry_interval: p.message_expiry_interval,
        response_topic: p.response_topic,
        correlation_data: p.correlation_data,
        content_type: p.content_type,
        user_properties: p.user_properties,
        ..Default::default()
    };
    let message = super::Message::new(
        will.topic,
        will.payload,
        will.qos,
        will.retain,
        properties,
        now,
    )
    .detach();
    WillMessage { message, delay }
}
