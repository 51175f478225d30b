//! The decision of the `authenticate` hook.

use bytes::Bytes;

use super::{Attributes, Refusal};
use crate::types::{MqttString, ReasonCode};

/// A successful authentication: CONNACK 0x00, or AUTH 0x00 after re-authentication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthSuccess {
    /// Final Authentication Data for the client (such as a SCRAM server signature); only
    /// with enhanced authentication.
    pub data: Option<Bytes>,
    /// A reason string for MQTT 5 clients.
    pub reason: Option<MqttString>,
    /// What the hook learned about the client (a token's claims, say), kept on the
    /// connection for the hooks that authorize its requests; see [`Attributes`].
    pub attributes: Attributes,
}

/// A challenge: the server sends AUTH 0x18 with `data` and waits for the client's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthChallenge {
    /// The Authentication Data sent to the client.
    pub data: Bytes,
    /// What the hook needs to check the answer (nonces, the expected proof, ...). Never
    /// sent to the client; handed back in the next round's
    /// [`EnhancedAuth::state`](super::EnhancedAuth::state).
    pub state: Option<Bytes>,
    /// A reason string for the AUTH packet.
    pub reason: Option<MqttString>,
}

/// What one hook says to an [`AuthenticateRequest`](super::AuthenticateRequest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthDecision {
    /// Authenticated. The chain stops here.
    Allow(AuthSuccess),
    /// Send a challenge (MQTT 5 enhanced authentication only). The chain stops here, and
    /// the client's answer goes to this hook alone.
    Continue(AuthChallenge),
    /// Refused. The chain stops here.
    Deny(Refusal),
    /// No opinion: ask the next hook.
    Next,
}

impl AuthDecision {
    /// Authenticated, with no data and no reason string.
    #[must_use]
    pub fn allow() -> Self {
        AuthDecision::Allow(AuthSuccess::default())
    }

    /// Refused with `code` (see [`Refusal::new`]).
    #[must_use]
    pub fn deny(code: ReasonCode) -> Self {
        AuthDecision::Deny(Refusal::new(code))
    }

    /// A challenge carrying `data`, with `state` for the next round.
    #[must_use]
    pub fn challenge(data: Bytes, state: Option<Bytes>) -> Self {
        AuthDecision::Continue(AuthChallenge {
            data,
            state,
            reason: None,
        })
    }

    /// The reason code the decision stands for: 0x00 Success, 0x18 Continue authentication
    /// or the refusal's code; `None` for [`AuthDecision::Next`].
    #[must_use]
    pub fn reason_code(&self) -> Option<ReasonCode> {
        match self {
            AuthDecision::Allow(_) => Some(ReasonCode::Success),
            AuthDecision::Continue(_) => Some(ReasonCode::ContinueAuthentication),
            AuthDecision::Deny(refusal) => Some(refusal.code()),
            AuthDecision::Next => None,
        }
    }
}
