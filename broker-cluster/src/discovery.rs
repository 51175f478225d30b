//! DNS discovery: one task resolves the configured name (its A / AAAA or SRV records,
//! through a [`Resolve`]) on a timer, and at once (at most once per
//! [`DnsDiscovery::MIN_INTERVAL`]) when a peer's connection fails or a stranger of the
//! cluster calls. Each new address is asked its name with a Hello that names no target;
//! the answer makes it a peer (added to the membership, to the broker with
//! `BrokerHandle::add_peer`, and given a route stream), or this node itself (skipped). A
//! peer whose address leaves the name is dropped (its routes leave the router). A node of
//! another cluster refuses the Hello, and its address is shown as refused.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

use broker_core::BrokerHandle;
use tokio::task::JoinHandle;
use tonic::transport::Endpoint;

use crate::dns_discovery::DnsDiscovery;
use crate::link_state::{LinkState, Unnamed};
use crate::node_name::NodeName;
use crate::peer::{Attempt, Peer, CONNECT_TIMEOUT};
use crate::peer_config::PeerConfig;
use crate::proto::cluster_client::ClusterClient;
use crate::proto::HelloRequest;
use crate::resolve::Resolve;
use crate::route_stream;

/// What an address said when asked its name.
enum Answer {
    /// A node of this cluster, not this one.
    Peer(NodeName),
    /// This node.
    Myself,
}

/// The discovery task's memory between rounds.
struct Discovery {
    state: Arc<LinkState>,
    handle: BrokerHandle,
    dns: DnsDiscovery,
    resolver: Arc<dyn Resolve>,
    /// Addresses that named themselves.
    named: HashMap<SocketAddr, NodeName>,
    /// This node's own addresses under the name.
    myself: HashSet<SocketAddr>,
    /// The route stream task of each discovered peer.
    streams: HashMap<NodeName, JoinHandle<()>>,
    /// The last lookup error logged, not to repeat it each round.
    last_error: Option<String>,
}

