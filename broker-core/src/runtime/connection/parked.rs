//! A parked connection: what an idle connection keeps while it has no task ([`Parker`]).
//!
//! [`Parker`]: crate::runtime::park::parker::Parker

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use crate::hooks::ClientInfo;
use crate::runtime::park::parker::Ticket;
use crate::runtime::queue::mailbox::SubscriberKey;
use crate::runtime::state::control::ControlSlot;
use crate::runtime::state::counted::Counted;
use crate::runtime::tasks::TaskGuard;
use crate::runtime::transport::listener::Listener;
use crate::session::ParkedSession;
use crate::types::ClientId;

/// An idle connection's state while it is parked: its socket, out of tokio's set, and the
/// compact form of its session. Everything a connection grows while busy (buffers, timers,
/// caches) is left behind. A plain record: the connection makes it and is made again from it
/// ([`Connection::into_parked`], [`Connection::from_parked`]).
///
/// [`Connection::into_parked`]: crate::runtime::connection::task::Connection::into_parked
/// [`Connection::from_parked`]: crate::runtime::connection::task::Connection::from_parked
pub(crate) struct Parked {
    /// The socket, in non-blocking mode.
    pub(super) socket: std::net::TcpStream,
    pub(super) shared: Counted,
    pub(super) session: ParkedSession,
    pub(super) peer: Option<SocketAddr>,
    pub(super) listener: Arc<Listener>,
    pub(super) client_info: Option<Arc<ClientInfo>>,
    pub(super) control: Arc<ControlSlot>,
    pub(super) key: SubscriberKey,
    pub(super) guard: TaskGuard,
    pub(super) ticket: Arc<Ticket>,
}

impl Parked {
    /// The client identifier, for the log.
    pub(crate) fn client_id(&self) -> &ClientId {
        self.session.client_id()
    }

    /// When the parker resumes the connection if nothing else comes first: its Keep Alive
    /// deadline (computed, not kept: a parked connection is 192 bytes).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    /// Whether the broker still runs.
    pub(crate) fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// Whether `ticket` is this connection's.
    pub(crate) fn has_ticket(&self, ticket: &Arc<Ticket>) -> bool {
        Arc::ptr_eq(&self.ticket, ticket)
    }

    /// Makes `waker` what the mailbox and the control slot wake. Returns whether either
    /// already has something waiting.
    pub(crate) fn register(&self, waker: &Waker) -> bool {
        let mail = self.key.mailbox().wake_up().register(waker);
        let takeover = self.control.register(waker);
        mail || takeover
    }
}

/// Another descriptor of `socket`'s connection (`dup`): what is done with one does not
/// close the other.
pub(crate) fn second_descriptor(socket: &impl AsFd) -> io::Result<std::net::TcpStream> {
    socket
        .as_fd()
        .try_clone_to_owned()
        .map(std::net::TcpStream::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parked connection is one of these, boxed: 192 bytes is one of mimalloc's size
    /// classes, and one byte more costs 32 (docs/performance.md).
    #[test]
    fn a_parked_connection_fits_192_bytes() {
        assert!(std::mem::size_of::<Parked>() <= 192);
    }
}
