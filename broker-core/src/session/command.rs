//! What a [`Session`](super::Session) asks its runtime to do, and the runtime's answers.

use bytes::Bytes;

use crate::router::SubscriptionEntry;
use crate::types::{ClientId, MqttString, PacketId, ProtocolVersion, QoS, ReasonCode, TopicFilter};

use super::Message;

/// Work the session cannot do itself because it needs the rest of the broker: the session
/// registry, the router, the retained store. The runtime takes commands with
/// [`Session::poll_command`](super::Session::poll_command) after every call that feeds the
/// session, carries them out in order, and answers the ones that ask for an answer.
#[derive(Debug)]
pub enum Command {
    /// A valid CONNECT arrived. Check the client's credentials, take the client identifier
    /// over from any connection holding it, find the session to resume, then answer with
    /// [`Session::accept`](super::Session::accept) or
    /// [`Session::reject`](super::Session::reject).
    Connect(ConnectRequest),
    /// An MQTT 5 AUTH from the client: the answer to a challenge (0x18), or the start of a
    /// re-authentication (0x19) on a live connection. Answer with
    /// [`Session::continue_auth`](super::Session::continue_auth),
    /// [`Session::auth_success`](super::Session::auth_success) or
    /// [`Session::auth_failed`](super::Session::auth_failed).
    Authenticate(AuthRequest),
    /// An application message to route (and to retain, if its RETAIN flag is set). Answer
    /// with [`Session::complete_publish`](super::Session::complete_publish) when
    /// [`PublishRequest::ack`] is set: the acknowledgement waits until the message is safe.
    Publish(PublishRequest),
    /// Filters to add to the router. Answer with
    /// [`Session::complete_subscribe`](super::Session::complete_subscribe), then send the
    /// retained messages each granted filter asks for.
    Subscribe(SubscribeRequest),
    /// Filters this session no longer holds: remove them from the router. The UNSUBACK is
    /// already queued.
    Unsubscribe(UnsubscribeRequest),
    /// The connection is over: send what [`Session::poll_transmit`](super::Session::poll_transmit)
    /// still gives, close the socket, then deal with the will and the session state
    /// ([`Session::into_state`](super::Session::into_state)).
    Close(Close),
}

/// A valid CONNECT, as the runtime needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The protocol version.
    pub version: ProtocolVersion,
    /// The client identifier: the client's, or the one the server assigned.
    pub client_id: ClientId,
    /// Whether the server assigned the client identifier (the client sent an empty one).
    pub assigned_client_id: bool,
    /// Clean Session (3.x) or Clean Start (5.0): discard any existing session.
    pub clean_start: bool,
    /// The Session Expiry Interval granted, in seconds (3.x: 0 for a clean session,
    /// `u32::MAX` otherwise).
    pub session_expiry: u32,
    /// The Keep Alive in force, in seconds.
    pub keep_alive: u16,
    /// User Name.
    pub username: Option<MqttString>,
    /// Password.
    pub password: Option<Bytes>,
    /// Whether the CONNECT carries a will.
    pub has_will: bool,
    /// The MQTT 5 Authentication Method, when the CONNECT starts an enhanced
    /// authentication (MQTT 5.0 §4.12): the runtime answers with
    /// [`Session::continue_auth`](super::Session::continue_auth) (AUTH 0x18),
    /// [`Session::auth_success`](super::Session::auth_success) then
    /// [`Session::accept`](super::Session::accept), or
    /// [`Session::auth_failed`](super::Session::auth_failed).
    pub auth_method: Option<MqttString>,
    /// The CONNECT's Authentication Data.
    pub auth_data: Option<Bytes>,
    /// A bridge's CONNECT ([`Connect::bridge`](crate::codec::Connect::bridge)).
    pub bridge: bool,
}

impl std::fmt::Debug for ConnectRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectRequest")
            .field("version", &self.version)
            .field("client_id", &self.client_id)
            .field("assigned_client_id", &self.assigned_client_id)
            .field("clean_start", &self.clean_start)
            .field("session_expiry", &self.session_expiry)
            .field("keep_alive", &self.keep_alive)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("has_will", &self.has_will)
            .field("auth_method", &self.auth_method)
            .field("auth_data", &self.auth_data.as_ref().map(Bytes::len))
            .field("bridge", &self.bridge)
            .finish()
    }
}

/// What an AUTH from the client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthStep {
    /// AUTH 0x18 Continue authentication: the client's answer to the last challenge, in
    /// the CONNECT exchange or in a re-authentication.
    Continue,
    /// AUTH 0x19 Re-authenticate: the client starts a re-authentication on a live
    /// connection ([MQTT-4.12.1-1]).
    Reauthenticate,
}

/// An AUTH packet of the client, checked by the session: its method is the connection's
/// ([MQTT-4.12.0-5], [MQTT-4.12.1-1]) and it comes when the exchange expects it.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// Continue an exchange, or start a re-authentication.
    pub step: AuthStep,
    /// The Authentication Method (the one of the CONNECT).
    pub method: MqttString,
    /// The Authentication Data, if any.
    pub data: Option<Bytes>,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("step", &self.step)
            .field("method", &self.method)
            .field("data", &self.data.as_ref().map(Bytes::len))
            .finish()
    }
}

/// An application message the client published.
#[derive(Debug)]
pub struct PublishRequest {
    /// The message, topic alias resolved.
    pub message: Message,
    /// The acknowledgement owed to the client for it (QoS 1 and 2), to hand back to
    /// [`Session::complete_publish`](super::Session::complete_publish).
    pub ack: Option<PublishAck>,
}

/// The acknowledgement a QoS 1 or QoS 2 PUBLISH is owed: a PUBACK or a PUBREC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublishAck {
    pub(crate) packet_id: PacketId,
    pub(crate) qos: QoS,
}

