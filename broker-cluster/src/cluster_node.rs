//! [`ClusterNode`]: a started cluster link: the gRPC server bound, one route stream task per
//! peer, and the discovery task if the peers are found by DNS. Stopping it (or dropping it)
//! stops them all; the broker stops on its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use broker_core::BrokerHandle;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;

use crate::cluster_view::ClusterView;
use crate::discovery;
use crate::error::StartError;
use crate::link_state::{LinkState, MAX_MESSAGE_SIZE};
use crate::proto::cluster_server::ClusterServer;
use crate::resolve::Resolve;
use crate::route_stream;
use crate::service::ClusterService;

/// How long a stopping node waits for its peers' requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The peers' connections as `listener` accepts them, with Nagle's algorithm off.
///
/// Set here because the server builder's `tcp_nodelay` does not reach connections from an
/// incoming stream given to it. With Nagle on, the answers to a peer's forwarded batches and
/// route deltas (a few bytes each) waited for the peer's delayed TCP acknowledgement, up to
/// 40 ms on Linux, while the peer waited for those answers to send more: the forward path
/// then sat idle most of the time (docs/performance.md, issue 16).
fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// A running cluster link.
#[derive(Debug)]
pub struct ClusterNode {
    state: Arc<LinkState>,
    view: ClusterView,
    local_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl ClusterNode {
    pub(crate) async fn start(
        state: Arc<LinkState>,
        handle: BrokerHandle,
        resolver: Arc<dyn Resolve>,
    ) -> Result<ClusterNode, StartError> {
        let addr = state.config.bind;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let service = ClusterServer::new(ClusterService::new(Arc::clone(&state), handle.clone()))
            .max_decoding_message_size(MAX_MESSAGE_SIZE);
        let mut stopped = state.shutdown.subscribe();
        let server = Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming(listener), async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            });
        let mut tasks = vec![tokio::spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "The cluster endpoint stopped.");
            }
        })];
        for peer in state.peers() {
            tasks.push(tokio::spawn(route_stream::run(
                Arc::clone(&state),
                peer,
                handle.clone(),
            )));
        }
        if let Some(dns) = state.config.discovery.clone() {
            tracing::info!(name = dns.name(), port = dns.port(), interval = ?dns.interval(), "Discovering the peers by DNS.");
            tasks.push(tokio::spawn(discovery::run(
                Arc::clone(&state),
                handle.clone(),
                dns,
                resolver,
            )));
        }
        tracing::info!(
            node = %state.config.node,
            cluster = %state.config.cluster_id,
            incarnation = %state.membership.incarnation(),
            peers = state.peers().len(),
            "Serving the cluster endpoint on {local_addr}."
        );
        Ok(ClusterNode {
            view: ClusterView::new(Arc::clone(&state), handle),
            state,
            local_addr,
            tasks,
        })
    }

    /// A view of the cluster as this node sees it, for status pages and metrics.
    #[must_use]
    pub fn view(&self) -> ClusterView {
        self.view.clone()
    }

    /// The address the cluster endpoint is bound to.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops serving the peers and closes the route streams, waiting for the tasks to end
    /// ([`SHUTDOWN_GRACE`] at most, then they are aborted).
    pub async fn shutdown(mut self) {
        self.state.shutdown.send_replace(true);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for mut task in self.tasks.drain(..) {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        self.state.shutdown.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::{TcpListener, TcpStream};
    use tokio_stream::StreamExt as _;

    use super::incoming;

    #[tokio::test]
    async fn a_peer_connection_is_accepted_with_nagle_off() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut accepted = incoming(listener);
        let _client = TcpStream::connect(addr).await.unwrap();
        let stream = accepted.next().await.unwrap().unwrap();
        assert!(stream.nodelay().unwrap());
    }
}
