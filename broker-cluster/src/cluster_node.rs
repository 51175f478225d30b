//! [`ClusterNode`]: a started cluster link: the gRPC server bound, one route stream task per
//! peer. Stopping it (or dropping it) stops both; the broker stops on its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use broker_core::BrokerHandle;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Endpoint, Server};

use crate::error::StartError;
use crate::link_state::{LinkState, MAX_MESSAGE_SIZE};
use crate::proto::cluster_client::ClusterClient;
use crate::proto::cluster_server::ClusterServer;
use crate::route_stream;
use crate::service::ClusterService;

/// How long a connection attempt to a peer takes at most.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// HTTP/2 pings on idle connections: a peer that stops answering is noticed within about
/// interval + timeout.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a stopping node waits for its peers' requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A running cluster link.
#[derive(Debug)]
pub struct ClusterNode {
    state: Arc<LinkState>,
    local_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl ClusterNode {
    pub(crate) async fn start(
        state: Arc<LinkState>,
        handle: BrokerHandle,
    ) -> Result<ClusterNode, StartError> {
        let addr = state.config.bind;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let service = ClusterServer::new(ClusterService::new(Arc::clone(&state), handle))
            .max_decoding_message_size(MAX_MESSAGE_SIZE);
        let mut stopped = state.shutdown.subscribe();
        let server = Server::builder()
            .tcp_nodelay(true)
            .add_service(service)
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            });
        let mut tasks = vec![tokio::spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "The cluster endpoint stopped.");
            }
        })];
        for (index, peer) in state.peers.iter().enumerate() {
            let client = match Endpoint::from_shared(peer.config.uri()) {
                Ok(endpoint) => ClusterClient::new(
                    endpoint
                        .connect_timeout(CONNECT_TIMEOUT)
                        .tcp_nodelay(true)
                        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
                        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
                        .keep_alive_while_idle(true)
                        .connect_lazy(),
                )
                .max_decoding_message_size(MAX_MESSAGE_SIZE),
                Err(error) => {
                    tracing::error!(peer = %peer.config, %error, "Invalid peer address; the peer is left out.");
                    continue;
                }
            };
            let _ = peer.client.set(client.clone());
            tasks.push(tokio::spawn(route_stream::run(
                Arc::clone(&state),
                index,
                client,
            )));
        }
        tracing::info!(
            node = %state.config.node,
            cluster = %state.config.cluster_id,
            incarnation = %state.membership.incarnation(),
            peers = state.peers.len(),
            "Serving the cluster endpoint on {local_addr}."
        );
        Ok(ClusterNode {
            state,
            local_addr,
            tasks,
        })
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
