//! One listener: its settings as its connections see them, and the task that accepts its
//! connections.
//!
//! The accept loop only accepts: a plain TCP connection's task starts serving at once; a TLS
//! or WebSocket connection's task first does its handshake (in
//! [`transport_handshake`](super::transport_handshake)), so a slow or hostile handshake never
//! holds the loop up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::connection;
use super::shared::{RunState, Shared};
use super::stats::Stats;
use super::tasks::TaskGuard;
use super::transport::Stream;
use super::transport_handshake;
use super::transport_tls;
use crate::config::{ListenerConfig, Transport};
use crate::hooks::ListenerName;
use crate::tls_error::TlsError;

/// How long to wait after a failed accept (out of file descriptors, ...) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A listener as its connections know it (each holds an `Arc` of it).
pub(crate) struct Listener {
    /// Its name, as hook requests carry it.
    pub(crate) name: ListenerName,
    /// Its settings.
    pub(crate) config: ListenerConfig,
    /// The TLS acceptor, when the listener uses TLS.
    pub(crate) tls: Option<TlsAcceptor>,
}

impl Listener {
    /// The listener for `config`, its TLS files read.
    ///
    /// # Errors
    ///
    /// The TLS settings cannot be used (a file unreadable or invalid).
    pub(crate) fn new(config: ListenerConfig) -> Result<Listener, TlsError> {
        let tls = match &config.tls {
            Some(tls) => Some(TlsAcceptor::from(transport_tls::server_config(tls)?)),
            None => None,
        };
        Ok(Listener {
            name: ListenerName::new(config.name.as_str()),
            config,
            tls,
        })
    }

    /// Whether connections need a handshake (TLS or WebSocket) before MQTT.
    fn needs_handshake(&self) -> bool {
        self.tls.is_some() || self.config.transport != Transport::Mqtt
    }
}

/// Accepts connections until the broker stops running, one task per connection.
pub(crate) async fn run(
    shared: Arc<Shared>,
    socket: TcpListener,
    listener: Arc<Listener>,
    _guard: TaskGuard,
) {
    let port = socket.local_addr().map_or(0, |a: SocketAddr| a.port());
    let mut run_state = shared.run_state.subscribe();
    loop {
        if *run_state.borrow() != RunState::Running {
            break;
        }
        tokio::select! {
            changed = run_state.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            accepted = socket.accept() => match accepted {
                Ok((stream, peer)) => {
                    Stats::bump(&shared.stats.connections_accepted);
                    tracing::info!(
                        "New connection from {}:{} on port {}.",
                        peer.ip(),
                        peer.port(),
                        port
                    );
                    // MQTT packets are small and latency matters more than segment count.
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%peer, %error, "Could not set TCP_NODELAY.");
                    }
                    let guard = shared.network_tasks.guard();
                    let shared = Arc::clone(&shared);
                    let listener = Arc::clone(&listener);
                    if listener.needs_handshake() {
                        tokio::spawn(transport_handshake::serve(shared, stream, peer, listener, guard));
                    } else {
                        tokio::spawn(connection::serve(shared, Stream::Tcp(stream), peer, listener, guard));
                    }
                }
                Err(error) => {
                    tracing::warn!(listener = %listener.name, %error, "Accept failed.");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
    tracing::debug!(listener = %listener.name, "Listener closed.");
}
