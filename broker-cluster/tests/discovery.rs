//! DNS discovery: brokers in one process whose discovery name resolves through a resolver
//! the test feeds with loopback addresses. Nodes find each other and skip their own address,
//! a peer whose address leaves the name is dropped, a node of another cluster under the name
//! is shown as refused, and `localhost` works through the system's resolver. Then with SRV
//! records served by a real DNS server on 127.0.0.1 ([`support::dns_server`]), read by a
//! [`DnsResolver`]: the same finding and dropping, each node on its own port.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod support;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use broker_cluster::{
    ClusterConfig, ClusterId, ClusterStatus, DnsDiscovery, DnsRecords, DnsResolver, NodeName,
    PeerState, Resolve,
};
use broker_core::cluster::PeerName;
use broker_core::types::{QoS, TopicFilter, TopicName};
use broker_core::Subscription;
use bytes::Bytes;

use support::dns_server::DnsServer;
use support::{free_addr, log, start_resolving, start_with, Node};

/// The name every node resolves.
const NAME: &str = "skein-headless.test.svc.cluster.local";

/// A DNS name whose addresses the test sets.
#[derive(Debug, Default)]
struct Fed(Mutex<Vec<SocketAddr>>);

impl Fed {
    fn set(&self, addrs: &[SocketAddr]) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = addrs.to_vec();
    }
}

#[async_trait]
impl Resolve for Fed {
    /// The addresses set, each with its own port: the nodes of one process cannot share a
    /// port, so the asked one is ignored.
    async fn resolve(&self, name: &str, records: DnsRecords) -> io::Result<Vec<SocketAddr>> {
        assert_eq!(name, NAME);
        assert!(matches!(records, DnsRecords::Address { .. }));
        Ok(self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }
}

/// What these tests read of a node's view of the cluster.
trait Status {
    fn status(&self) -> ClusterStatus;
    fn peers_in(&self, state: PeerState) -> Vec<String>;
}

impl Status for Node {
    fn status(&self) -> ClusterStatus {
        self.cluster.view().status()
    }

