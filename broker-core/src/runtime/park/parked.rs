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
use crate::runtime::clock::now;
use crate::runtime::connection::counted::Counted;
use crate::runtime::connection::task::Connection;
use crate::runtime::park::parker::Ticket;
use crate::runtime::queue::mailbox::SubscriberKey;
use crate::runtime::state::control::ControlSlot;
use crate::runtime::tasks::TaskGuard;
use crate::runtime::transport::listener::Listener;
use crate::runtime::transport::stream::Stream;
use crate::session::{ParkedSession, Session};
use crate::types::ClientId;

/// An idle connection's state while it is parked: its socket, out of tokio's set, and the
/// compact form of its session. Everything a connection grows while busy (buffers, timers,
/// caches) is left behind.
pub(crate) struct Parked {
    /// The socket, in non-blocking mode.
    pub(crate) socket: std::net::TcpStream,
    shared: Counted,
    session: ParkedSession,
    peer: SocketAddr,
    listener: Arc<Listener>,
    client_info: Option<Arc<ClientInfo>>,
    control: Arc<ControlSlot>,
    key: SubscriberKey,
    guard: TaskGuard,
    ticket: Arc<Ticket>,
}

impl Parked {
    /// The parked form of `connection`, woken through `ticket`; the connection is given
    /// back when it cannot park: not a connected plain TCP connection with a quiet session,
    /// or its socket could not be taken out of tokio's set.
    // Given back by value, once per failed attempt: moving it costs less than a box.
    #[allow(clippy::result_large_err)]
    pub(crate) fn new(
        mut connection: Connection,
        ticket: Arc<Ticket>,
    ) -> Result<Parked, Connection> {
        let Some(key) = connection.key.clone() else {
            return Err(connection);
        };
        let Stream::Tcp(tcp) = &connection.socket.0 else {
            return Err(connection);
        };
        let config = Arc::clone(connection.shared.session_config());
        // An empty session stands in while the session is tried: it is put back if it is
        // not quiet.
        let session = std::mem::replace(
            &mut connection.session,
            Session::new(Arc::clone(&config), now()),
        );
        let session = match session.park() {
            Ok(session) => session,
            Err(session) => {
                connection.session = session;
                return Err(connection);
            }
        };
        // A second descriptor of the socket, made before anything is given up: the
        // connection goes on unchanged if it cannot be made. Dropping the tokio stream then
        // leaves tokio's set and closes the first.
        let socket = match second_descriptor(tcp) {
            Ok(socket) => socket,
            Err(error) => {
                tracing::debug!(client = %connection.label(), %error, "Could not park: no descriptor.");
                connection.session = session.resume(config);
                return Err(connection);
            }
        };
        // The socket lives on in the parked connection: dropping the stream must not shut it
        // down.
        connection.socket.1 = false;
        let Connection {
            shared,
            peer,
            listener,
            client_info,
            control,
            _guard: guard,
            ..
        } = connection;
        Ok(Parked {
            socket,
            shared,
            session,
            peer,
            listener,
            client_info,
            control,
            key,
            guard,
            ticket,
        })
    }

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

    /// The connection again, its socket back in tokio's set. On failure the parked
    /// connection is given back, unchanged, with the error.
    // Given back by value, once per failed attempt: moving it costs less than a box.
    #[allow(clippy::result_large_err)]
    pub(crate) fn into_connection(self) -> Result<Connection, (Parked, io::Error)> {
        // On a second descriptor: if tokio refuses it, this one stays parked.
        let stream = second_descriptor(&self.socket).and_then(tokio::net::TcpStream::from_std);
        let stream = match stream {
            Ok(stream) => stream,
            Err(error) => return Err((self, error)),
        };
        let Parked {
            shared,
            session,
            peer,
            listener,
            client_info,
            control,
            key,
            guard,
            ..
        } = self;
        let session = session.resume(Arc::clone(shared.session_config()));
        Ok(Connection::resumed(
            shared,
            Stream::Tcp(stream),
            peer,
            listener,
            guard,
            session,
            control,
            key,
            client_info,
        ))
    }
}

/// Another descriptor of `socket`'s connection (`dup`): what is done with one does not
/// close the other.
fn second_descriptor(socket: &impl AsFd) -> io::Result<std::net::TcpStream> {
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