/// Finds peers under `dns` until the node stops.
pub(crate) async fn run(
    state: Arc<LinkState>,
    handle: BrokerHandle,
    dns: DnsDiscovery,
    resolver: Arc<dyn Resolve>,
) {
    let mut discovery = Discovery {
        state: Arc::clone(&state),
        handle,
        dns,
        resolver,
        named: HashMap::new(),
        myself: HashSet::new(),
        streams: HashMap::new(),
        last_error: None,
    };
    let mut shutdown = state.shutdown.subscribe();
    loop {
        tokio::select! {
            () = discovery.round() => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
        tokio::select! {
            () = tokio::time::sleep(DnsDiscovery::MIN_INTERVAL) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
        let rest = discovery
            .dns
            .interval()
            .saturating_sub(DnsDiscovery::MIN_INTERVAL);
        tokio::select! {
            () = tokio::time::sleep(rest) => {}
            () = state.resolve_now.notified() => {}
            () = state.membership.stranger().notified() => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    for (_, stream) in discovery.streams.drain() {
        let _ = stream.await;
    }
}

impl Discovery {
    /// Resolves the name once and brings the peers in line with it.
    async fn round(&mut self) {
        let found = match self
            .resolver
            .resolve(self.dns.name(), self.dns.records())
            .await
        {
            Ok(found) => {
                self.last_error = None;
                found
            }
            Err(error) => {
                let error = error.to_string();
                if self.last_error.as_ref() != Some(&error) {
                    tracing::warn!(name = self.dns.name(), records = %self.dns.records(), %error, "Cannot resolve the cluster's DNS name; the peers found before stay.");
                }
                metrics::counter!("skein_cluster_discovery_failures_total").increment(1);
                self.last_error = Some(error);
                return;
            }
        };
        let found: HashSet<SocketAddr> = found.into_iter().collect();
        let gone: Vec<(SocketAddr, NodeName)> = self
            .named
            .iter()
            .filter(|(addr, _)| !found.contains(addr))
            .map(|(addr, name)| (*addr, name.clone()))
            .collect();
        for (addr, name) in gone {
            self.named.remove(&addr);
            if !self.named.values().any(|other| other == &name) {
                self.drop_peer(&name, "its address left the DNS name");
            }
        }
        self.myself.retain(|addr| found.contains(addr));
        let mut unnamed = Vec::new();
        let mut fresh: Vec<SocketAddr> = found
            .into_iter()
            .filter(|addr| !self.named.contains_key(addr) && !self.myself.contains(addr))
            .collect();
        fresh.sort_unstable();
        for addr in fresh {
            match self.ask(addr).await {
                Ok(Answer::Myself) => {
                    tracing::debug!(%addr, "This node's own address under the cluster's DNS name.");
                    self.myself.insert(addr);
                }
                Ok(Answer::Peer(name)) => self.adopt(addr, name),
                Err(attempt) => unnamed.push(Unnamed {
                    address: addr.to_string(),
                    attempt,
                }),
            }
        }
        self.state.set_unnamed(unnamed);
    }

    /// Asks the node at `addr` its name.
    async fn ask(&self, addr: SocketAddr) -> Result<Answer, Attempt> {
        let failed = |why: String| Attempt::Failed(why);
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|error| failed(error.to_string()))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CONNECT_TIMEOUT);
        let channel = endpoint
            .connect()
            .await
            .map_err(|error| failed(error.to_string()))?;
        let request = HelloRequest {
            header: Some(self.state.membership.hello_header()),
        };
        let reply = match ClusterClient::new(channel).hello(request).await {
            Ok(reply) => reply.into_inner(),
            Err(status) if status.code() == tonic::Code::PermissionDenied => {
                tracing::warn!(%addr, reason = status.message(), "A node under the cluster's DNS name refused this node.");
                return Err(Attempt::Refused(status.message().to_owned()));
            }
            Err(status) => return Err(failed(status.message().to_owned())),
        };
        let membership = &self.state.membership;
        if reply.node == membership.node().as_str() {
            if reply.incarnation == membership.incarnation().get() {
                return Ok(Answer::Myself);
            }
            let why = format!(
                "another node answers to this node's name {} (run {})",
                reply.node, reply.incarnation
            );
            tracing::error!(%addr, "{why}: node names must be unique in a cluster.");
            return Err(Attempt::Refused(why));
        }
        NodeName::new(reply.node.as_str())
            .map(Answer::Peer)
            .map_err(|error| Attempt::Refused(error.to_string()))
    }

    /// Makes the node `name` at `addr` a peer (or moves it there).
    fn adopt(&mut self, addr: SocketAddr, name: NodeName) {
        let address = addr.to_string();
        if let Some(known) = self.state.peer(name.as_str()) {
            if known.config.address == address || !self.streams.contains_key(&name) {
                // The same peer, or a listed one: the list's address stays.
                self.named.insert(addr, name);
                return;
            }
            self.drop_peer(&name, "it answers at a new address");
            self.named.retain(|_, other| other != &name);
        }
        let peer = PeerConfig::new(name.clone(), address.clone())
            .map_err(|error| error.to_string())
            .and_then(|config| Peer::new(config).map_err(|error| error.to_string()));
        let peer = match peer {
            Ok(peer) => Arc::new(peer),
            Err(error) => {
                tracing::warn!(%name, %address, %error, "Cannot dial a discovered peer.");
                return;
            }
        };
        // The broker first: the peer's routes have an outbox to go to once it is a member.
        self.handle.add_peer(&name.to_peer());
        self.state.add_peer(Arc::clone(&peer));
        tracing::info!(peer = %name, %address, "Discovered a peer node.");
        let stream = tokio::spawn(route_stream::run(
            Arc::clone(&self.state),
            peer,
            self.handle.clone(),
        ));
        self.streams.insert(name.clone(), stream);
        self.named.insert(addr, name);
    }

    /// Drops the discovered peer `name`, for `why`.
    fn drop_peer(&mut self, name: &NodeName, why: &str) {
        if self.streams.remove(name).is_none() {
            return; // a listed peer stays
        }
        if self.state.remove_peer(name).is_some() {
            self.handle.remove_peer(&name.to_peer());
            for gauge in [
                "skein_cluster_peer_connected",
                "skein_cluster_peer_routes",
                "skein_cluster_peer_route_lag",
                "skein_cluster_peer_forward_queue",
            ] {
                metrics::gauge!(gauge, "peer" => name.to_string()).set(0.0);
            }
            tracing::info!(peer = %name, "Dropped a discovered peer node: {why}.");
        }
    }
}
