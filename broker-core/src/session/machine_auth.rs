//! MQTT 5 enhanced authentication (MQTT 5.0 §4.12) and the answers of the runtime's hooks:
//! the AUTH exchange of a CONNECT, re-authentication on a live connection, the will checked
//! at CONNECT, and refused publishes.
//!
//! The session checks the packets (method, reason code, when an AUTH may come) and emits
//! [`Command::Authenticate`]; the runtime asks its hooks and answers with
//! [`Session::continue_auth`], [`Session::auth_success`] or [`Session::auth_failed`].
//!
//! ```text
//! CONNECT (method M)   -> Command::Connect { auth_method: M }      phase Connecting
//!   continue_auth(d)   -> AUTH 0x18 (M, d)                          phase ExpectAuth
//! AUTH 0x18 (M)        -> Command::Authenticate(Continue)           phase Connecting
//!   auth_success(d)    -> (CONNACK waits for accept)                phase Connecting
//!   accept(..)         -> CONNACK 0x00 (M, d)                       phase Connected
//!   auth_failed(c)     -> CONNACK c, close
//! AUTH 0x19 (M)        -> Command::Authenticate(Reauthenticate)     (connected)
//!   continue_auth(d)   -> AUTH 0x18; client AUTH 0x18 -> Command::Authenticate(Continue)
//!   auth_success(d)    -> AUTH 0x00 (M, d)
//!   auth_failed(c)     -> DISCONNECT c, close ([MQTT-4.12.1-2])
//! ```

use std::time::Instant;

use bytes::Bytes;

use crate::codec::{Ack, AckProperties, Auth, AuthProperties, Packet, PacketType};
use crate::types::{MqttString, ProtocolVersion, ReasonCode, TopicName};

use super::machine::Phase;
use super::{
    AuthRequest, AuthStep, CloseReason, Command, PublishAck, PublishOutcome, Session, WillMessage,
};

/// Where a re-authentication of a live connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Reauth {
    /// None in progress.
    Idle,
    /// An AUTH of the client is with the runtime ([`Command::Authenticate`]).
    Runtime,
    /// AUTH 0x18 sent: waiting for the client's answer.
    Client,
}

impl Session {
    /// The Authentication Method of the connection (MQTT 5 enhanced authentication), once
    /// the CONNECT has been read.
    #[must_use]
    pub fn auth_method(&self) -> Option<&MqttString> {
        self.auth_method.as_deref()
    }

    /// Whether a re-authentication is in progress on the live connection.
    #[must_use]
    pub fn is_reauthenticating(&self) -> bool {
        self.reauth != Reauth::Idle
    }

    /// The will of the CONNECT, while the connection is open: the runtime checks it (and
    /// may rewrite its topic) before it accepts the CONNECT.
    #[must_use]
    pub fn will(&self) -> Option<&WillMessage> {
        self.will.as_deref()
    }

    /// Publishes the will to `topic` instead (a hook rewrote it).
    pub fn set_will_topic(&mut self, topic: TopicName) {
        if let Some(will) = &mut self.will {
            will.message.topic = topic;
        }
    }

    /// The runtime's hooks challenge the client: AUTH 0x18 with the connection's method
    /// ([MQTT-4.12.0-2], [MQTT-4.12.0-5]), `data`, and `reason` for a client that accepts
    /// reason strings. The client's answer comes as [`Command::Authenticate`].
    ///
    /// A challenge with no enhanced authentication to continue (a CONNECT without an
    /// Authentication Method, which MQTT 5 forbids answering with AUTH, [MQTT-4.12.0-6]) is
    /// refused as 0x87 Not authorized instead; one while no exchange waits is ignored.
    pub fn continue_auth(&mut self, data: Bytes, reason: Option<MqttString>) {
        match self.phase {
            Phase::Connecting if self.auth_method.is_some() => {
                self.send_auth(ReasonCode::ContinueAuthentication, Some(data), reason);
                self.phase = Phase::ExpectAuth;
            }
            Phase::Connecting => self.refuse(ReasonCode::NotAuthorized),
            Phase::Connected if self.reauth == Reauth::Runtime => {
                self.send_auth(ReasonCode::ContinueAuthentication, Some(data), reason);
                self.reauth = Reauth::Client;
            }
            _ => {}
        }
    }

