//! Accepting TCP connections on one listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::connection;
use super::shared::{RunState, Shared};
use super::stats::Stats;
use super::tasks::TaskGuard;

/// How long to wait after a failed accept (out of file descriptors, ...) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections until the broker stops running, one task per connection.
pub(crate) async fn run(
    shared: Arc<Shared>,
    listener: TcpListener,
    name: String,
    _guard: TaskGuard,
) {
    let port = listener.local_addr().map_or(0, |a: SocketAddr| a.port());
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
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    Stats::bump(&shared.stats.connections_accepted);
                    tracing::info!(
                        "New connection from {}:{} on port {}.",
                        peer.ip(),
                        peer.port(),
                        port
                    );
                    let guard = shared.network_tasks.guard();
                    tokio::spawn(connection::serve(Arc::clone(&shared), stream, peer, guard));
                }
                Err(error) => {
                    tracing::warn!(listener = %name, %error, "Accept failed.");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
    tracing::debug!(listener = %name, "Listener closed.");
}
