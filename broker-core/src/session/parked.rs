//! A connected session in its compact idle form, while its connection is parked.
//!
//! A connection that has been idle for a while hands its socket to the parker and ends its
//! task (ARCHITECTURE.md, `runtime/`); the session goes with it in this form, which keeps
//! only what a quiet session needs to resume exactly where it was.

use std::sync::Arc;
use std::time::Instant;

use super::machine::Phase;
use super::{Session, SessionConfig};
use crate::types::{ClientId, ProtocolVersion};

/// A quiet connected session, compacted while its connection is parked
/// ([`Session::park`]); [`ParkedSession::resume`] gives back the same session.
#[derive(Debug)]
pub struct ParkedSession {
    session: Box<Session>,
}

impl Session {
    /// The session in its compact idle form, if it is quiet: connected, nothing to transmit
    /// and no command waiting, nothing deferred or pending, no authentication exchange, and
    /// nothing in flight either way. A session that is not quiet is given back.
    pub fn park(self) -> Result<ParkedSession, Session> {
        let quiet = self.phase == Phase::Connected
            && self.transmit.is_empty()
            && self.commands.is_empty()
            && self.deferred.is_empty()
            && self.pending_subscribes.is_empty()
            && self.pending_connect.is_none()
            && !self.is_reauthenticating()
            && self.state.outbound.is_empty()
            && self.state.inbound_qos2().is_empty();
        if quiet {
            Ok(ParkedSession {
                session: Box::new(self),
            })
        } else {
            Err(self)
        }
    }
}

impl ParkedSession {
    /// The session again, as it was parked, with the broker's session settings.
    #[must_use]
    pub fn resume(self, config: Arc<SessionConfig>) -> Session {
        let mut session = *self.session;
        session.config = config;
        session
    }

    /// When the parked session must be woken: its Keep Alive deadline, if it has one
    /// ([`Session::poll_timeout`]).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    /// The client identifier.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        self.session.state.client_id()
    }

    /// The protocol version of the connection.
    #[must_use]
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.session.version()
    }
}
