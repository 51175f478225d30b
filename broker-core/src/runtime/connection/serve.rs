//! A connection's task: serve an accepted connection, park it when it is idle, and run it
//! again when the parker resumes it.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::runtime::clipped::Clipped;
use crate::runtime::connection::parked::Parked;
use crate::runtime::connection::task::Connection;
use crate::runtime::park::parker::{Parkable, Ticket};
use crate::runtime::state::shared::Shared;
use crate::runtime::tasks::TaskGuard;
use crate::runtime::transport::listener::Listener;
use crate::runtime::transport::stream::Stream;
use crate::types::ClientId;

/// How long a resume waits before trying again when the socket could not be registered
/// with tokio.
const RETRY_RESUME: Duration = Duration::from_millis(100);

/// Serves one accepted connection until it closes.
///
/// The connection is built here, before the task: the arguments of an `async fn` would stay
/// in its future, beside the connection built from them, for the connection's whole life.
pub(crate) fn serve(
    shared: Arc<Shared>,
    stream: Stream,
    peer: Option<SocketAddr>,
    listener: Arc<Listener>,
    guard: TaskGuard,
) -> impl std::future::Future<Output = ()> + Send {
    drive(Connection::new(shared, stream, peer, listener, guard))
}

/// Runs `connection` until it closes or parks.
pub(crate) fn drive(connection: Connection) -> impl std::future::Future<Output = ()> + Send {
    let mut connection = connection;
    async move {
        loop {
            connection.run().await;
            if !std::mem::take(&mut connection.park) {
                break;
            }
            let Some(parker) = connection.shared.parker().cloned() else {
                break;
            };
            match parker.park(connection, Connection::into_parked) {
                Ok(()) => return,
                // Not quiet after all: it goes on.
                Err(back) => connection = back,
            }
        }
        // The end runs once per connection, so its future (a bounded flush, the session's
        // settlement, a late handover) is kept on the heap for that moment rather than making
        // every connection's task larger: a task's memory is the size of its largest state.
        Box::pin(connection.finish()).await;
    }
}

impl Parkable for Parked {
    fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    fn client_id(&self) -> &ClientId {
        Parked::client_id(self)
    }

    fn deadline(&self) -> Option<Instant> {
        Parked::deadline(self)
    }

    fn has_ticket(&self, ticket: &Arc<Ticket>) -> bool {
        Parked::has_ticket(self, ticket)
    }

    fn register(&self, waker: &Waker) -> bool {
        Parked::register(self, waker)
    }

    fn resume(self: Box<Self>) {
        match Connection::from_parked(*self) {
            Ok(connection) => {
                tokio::spawn(drive(connection));
            }
            Err((parked, error)) => {
                tracing::warn!(client = %Clipped(parked.client_id()), %error, "Could not resume a parked connection; trying again.");
                tokio::spawn(resume_later(parked));
            }
        }
    }
}

/// Tries again, every [`RETRY_RESUME`], to resume a connection whose socket could not join
/// tokio's set, then drives it. Once the broker stops running, the connection is dropped
/// (its socket closes).
async fn resume_later(parked: Parked) {
    let mut parked = parked;
    loop {
        tokio::time::sleep(RETRY_RESUME).await;
        if !parked.is_running() {
            return;
        }
        match Connection::from_parked(parked) {
            Ok(connection) => return drive(connection).await,
            Err((back, _)) => parked = back,
        }
    }
}