    /// The runtime's hooks authenticated the client. For a CONNECT, `data` (the final
    /// Authentication Data) and `reason` go in the CONNACK, which is sent by
    /// [`Session::accept`] once the runtime has found the session. For a re-authentication,
    /// AUTH 0x00 goes out now with the method and `data`.
    pub fn auth_success(&mut self, data: Option<Bytes>, reason: Option<MqttString>) {
        match self.phase {
            Phase::Connecting => {
                if let Some(pending) = &mut self.pending_connect {
                    // [MQTT-4.12.0-6]: no Authentication Data without a method.
                    pending.auth_data = data.filter(|_| self.auth_method.is_some());
                    pending.reason = reason;
                }
            }
            Phase::Connected if self.reauth == Reauth::Runtime => {
                self.send_auth(ReasonCode::Success, data, reason);
                self.reauth = Reauth::Idle;
            }
            _ => {}
        }
    }

    /// The runtime's hooks refused the client with `code` (and `reason` for a client that
    /// accepts reason strings). For a CONNECT: CONNACK with the code, then close
    /// ([MQTT-4.12.0-4]); an MQTT 3 client gets the nearest return code (0x86 -> 4 Bad user
    /// name or password, 0x88 and 0x89 -> 3 Server unavailable, any other -> 5 Not
    /// authorized). For a re-authentication: DISCONNECT with the code, then close
    /// ([MQTT-4.12.1-2]); the will is published.
    pub fn auth_failed(&mut self, code: ReasonCode, reason: Option<MqttString>, _now: Instant) {
        match self.phase {
            Phase::Connecting | Phase::ExpectAuth => {
                let code = connack_refusal(self.version, code);
                self.refuse_with(code, reason, CloseReason::ConnectRefused(code));
            }
            Phase::Connected if self.reauth != Reauth::Idle => {
                let code = fit(code, PacketType::Disconnect);
                self.send_disconnect(code, reason.map(|r| r.as_str().to_owned()));
                self.close(CloseReason::ReauthenticationFailed(code), true);
            }
            _ => {}
        }
    }

    /// The runtime refused the message of a QoS 1 or 2 PUBLISH (a hook did not authorize
    /// it): MQTT 5 gets PUBACK or PUBREC with `code` (and `reason` if it accepts reason
    /// strings), and a refused QoS 2 message frees its packet identifier ([MQTT-4.3.3-9]).
    /// MQTT 3 cannot be told: the PUBLISH is acknowledged as usual and the message dropped,
    /// as Mosquitto does. QoS 0 (`ack` is `None`) is dropped silently.
    pub fn refuse_publish(
        &mut self,
        ack: Option<PublishAck>,
        code: ReasonCode,
        reason: Option<MqttString>,
    ) {
        let Some(ack) = ack else {
            return;
        };
        if self.version != Some(ProtocolVersion::V5) {
            return self.complete_publish(ack, PublishOutcome::Routed { matched: true });
        }
        if self.phase != Phase::Connected {
            return;
        }
        let packet = if ack.qos == crate::types::QoS::ExactlyOnce {
            PacketType::PubRec
        } else {
            PacketType::PubAck
        };
        let mut answer = Ack::new(ack.packet_id);
        answer.code = fit(code, packet);
        if self.problem_information {
            answer.properties = AckProperties {
                reason_string: reason,
                ..AckProperties::default()
            };
        }
        if packet == PacketType::PubRec {
            self.state.inbound_qos2.refuse(ack.packet_id);
            self.transmit_fitted(Packet::PubRec(answer));
        } else {
            self.transmit_fitted(Packet::PubAck(answer));
        }
    }

    /// A packet during the CONNECT's AUTH exchange: only the client's AUTH 0x18 with the
    /// connection's method, or DISCONNECT.
    pub(crate) fn handle_exchange_packet(&mut self, packet: Packet) {
        match packet {
            Packet::Auth(auth) => match self.checked_auth(auth, AuthStep::Continue) {
                Ok(request) => {
                    self.phase = Phase::Connecting;
                    self.commands.push_back(Command::Authenticate(request));
                }
                // Before CONNACK a Protocol Error is answered with CONNACK 0x82.
                Err(statement) => self.refuse_with(
                    ReasonCode::ProtocolError,
                    MqttString::new(statement).ok(),
                    CloseReason::ProtocolError(ReasonCode::ProtocolError),
                ),
            },
            // The client may give up the exchange.
            Packet::Disconnect(disconnect) => {
                self.close(CloseReason::ClientDisconnect(disconnect.code), false);
            }
            // [MQTT-3.1.2-30]: nothing but AUTH or DISCONNECT before CONNACK.
            _ => self.refuse_with(
                ReasonCode::ProtocolError,
                MqttString::new("[MQTT-3.1.2-30]").ok(),
                CloseReason::ProtocolError(ReasonCode::ProtocolError),
            ),
        }
    }

