//! What the in-process cluster tests share: free loopback addresses, a node (a broker and its
//! started cluster link) and how to start one with listed peers, the test log, and a DNS
//! server on loopback ([`dns_server`]).

// Each test binary uses a part of it.
#![allow(dead_code)]

pub(crate) mod dns_server;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use broker_cluster::{
    ClusterConfig, ClusterId, ClusterNode, GrpcLink, NodeName, PeerConfig, Resolve,
};
use broker_core::types::TopicName;
use broker_core::{Broker, BrokerHandle};

/// A free loopback port (the listener is closed again; the node binds it right after).
pub(crate) fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A running node: its broker and its cluster endpoint.
pub(crate) struct Node {
    pub(crate) broker: Broker,
    pub(crate) cluster: ClusterNode,
}

impl Node {
    pub(crate) fn handle(&self) -> BrokerHandle {
        self.broker.handle()
    }

    pub(crate) async fn stop(self) {
        self.cluster.shutdown().await;
        self.broker.shutdown().await;
    }
}

/// Logs to the test's output (shown for a failing test), once per process.
pub(crate) fn log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,broker_cluster=debug")
        .with_test_writer()
        .try_init();
}

/// Starts a broker with `config`'s link (no MQTT listener), then the link.
pub(crate) async fn start_with(config: ClusterConfig) -> Node {
    start_resolving(config, None).await
}

/// [`start_with`], the link finding its peers through `resolver` when given.
pub(crate) async fn start_resolving(
    config: ClusterConfig,
    resolver: Option<Arc<dyn Resolve>>,
) -> Node {
    let link = GrpcLink::new(config.with_route_ack_timeout(Duration::from_secs(5)));
    let broker = Broker::builder()
        .no_listeners()
        .cluster_link(Arc::clone(&link) as _)
        .start()
        .await
        .unwrap();
    let cluster = match resolver {
        Some(resolver) => link.start_with_resolver(broker.handle(), resolver).await,
        None => link.start(broker.handle()).await,
    };
    Node {
        broker,
        cluster: cluster.unwrap(),
    }
}

/// Node `name` of `cluster` at `bind`, with the listed `peers` (name, address).
pub(crate) async fn start(
    name: &str,
    cluster: &str,
    bind: SocketAddr,
    peers: &[(&str, SocketAddr)],
) -> Node {
    let peers = peers
        .iter()
        .map(|(peer, addr)| {
            PeerConfig::new(NodeName::new(*peer).unwrap(), addr.to_string()).unwrap()
        })
        .collect();
    let config = ClusterConfig::new(
        NodeName::new(name).unwrap(),
        ClusterId::new(cluster).unwrap(),
        bind,
        peers,
    )
    .unwrap();
    start_with(config).await
}

pub(crate) fn topic(text: &str) -> TopicName {
    TopicName::new(text).unwrap()
}
