//! The task that accepts a listener's connections.
//!
//! The accept loop only accepts: a plain TCP connection's task starts serving at once; a TLS
//! or WebSocket connection's task first does its handshake (in
//! [`handshake`](super::handshake)), so a slow or hostile handshake never holds the loop up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::runtime::connection::serve;
use crate::runtime::listener::accept_rate::AcceptRate;
use crate::runtime::listener::handshake;
use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::Stats;
use crate::runtime::tasks::TaskGuard;
use crate::runtime::transport::listener::Listener;
use crate::runtime::transport::stream::Stream;

/// How long to wait after a failed accept (out of file descriptors, ...) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections until the broker stops running, one task per connection.
pub(crate) async fn run(
    shared: Arc<Shared>,
    socket: TcpListener,
    listener: Arc<Listener>,
    _guard: TaskGuard,
) {
    let port = socket.local_addr().map_or(0, |a: SocketAddr| a.port());
    let mut run_state = shared.watch_run_state();
    let mut rate = listener
        .config
        .max_connection_rate
        .map(|rate| AcceptRate::new(rate, Instant::now()));
    let mut slowed = false;
    loop {
        if *run_state.borrow() != RunState::Running {
            break;
        }
        if let Some(wait) = rate.as_mut().and_then(|rate| rate.wait(Instant::now())) {
            if !slowed {
                tracing::info!(
                    "Listener {} has reached its rate of {} new connections a second; accepting more slowly (logged once).",
                    listener.name,
                    listener.config.max_connection_rate.unwrap_or_default()
                );
                slowed = true;
            }
            // The connections waiting stay in the kernel's backlog meanwhile.
            tokio::select! {
                changed = run_state.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                () = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        tokio::select! {
            changed = run_state.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            accepted = socket.accept() => match accepted {
                Ok((stream, peer)) => {
                    Stats::bump(&shared.stats().connections_accepted);
                    Stats::bump(&listener.traffic().accepted);
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
                    let guard = shared.network_tasks().guard();
                    let shared = Arc::clone(&shared);
                    let listener = Arc::clone(&listener);
                    let stream = Stream::Tcp(stream);
                    if listener.needs_handshake() {
                        tokio::spawn(handshake::serve(shared, stream, Some(peer), listener, guard));
                    } else {
                        tokio::spawn(serve::serve(shared, stream, Some(peer), listener, guard));
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
