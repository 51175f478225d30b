//! Between broker-core's hook types and the WIT's.

use std::time::Duration;

use broker_core::hooks::{
    Attributes, AuthChallenge, AuthDecision, AuthPurpose, AuthSuccess, AuthenticateRequest,
    AuthzDecision, Event, Refusal,
};
use broker_core::session::{CloseReason, DropReason};
use broker_core::types::{MqttString, QoS, ReasonCode};
use bytes::Bytes;

use crate::bindings::exports::skein::plugin::authn::{self, AuthResult};
use crate::bindings::exports::skein::plugin::events as ev;
use crate::bindings::skein::plugin::types::{self as wit, Decision, EventKind};

pub(crate) fn qos(qos: QoS) -> wit::Qos {
    match qos {
        QoS::AtMostOnce => wit::Qos::AtMostOnce,
        QoS::AtLeastOnce => wit::Qos::AtLeastOnce,
        QoS::ExactlyOnce => wit::Qos::ExactlyOnce,
    }
}

fn reason_code(code: wit::ReasonCode) -> ReasonCode {
    match code {
        wit::ReasonCode::UnspecifiedError => ReasonCode::UnspecifiedError,
        wit::ReasonCode::ImplementationSpecificError => ReasonCode::ImplementationSpecificError,
        wit::ReasonCode::BadUserNameOrPassword => ReasonCode::BadUserNameOrPassword,
        wit::ReasonCode::NotAuthorized => ReasonCode::NotAuthorized,
        wit::ReasonCode::ServerUnavailable => ReasonCode::ServerUnavailable,
        wit::ReasonCode::ServerBusy => ReasonCode::ServerBusy,
        wit::ReasonCode::Banned => ReasonCode::Banned,
        wit::ReasonCode::BadAuthenticationMethod => ReasonCode::BadAuthenticationMethod,
        wit::ReasonCode::TopicNameInvalid => ReasonCode::TopicNameInvalid,
        wit::ReasonCode::QuotaExceeded => ReasonCode::QuotaExceeded,
        wit::ReasonCode::PayloadFormatInvalid => ReasonCode::PayloadFormatInvalid,
    }
}

/// A reason string a plugin gave, unless it is no valid MQTT string.
fn reason(reason: Option<String>) -> Option<MqttString> {
    reason.and_then(|r| MqttString::new(r).ok())
}

/// The refusal, and how long it may be cached (ms).
fn refusal(refusal: wit::Refusal) -> (Refusal, u32) {
    let mut out = Refusal::new(reason_code(refusal.code));
    if let Some(reason) = reason(refusal.reason) {
        out = out.with_reason(reason);
    }
    (out, refusal.cache)
}

fn cached(decision: AuthzDecision, ms: u32) -> AuthzDecision {
    if ms == 0 {
        decision
    } else {
        decision.cached(Duration::from_millis(u64::from(ms)))
    }
}

pub(crate) fn authz_decision(decision: Decision) -> AuthzDecision {
    match decision {
        Decision::Allow(ms) => cached(AuthzDecision::allow(), ms),
        Decision::Deny(r) => {
            let (r, ms) = refusal(r);
            cached(AuthzDecision::refuse(r), ms)
        }
        Decision::Next => AuthzDecision::Next,
    }
}

/// The WIT request of `request`, at `now_ms`.
pub(crate) fn auth_request(request: &AuthenticateRequest, now_ms: u64) -> authn::AuthRequest {
    authn::AuthRequest {
        purpose: match request.purpose {
            AuthPurpose::Connect => authn::Purpose::Connect,
            AuthPurpose::Reauthenticate => authn::Purpose::Reauthenticate,
        },
        password: request.password.as_ref().map(|p| p.as_bytes().to_vec()),
        enhanced: request.enhanced.as_ref().map(|e| authn::EnhancedStep {
            method: e.method.as_str().to_owned(),
            data: e.data.as_ref().map(|d| d.to_vec()),
            round: e.round,
            state: e.state.as_ref().map(|s| s.to_vec()),
        }),
        now_ms,
    }
}

/// The hook's decision for the plugin's `result`.
pub(crate) fn auth_decision(result: AuthResult) -> AuthDecision {
    match result {
        AuthResult::Accept(accepted) => AuthDecision::Allow(AuthSuccess {
            data: accepted.data.map(Bytes::from),
            reason: reason(accepted.reason),
            attributes: Attributes::new(accepted.attributes),
        }),
        AuthResult::Challenge(challenge) => AuthDecision::Continue(AuthChallenge {
            data: Bytes::from(challenge.data),
            state: challenge.state.map(Bytes::from),
            reason: reason(challenge.reason),
        }),
        AuthResult::Deny(r) => AuthDecision::Deny(refusal(r).0),
        AuthResult::Next => AuthDecision::Next,
    }
}