    /// An AUTH on a live connection: the start of a re-authentication (0x19), or the answer
    /// to the server's challenge (0x18) during one.
    pub(crate) fn handle_reauth_packet(&mut self, auth: Auth) {
        if self.auth_method.is_none() {
            // [MQTT-4.12.0-7]: no AUTH from a client whose CONNECT had no method.
            return self.protocol_error(ReasonCode::ProtocolError, Some("[MQTT-4.12.0-7]"));
        }
        let step = match (auth.code, self.reauth) {
            (ReasonCode::ReAuthenticate, Reauth::Idle) => AuthStep::Reauthenticate,
            (ReasonCode::ContinueAuthentication, Reauth::Client) => AuthStep::Continue,
            // AUTH 0x00 is the server's; 0x18 answers a challenge only; 0x19 only starts
            // an exchange (MQTT 5.0 §3.15.2.1, §4.12.1).
            _ => {
                return self.protocol_error(
                    ReasonCode::ProtocolError,
                    Some("AUTH out of the exchange (MQTT 5.0 §4.12.1)"),
                )
            }
        };
        match self.checked_auth(auth, step) {
            Ok(request) => {
                self.reauth = Reauth::Runtime;
                self.commands.push_back(Command::Authenticate(request));
            }
            Err(statement) => self.protocol_error(ReasonCode::ProtocolError, Some(statement)),
        }
    }

    /// The request an AUTH of the client makes, if it has the right reason code for `step`
    /// and the connection's method; otherwise the statement it breaks.
    fn checked_auth(&self, auth: Auth, step: AuthStep) -> Result<AuthRequest, &'static str> {
        let wanted = match step {
            AuthStep::Continue => ReasonCode::ContinueAuthentication,
            AuthStep::Reauthenticate => ReasonCode::ReAuthenticate,
        };
        if auth.code != wanted {
            // [MQTT-4.12.0-3]: the client answers a challenge with 0x18.
            return Err("[MQTT-4.12.0-3]");
        }
        let properties = auth.properties;
        let Some(method) = properties.authentication_method else {
            return Err("[MQTT-4.12.0-5]");
        };
        if Some(&method) != self.auth_method.as_deref() {
            return Err(match step {
                AuthStep::Continue => "[MQTT-4.12.0-5]",
                AuthStep::Reauthenticate => "[MQTT-4.12.1-1]",
            });
        }
        Ok(AuthRequest {
            step,
            method,
            data: properties.authentication_data,
        })
    }

    /// Queues an AUTH with the connection's method ([MQTT-4.12.0-5]).
    fn send_auth(&mut self, code: ReasonCode, data: Option<Bytes>, reason: Option<MqttString>) {
        let properties = AuthProperties {
            authentication_method: self.auth_method.as_deref().cloned(),
            authentication_data: data,
            // [MQTT-3.1.2-29]: no Reason String on AUTH unless the client asked for them.
            reason_string: reason.filter(|_| self.problem_information),
            ..AuthProperties::default()
        };
        self.transmit_fitted(Packet::Auth(Auth { code, properties }));
    }
}

/// `code` if `packet` may carry it as a failure, else 0x87 Not authorized.
fn fit(code: ReasonCode, packet: PacketType) -> ReasonCode {
    if code.is_error() && code.allowed_in(packet) {
        code
    } else {
        ReasonCode::NotAuthorized
    }
}

/// The CONNACK code that refuses an authentication: `code` for MQTT 5 (0x87 if CONNACK does
/// not allow it); for MQTT 3, the code of the nearest return code (0x86 -> 4, 0x88 and
/// 0x89 -> 3, anything else -> 5).
fn connack_refusal(version: Option<ProtocolVersion>, code: ReasonCode) -> ReasonCode {
    if version == Some(ProtocolVersion::V5) {
        return fit(code, PacketType::ConnAck);
    }
    match code {
        ReasonCode::BadUserNameOrPassword => ReasonCode::BadUserNameOrPassword,
        ReasonCode::ServerUnavailable | ReasonCode::ServerBusy => ReasonCode::ServerUnavailable,
        _ => ReasonCode::NotAuthorized,
    }
}
