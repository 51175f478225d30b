//! Accepting TCP connections on one listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::connection;
use crate::config::ListenerConfig;
use crate::hooks::ListenerName;

use super::shared::{RunState, Shared};
use super::stats::Stats;
use super::tasks::TaskGuard;

/// One listener as its connections see it: its name (for the hooks) and its configuration
/// (its `allow_anonymous` setting).
#[derive(Debug)]
pub(crate) struct Listener {
    /// The listener's name.
    pub(crate) name: ListenerName,
    /// Its configuration.
    pub(crate) config: ListenerConfig,
}

impl Listener {
    /// The listener `config` describes.
    pub(crate) fn new(config: &ListenerConfig) -> Arc<Listener> {
        Arc::new(Listener {
            name: ListenerName::new(config.name.as_str()),
            config: config.clone(),
        })
    }
}

/// How long to wait after a failed accept (out of file descriptors, ...) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections until the broker stops running, one task per connection.
pub(crate) async fn run(
    shared: Arc<Shared>,
    listener: TcpListener,
    name: String,
    info: Arc<Listener>,
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
                    let info = Arc::clone(&info);
                    tokio::spawn(connection::serve(Arc::clone(&shared), stream, peer, info, guard));
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