/// The kinds of event a set of flags stands for, one bit per [`EventKind`].
pub(crate) fn event_bit(kind: EventKind) -> u8 {
    1 << (kind as u8)
}

/// The kind of `event`: read before the event is built, so a plugin is sent (and the host
/// copies) only the kinds it asked for.
pub(crate) fn event_kind(event: &Event) -> EventKind {
    match event {
        Event::Connected { .. } => EventKind::Connected,
        Event::Disconnected { .. } => EventKind::Disconnected,
        Event::Subscribed { .. } => EventKind::Subscribed,
        Event::Unsubscribed { .. } => EventKind::Unsubscribed,
        Event::MessageDelivered { .. } => EventKind::Delivered,
        Event::MessageDropped { .. } => EventKind::Dropped,
    }
}

/// The WIT event of `event`.
pub(crate) fn event(event: &Event) -> ev::Event {
    match event {
        Event::Connected {
            client,
            session_present,
        } => ev::Event::Connected(ev::Connected {
            client_id: client.client_id.as_str().to_owned(),
            username: client.username.as_ref().map(|u| u.as_str().to_owned()),
            peer_addr: client.peer_addr.map(|a| a.to_string()).unwrap_or_default(),
            session_present: *session_present,
        }),
        Event::Disconnected { client_id, reason } => ev::Event::Disconnected(ev::Ended {
            client_id: client_id.as_str().to_owned(),
            reason: close_reason(*reason),
        }),
        Event::Subscribed {
            client_id,
            filter,
            qos: granted,
        } => ev::Event::Subscribed(ev::Subscription {
            client_id: client_id.as_str().to_owned(),
            filter: filter.as_str().to_owned(),
            qos: qos(*granted),
        }),
        Event::Unsubscribed { client_id, filter } => ev::Event::Unsubscribed(ev::Subscription {
            client_id: client_id.as_str().to_owned(),
            filter: filter.as_str().to_owned(),
            qos: wit::Qos::AtMostOnce,
        }),
        Event::MessageDelivered {
            client_id,
            topic,
            qos: sent,
        } => ev::Event::Delivered(ev::Message {
            client_id: client_id.as_str().to_owned(),
            topic: topic.as_str().to_owned(),
            qos: qos(*sent),
        }),
        Event::MessageDropped {
            client_id,
            topic,
            qos: would,
            reason,
        } => ev::Event::Dropped(ev::Dropped {
            client_id: client_id.as_str().to_owned(),
            topic: topic.as_str().to_owned(),
            qos: qos(*would),
            reason: drop_reason(*reason).to_owned(),
        }),
    }
}

/// Why a connection ended, as a plugin reads it: a name, and the reason code when one went
/// on the wire (`client-disconnect 0x00`).
fn close_reason(reason: CloseReason) -> String {
    let (name, code) = match reason {
        CloseReason::ClientDisconnect(code) => ("client-disconnect", Some(code)),
        CloseReason::ConnectionLost => ("connection-lost", None),
        CloseReason::KeepAliveTimeout => ("keep-alive-timeout", None),
        CloseReason::ConnectTimeout => ("connect-timeout", None),
        CloseReason::ProtocolError(code) => ("protocol-error", Some(code)),
        CloseReason::ConnectRefused(code) => ("connect-refused", Some(code)),
        CloseReason::TakenOver => ("taken-over", None),
        CloseReason::ServerDisconnect(code) => ("server-disconnect", Some(code)),
        CloseReason::ReauthenticationFailed(code) => ("reauthentication-failed", Some(code)),
        CloseReason::PublishRefused(code) => ("publish-refused", Some(code)),
    };
    match code {
        Some(code) => format!("{name} 0x{:02X}", code.get()),
        None => name.to_owned(),
    }
}

/// Why a message was dropped, as a plugin reads it.
fn drop_reason(reason: DropReason) -> &'static str {
    match reason {
        DropReason::QueueFull => "queue-full",
        DropReason::TooLarge => "too-large",
        DropReason::Qos0NotQueued => "qos0-not-queued",
        DropReason::Expired => "expired",
        DropReason::PacketTooLarge => "packet-too-large",
    }
}
