//! Parking and resuming: a connection made into its compact [`Parked`] record, and made
//! again from it.

use std::io;
use std::sync::Arc;

use crate::runtime::clock::now;
use crate::runtime::connection::client::Client;
use crate::runtime::connection::parked::{second_descriptor, Parked};
use crate::runtime::connection::task::Connection;
use crate::runtime::park::parker::Ticket;
use crate::runtime::transport::stream::Stream;
use crate::session::Session;

impl Connection {
    /// The parked form of the connection, woken through `ticket`; the connection is given
    /// back when it cannot park: not a connected plain TCP connection with a quiet session,
    /// or its socket could not be taken out of tokio's set.
    // Given back by value, once per failed attempt: moving it costs less than a box.
    #[allow(clippy::result_large_err)]
    pub(crate) fn into_parked(self, ticket: Arc<Ticket>) -> Result<Parked, Connection> {
        let mut connection = self;
        let Some(key) = connection.client.key.clone() else {
            return Err(connection);
        };
        if connection.client.pending_acks() > 0 {
            return Err(connection);
        }
        let Stream::Tcp(tcp) = connection.wire.stream() else {
            return Err(connection);
        };
        let config = Arc::clone(connection.shared.session_config());
        // An empty session stands in while the session is tried: it is put back if it is
        // not quiet.
        let session = std::mem::replace(
            &mut connection.client.session,
            Session::new(Arc::clone(&config), now()),
        );
        let session = match session.park() {
            Ok(session) => session,
            Err(session) => {
                connection.client.session = session;
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
                connection.client.session = session.resume(config);
                return Err(connection);
            }
        };
        // The socket lives on in the parked connection: dropping the stream must not shut it
        // down.
        connection.wire.owned = false;
        let Connection {
            shared,
            client,
            _guard: guard,
            ..
        } = connection;
        let Client {
            peer,
            listener,
            client_info,
            control,
            ..
        } = client;
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

    /// A parked connection again, its socket back in tokio's set. On failure the parked
    /// connection is given back, unchanged, with the error.
    // Given back by value, once per failed attempt: moving it costs less than a box.
    #[allow(clippy::result_large_err)]
    pub(crate) fn from_parked(parked: Parked) -> Result<Connection, (Parked, io::Error)> {
        // On a second descriptor: if tokio refuses it, this one stays parked.
        let stream = second_descriptor(&parked.socket).and_then(tokio::net::TcpStream::from_std);
        let stream = match stream {
            Ok(stream) => stream,
            Err(error) => return Err((parked, error)),
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
        } = parked;
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
