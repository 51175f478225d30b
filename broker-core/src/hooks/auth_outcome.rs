//! The chain's answer to an authentication request.

use std::fmt;

use bytes::Bytes;

use super::{AuthMethod, AuthPurpose, AuthSuccess, Refusal};
use crate::types::{MqttString, ReasonCode};

/// An enhanced-authentication exchange waiting for the client's next AUTH 0x18.
///
/// Opaque to the runtime: it keeps the value with the connection and hands it back to
/// [`HookChain::continue_authentication`](super::HookChain::continue_authentication), which
/// sends the answer to the hook that challenged, with that hook's state.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingAuth {
    pub(super) hook: usize,
    pub(super) method: AuthMethod,
    pub(super) round: u32,
    pub(super) state: Option<Bytes>,
    pub(super) purpose: AuthPurpose,
}

impl PendingAuth {
    /// The Authentication Method of the exchange: the client's AUTH packets must carry it.
    #[must_use]
    pub fn method(&self) -> &AuthMethod {
        &self.method
    }

    /// The round of the request that produced the challenge (0 for CONNECT or AUTH 0x19).
    #[must_use]
    pub fn round(&self) -> u32 {
        self.round
    }

    /// Whether the exchange authenticates a CONNECT or re-authenticates.
    #[must_use]
    pub fn purpose(&self) -> AuthPurpose {
        self.purpose
    }
}

impl fmt::Debug for PendingAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuth")
            .field("hook", &self.hook)
            .field("method", &self.method)
            .field("round", &self.round)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

/// What the chain decided about an authentication request: never "no opinion".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Authenticated: CONNACK 0x00 (or AUTH 0x00 after re-authentication), with the final
    /// Authentication Data if the hook gave some.
    Allowed(AuthSuccess),
    /// Send AUTH 0x18 with `data` (and `reason`), keep `pending`, and pass the client's
    /// answer to [`HookChain::continue_authentication`](super::HookChain::continue_authentication).
    Continue {
        /// The Authentication Data for the client.
        data: Bytes,
        /// A reason string for the AUTH packet.
        reason: Option<MqttString>,
        /// The exchange, for the next round.
        pending: PendingAuth,
    },
    /// Refused: CONNACK with the code (the session maps it to the MQTT 3 return code), or
    /// DISCONNECT after a failed re-authentication. The code is one the answering packet
    /// allows.
    Denied(Refusal),
}

impl AuthOutcome {
    /// 0x00 Success, 0x18 Continue authentication, or the refusal's code.
    #[must_use]
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            AuthOutcome::Allowed(_) => ReasonCode::Success,
            AuthOutcome::Continue { .. } => ReasonCode::ContinueAuthentication,
            AuthOutcome::Denied(refusal) => refusal.code(),
        }
    }

    /// Whether the client is authenticated.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, AuthOutcome::Allowed(_))
    }
}