impl PublishAck {
    /// The packet identifier of the PUBLISH.
    #[must_use]
    pub fn packet_id(self) -> PacketId {
        self.packet_id
    }

    /// The QoS of the PUBLISH: 1 (PUBACK) or 2 (PUBREC).
    #[must_use]
    pub fn qos(self) -> QoS {
        self.qos
    }
}

/// What became of a published message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublishOutcome {
    /// Routed; `matched` says whether any subscription matched (MQTT 5 answers 0x10 No
    /// matching subscribers when none did).
    Routed {
        /// Whether any subscription matched.
        matched: bool,
    },
    /// Not accepted, with the reason code MQTT 5 gets in its PUBACK / PUBREC: the broker
    /// could not keep the message (0x97 Quota exceeded for a full session store, 0x80
    /// Unspecified error for another store failure). An MQTT 3.x client gets no
    /// acknowledgement and its connection is closed ([`CloseReason::PublishRefused`]): 3.x
    /// has no way to say "refused"
    /// ([`Session::complete_publish`](super::Session::complete_publish)). A publish the hooks
    /// deny goes to [`Session::refuse_publish`](super::Session::refuse_publish) instead,
    /// which acknowledges it in 3.x as Mosquitto does.
    Refused(ReasonCode),
}

/// Filters a SUBSCRIBE asks for, checked by the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeRequest {
    /// The SUBSCRIBE's packet identifier, to hand back.
    pub packet_id: PacketId,
    /// One entry per filter, in the packet's order.
    pub filters: Vec<FilterRequest>,
}

/// One filter of a SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterRequest {
    /// The filter.
    pub filter: TopicFilter,
    /// What the router records for it: options (QoS already capped at the server's maximum)
    /// and subscription identifier.
    pub entry: SubscriptionEntry,
    /// Whether this session held the filter before (Retain Handling 1 sends retained
    /// messages only for a new subscription).
    pub existed: bool,
    /// The session refused the filter already, with this code: do not subscribe it.
    pub refused: Option<ReasonCode>,
}

impl FilterRequest {
    /// Whether retained messages are to be sent for this filter now (MQTT 5.0 §3.3.1.3,
    /// Retain Handling, [MQTT-3.3.1-9], [MQTT-3.3.1-10], [MQTT-3.3.1-11]; never for a shared
    /// subscription, §3.8.4 and §4.8.2).
    #[must_use]
    pub fn wants_retained(&self) -> bool {
        use crate::codec::RetainHandling;
        if self.refused.is_some() || self.filter.is_shared() {
            return false;
        }
        match self.entry.options.retain_handling {
            RetainHandling::SendAtSubscribe => true,
            RetainHandling::SendAtSubscribeIfNew => !self.existed,
            RetainHandling::DoNotSend => false,
        }
    }
}

/// What the runtime did with one filter of a [`SubscribeRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOutcome {
    /// Subscribed at this maximum QoS.
    Granted(QoS),
    /// Refused with this code (0x87 Not authorized, 0x97 Quota exceeded, ...).
    Refused(ReasonCode),
}

/// Filters removed from the session by an UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeRequest {
    /// The filters the session held and no longer does.
    pub filters: Vec<TopicFilter>,
}

/// Why and how a connection ends.
#[derive(Debug)]
pub struct Close {
    /// Why.
    pub reason: CloseReason,
    /// The will to publish, now or after its delay, unless the session resumes on another
    /// connection first; `None` when there is none or it must not be published.
    pub will: Option<WillMessage>,
    /// The connection had a will and this close discards it without publishing it (a
    /// DISCONNECT with Reason Code 0x00, or any 3.x DISCONNECT: [MQTT-3.1.2-10],
    /// [MQTT-3.14.4-3]; a connection that never became live). A persistent session's record
    /// that holds the will must lose it before the connection is gone, or a restart after a
    /// crash would publish it.
    pub discarded_will: bool,
    /// The Session Expiry Interval in force at the close, in seconds: 0 ends the session
    /// now; `u32::MAX` never expires.
    pub session_expiry: u32,
}

/// A will waiting to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WillMessage {
    /// The message.
    pub message: Message,
    /// Will Delay Interval, in seconds.
    pub delay: u32,
}

/// Why a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client sent DISCONNECT with this reason code.
    ClientDisconnect(ReasonCode),
    /// The network connection closed or failed without a DISCONNECT.
    ConnectionLost,
    /// Nothing arrived within one and a half times the Keep Alive.
    KeepAliveTimeout,
    /// No CONNECT arrived in time.
    ConnectTimeout,
    /// The client broke the protocol; the server answered with this reason code.
    ProtocolError(ReasonCode),
    /// The CONNECT was refused with this reason code.
    ConnectRefused(ReasonCode),
    /// Another connection took the client identifier over.
    TakenOver,
    /// The server closed the connection with this reason code (shutting down, ...).
    ServerDisconnect(ReasonCode),
    /// A re-authentication failed; the server sent DISCONNECT with this reason code
    /// ([MQTT-4.12.1-2]).
    ReauthenticationFailed(ReasonCode),
    /// The broker refused a QoS 1 or 2 message of an MQTT 3.x client with this reason code
    /// (0x97 Quota exceeded, 0x80 Unspecified error: the session store could not take it).
    /// A 3.x acknowledgement cannot carry the refusal, so none was sent and the connection
    /// is closed: the client keeps the PUBLISH unacknowledged ([MQTT-4.3.2-1],
    /// [MQTT-4.3.3-1]) and sends it again when it reconnects ([MQTT-4.4.0-1]).
    PublishRefused(ReasonCode),
}
