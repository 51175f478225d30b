//! The request of the `authenticate` hook.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::{AuthMethod, ClientInfo, Password};

/// Why the runtime asks a hook to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthPurpose {
    /// A CONNECT: the answer goes out in CONNACK.
    Connect,
    /// An MQTT 5 AUTH with reason code 0x19 on a live connection: the answer goes out in
    /// AUTH 0x00 (success) or DISCONNECT (failure).
    Reauthenticate,
}

/// One step of an MQTT 5 enhanced authentication exchange (MQTT 5.0 §4.12).
///
/// Round 0 is the packet that starts the exchange: CONNECT with an Authentication Method,
/// or AUTH 0x19. Round `n` is the client's `n`-th AUTH 0x18 answer to a challenge. The hook
/// that challenged gets `state` back: whatever it put in its
/// [`AuthChallenge::state`](super::AuthChallenge::state), so a hook keeps no memory of its
/// own between rounds (plugin instances are pooled and may differ from round to round).
#[derive(Clone, PartialEq, Eq)]
pub struct EnhancedAuth {
    /// The Authentication Method.
    pub method: AuthMethod,
    /// The Authentication Data of the packet, if any.
    pub data: Option<Bytes>,
    /// 0 for the packet that starts the exchange, then 1, 2, ... for each answer.
    pub round: u32,
    /// The state the hook returned with its last challenge; `None` in round 0.
    pub state: Option<Bytes>,
}

impl EnhancedAuth {
    /// The start of an exchange (round 0), or the method and data of an AUTH 0x18 packet
    /// to pass to [`HookChain::continue_authentication`](super::HookChain::continue_authentication)
    /// (which fills in the round and the state).
    #[must_use]
    pub fn new(method: AuthMethod, data: Option<Bytes>) -> Self {
        EnhancedAuth {
            method,
            data,
            round: 0,
            state: None,
        }
    }
}

impl fmt::Debug for EnhancedAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnhancedAuth")
            .field("method", &self.method)
            .field("data_len", &self.data.as_ref().map(Bytes::len))
            .field("round", &self.round)
            .field("state_len", &self.state.as_ref().map(Bytes::len))
            .finish()
    }
}

/// The request of [`Hook::authenticate`](super::Hook::authenticate): who connects, with
/// which credentials, and the enhanced-authentication step if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticateRequest {
    /// The connection: client id, user name, protocol version, peer address, listener,
    /// TLS client certificate.
    pub client: Arc<ClientInfo>,
    /// The CONNECT Password; `None` on re-authentication (AUTH carries none).
    pub password: Option<Password>,
    /// CONNECT or re-authentication.
    pub purpose: AuthPurpose,
    /// The MQTT 5 enhanced-authentication step; `None` for a plain CONNECT.
    pub enhanced: Option<EnhancedAuth>,
}

impl AuthenticateRequest {
    /// A CONNECT without enhanced authentication.
    #[must_use]
    pub fn connect(client: Arc<ClientInfo>, password: Option<Password>) -> Self {
        AuthenticateRequest {
            client,
            password,
            purpose: AuthPurpose::Connect,
            enhanced: None,
        }
    }

    /// An AUTH 0x19 on a live connection: re-authentication with `method` and `data`.
    #[must_use]
    pub fn reauthenticate(
        client: Arc<ClientInfo>,
        method: AuthMethod,
        data: Option<Bytes>,
    ) -> Self {
        AuthenticateRequest {
            client,
            password: None,
            purpose: AuthPurpose::Reauthenticate,
            enhanced: Some(EnhancedAuth::new(method, data)),
        }
    }

    /// Adds an enhanced-authentication step (a CONNECT with an Authentication Method).
    #[must_use]
    pub fn with_enhanced(mut self, enhanced: EnhancedAuth) -> Self {
        self.enhanced = Some(enhanced);
        self
    }
}