    /// The names of the peers in `state`.
    fn peers_in(&self, state: PeerState) -> Vec<String> {
        let mut names: Vec<String> = self
            .status()
            .peers
            .iter()
            .filter(|p| p.state == state)
            .map(|p| p.name.as_ref().map_or("?".into(), ToString::to_string))
            .collect();
        names.sort();
        names
    }
}

/// Node `name` of `cluster` at `bind`, finding its peers through `dns`.
async fn start(name: &str, cluster: &str, bind: SocketAddr, dns: &Arc<Fed>) -> Node {
    let discovery = DnsDiscovery::new(NAME, bind.port())
        .unwrap()
        .with_interval(DnsDiscovery::MIN_INTERVAL);
    let config = ClusterConfig::new(
        NodeName::new(name).unwrap(),
        ClusterId::new(cluster).unwrap(),
        bind,
        Vec::new(),
    )
    .unwrap()
    .with_discovery(discovery);
    start_resolving(config, Some(Arc::clone(dns) as Arc<dyn Resolve>)).await
}

/// Polls `done` every 50 ms, 30 s at most.
async fn eventually(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..600 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

fn filter(text: &str) -> TopicFilter {
    TopicFilter::new(text).unwrap()
}

fn topic(text: &str) -> TopicName {
    TopicName::new(text).unwrap()
}

/// Waits until `node` is connected to two peers and lists no other (its own address, or
/// SRV target, is skipped), and returns its status.
async fn linked_to_the_other_two(node: &Node) -> ClusterStatus {
    let linked = eventually(|| node.peers_in(PeerState::Connected).len() == 2).await;
    assert!(linked, "{:?}", node.status());
    let status = node.status();
    assert_eq!(
        status.peers.len(),
        2,
        "its own address is skipped: {status:?}"
    );
    status
}

/// Publishes `payload` to `topic` on `node` at QoS 1 and checks that `subscription` (on
/// another node) receives it within ten seconds.
async fn delivers(
    node: &Node,
    topic_name: &str,
    payload: &'static [u8],
    subscription: &mut Subscription,
) {
    let handle = node.broker.handle();
    let sent = handle.publish(
        topic(topic_name),
        Bytes::from_static(payload),
        QoS::AtLeastOnce,
        false,
    );
    assert!(sent.await.is_ok());
    let received = tokio::time::timeout(Duration::from_secs(10), subscription.recv()).await;
    assert_eq!(
        received.ok().flatten().map(|m| m.payload),
        Some(Bytes::from_static(payload))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_under_one_name_find_each_other_and_drop_the_one_that_leaves() {
    log();
    let (addr_a, addr_b, addr_c) = (free_addr(), free_addr(), free_addr());
    let dns = Arc::new(Fed::default());
    dns.set(&[addr_a, addr_b, addr_c]);
    let a = start("skein-0", "test", addr_a, &dns).await;
    let b = start("skein-1", "test", addr_b, &dns).await;
    let c = start("skein-2", "test", addr_c, &dns).await;
    for node in [&a, &b, &c] {
        let status = linked_to_the_other_two(node).await;
        assert!(status
            .peers
            .iter()
            .all(|p| p.name.as_ref() != Some(&status.node)));
    }
    assert_eq!(a.peers_in(PeerState::Connected), ["skein-1", "skein-2"]);
    // Routes flow both ways between discovered peers.
    let mut on_a = a
        .broker
        .handle()
        .subscribe(filter("x/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    delivers(&b, "x/1", b"1", &mut on_a).await;
    let b_sees_a = eventually(|| {
        let status = b.status();
        let a = status
            .peers
            .iter()
            .find(|p| p.name.as_ref() == Some(&status_name("skein-0")));
        a.is_some_and(|a| a.routes == 1 && a.incarnation.is_some())
    })
    .await;
    assert!(b_sees_a, "{:?}", b.status());
    // skein-2 leaves the name: the others drop it, and its outbox with it.
    dns.set(&[addr_a, addr_b]);
    for node in [&a, &b] {
        let dropped = eventually(|| node.status().peers.len() == 1).await;
        assert!(dropped, "{:?}", node.status());
        assert_eq!(
            node.broker
                .handle()
                .peer_outbox_depth(&PeerName::new("skein-2")),
            None
        );
    }
    // And comes back.
    dns.set(&[addr_a, addr_b, addr_c]);
    let back = eventually(|| a.peers_in(PeerState::Connected).len() == 2).await;
    assert!(back, "{:?}", a.status());
    for node in [a, b, c] {
        node.stop().await;
    }
}

fn status_name(name: &str) -> NodeName {
    NodeName::new(name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_of_another_cluster_under_the_name_is_refused() {
    log();
    let (addr_a, addr_x) = (free_addr(), free_addr());
    let dns = Arc::new(Fed::default());
    dns.set(&[addr_a, addr_x]);
    let a = start("skein-0", "blue", addr_a, &dns).await;
    let x = start("skein-1", "green", addr_x, &dns).await;
    let refused = eventually(|| a.peers_in(PeerState::Refused) == ["?"]).await;
    assert!(refused, "{:?}", a.status());
    let status = a.status();
    assert_eq!(status.peers.len(), 1, "{status:?}");
    assert_eq!(status.peers[0].address, addr_x.to_string());
    assert!(
        status.peers[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("\"green\"")),
        "{status:?}"
    );
    a.stop().await;
    x.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localhost_resolves_through_the_system_resolver() {
    log();
    // skein-1 finds skein-0 as `localhost` on skein-0's port (through /etc/hosts, no DNS
    // server); skein-0 finds only itself there.
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let node = |name: &str, bind: SocketAddr| {
        let discovery = DnsDiscovery::new("localhost", addr_a.port()).unwrap();
        ClusterConfig::new(
            NodeName::new(name).unwrap(),
            ClusterId::new("test").unwrap(),
            bind,
            Vec::new(),
        )
        .unwrap()
        .with_discovery(discovery)
    };
    let mut nodes = Vec::new();
    for (name, bind) in [("skein-0", addr_a), ("skein-1", addr_b)] {
        nodes.push(start_with(node(name, bind)).await);
    }
    let found = eventually(|| {
        nodes[1].status().peers.iter().any(|p| {
            p.name.as_ref().is_some_and(|n| n.as_str() == "skein-0")
                && p.address == addr_a.to_string()
        })
    })
    .await;
    assert!(found, "{:?}", nodes[1].status());
    let status = nodes[0].status();
    assert!(
        status
            .peers
            .iter()
            .all(|p| p.name.as_ref() != Some(&status.node)),
        "{status:?}"
    );
    for node in nodes {
        node.stop().await;
    }
}

/// The SRV name of the nodes' cluster port, as a headless service with a port named
/// `cluster` publishes it.
const SRV_NAME: &str = "_cluster._tcp.skein-headless.test.svc.cluster.local";

/// The host name of node `n` under the headless service.
fn host(n: usize) -> String {
    format!("skein-{n}.skein-headless.test.svc.cluster.local")
}

/// A DNS server on 127.0.0.1 where `SRV_NAME` lists the nodes at `addrs` (skein-0, ...),
/// each host name resolving to its address; and a resolver asking it.
async fn srv_zone(addrs: &[SocketAddr]) -> (DnsServer, DnsResolver) {
    let server = DnsServer::start().await;
    for (n, addr) in addrs.iter().enumerate() {
        server.set_addresses(&host(n), &[addr.ip()]);
    }
    set_targets(&server, addrs, &[0, 1, 2][..addrs.len()]);
    let resolver = DnsResolver::with_name_servers(&[server.addr()]).unwrap();
    (server, resolver)
}

/// `SRV_NAME` lists the nodes `nodes` of `addrs`, each on its port.
fn set_targets(server: &DnsServer, addrs: &[SocketAddr], nodes: &[usize]) {
    let hosts: Vec<(String, u16)> = nodes.iter().map(|&n| (host(n), addrs[n].port())).collect();
    let targets: Vec<(&str, u16)> = hosts.iter().map(|(h, p)| (h.as_str(), *p)).collect();
    server.set_srv(SRV_NAME, &targets);
}

/// Node `name` at `bind`, finding its peers under the SRV records of `SRV_NAME`.
async fn start_srv(name: &str, bind: SocketAddr, resolver: &DnsResolver) -> Node {
    let discovery = DnsDiscovery::srv(SRV_NAME)
        .unwrap()
        .with_interval(DnsDiscovery::MIN_INTERVAL);
    let config = ClusterConfig::new(
        NodeName::new(name).unwrap(),
        ClusterId::new("test").unwrap(),
        bind,
        Vec::new(),
    )
    .unwrap()
    .with_discovery(discovery);
    start_resolving(config, Some(Arc::new(resolver.clone()) as Arc<dyn Resolve>)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_resolver_reads_srv_records_and_resolves_their_targets() {
    log();
    let server = DnsServer::start().await;
    let (one, two) = ("10.0.0.1".parse().unwrap(), "fd00::2".parse().unwrap());
    server.set_addresses(&host(0), &[one]);
    server.set_addresses(&host(1), &[two]);
    // skein-9 has no address (its pod is gone); "." means no service there.
    let (h0, h1, h9) = (host(0), host(1), host(9));
    let targets = [
        (h0.as_str(), 7400),
        (h1.as_str(), 7401),
        (h9.as_str(), 7409),
        (".", 0),
    ];
    server.set_srv(SRV_NAME, &targets);
    let resolver = DnsResolver::with_name_servers(&[server.addr()]).unwrap();
    let mut found = resolver.resolve(SRV_NAME, DnsRecords::Srv).await.unwrap();
    found.sort_unstable();
    let expected: Vec<SocketAddr> = vec![
        "10.0.0.1:7400".parse().unwrap(),
        "[fd00::2]:7401".parse().unwrap(),
    ];
    assert_eq!(found, expected);
    // A rooted name is the same name.
    let rooted = format!("{SRV_NAME}.");
    let mut again = resolver.resolve(&rooted, DnsRecords::Srv).await.unwrap();
    again.sort_unstable();
    assert_eq!(again, expected);
    // The same resolver reads A / AAAA records.
    let address = DnsRecords::Address { port: 1883 };
    let found = resolver.resolve(&host(0), address).await.unwrap();
    assert_eq!(found, ["10.0.0.1:1883".parse::<SocketAddr>().unwrap()]);
    // An unknown name is an error: discovery keeps the peers it had.
    let unknown = resolver
        .resolve("_cluster._tcp.nowhere.test", DnsRecords::Srv)
        .await;
    assert_eq!(unknown.map_err(|e| e.kind()), Err(io::ErrorKind::NotFound));
    // A changed record is read at the next lookup (TTL 0).
    server.set_srv(SRV_NAME, &targets[1..2]);
    let found = resolver.resolve(SRV_NAME, DnsRecords::Srv).await.unwrap();
    assert_eq!(found, expected[1..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_under_one_srv_name_find_each_other_and_drop_the_one_that_leaves() {
    log();
    let addrs = [free_addr(), free_addr(), free_addr()];
    let (server, resolver) = srv_zone(&addrs).await;
    let a = start_srv("skein-0", addrs[0], &resolver).await;
    let b = start_srv("skein-1", addrs[1], &resolver).await;
    let c = start_srv("skein-2", addrs[2], &resolver).await;
    for node in [&a, &b, &c] {
        let status = linked_to_the_other_two(node).await;
        assert_eq!(
            status.discovery.as_ref().map(DnsDiscovery::records),
            Some(DnsRecords::Srv)
        );
    }
    assert_eq!(a.peers_in(PeerState::Connected), ["skein-1", "skein-2"]);
    let mut on_a: Vec<String> = a.status().peers.iter().map(|p| p.address.clone()).collect();
    on_a.sort();
    let mut expected = [addrs[1].to_string(), addrs[2].to_string()];
    expected.sort();
    assert_eq!(on_a, expected, "each on its record's port");
    // Routes flow between peers found by SRV.
    let mut sub = a
        .broker
        .handle()
        .subscribe(filter("srv/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let routed = eventually(|| {
        let status = c.status();
        status
            .peers
            .iter()
            .any(|p| p.name.as_ref() == Some(&status_name("skein-0")) && p.routes == 1)
    })
    .await;
    assert!(routed, "{:?}", c.status());
    delivers(&c, "srv/1", b"via srv", &mut sub).await;
    // skein-2's target leaves the SRV records: the others drop it, and its outbox with it.
    set_targets(&server, &addrs, &[0, 1]);
    for node in [&a, &b] {
        let dropped = eventually(|| node.status().peers.len() == 1).await;
        assert!(dropped, "{:?}", node.status());
        assert_eq!(
            node.broker
                .handle()
                .peer_outbox_depth(&PeerName::new("skein-2")),
            None
        );
    }
    // And comes back.
    set_targets(&server, &addrs, &[0, 1, 2]);
    let back = eventually(|| a.peers_in(PeerState::Connected).len() == 2).await;
    assert!(back, "{:?}", a.status());
    for node in [a, b, c] {
        node.stop().await;
    }
}
