//! A service that embeds a clustered Skein broker: MQTT clients connect to any instance of
//! the service, and a message published on one instance reaches subscribers on every other
//! (docs/cluster.md). The service itself subscribes in-process to `service/#` and prints
//! what it gets, wherever it was published.
//!
//! Two instances on one machine:
//!
//! ```sh
//! cargo run -p skein-examples --example clustered -- --node a --mqtt 127.0.0.1:1883 \
//!     --cluster 127.0.0.1:7400 --peer b=127.0.0.1:7401
//! cargo run -p skein-examples --example clustered -- --node b --mqtt 127.0.0.1:1884 \
//!     --cluster 127.0.0.1:7401 --peer a=127.0.0.1:7400
//! mosquitto_pub -p 1884 -t service/hello -m 'from b'   # printed by both instances
//! ```
//!
//! Ctrl-C stops an instance: its peers log that it went away and drop its routes.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use broker_cluster::{ClusterConfig, ClusterId, ClusterNode, GrpcLink, NodeName, PeerConfig};
use broker_core::cluster::ClusterLink;
use broker_core::config::ListenerConfig;
use broker_core::types::{QoS, TopicFilter};
use broker_core::{Broker, Subscription};
use clap::Parser;

/// One instance of the clustered service.
#[derive(Debug, Parser)]
struct Args {
    /// This instance's node name, unique in the cluster.
    #[arg(long)]
    node: String,
    /// The cluster's id: instances of other clusters are refused.
    #[arg(long, default_value = "example")]
    cluster_id: String,
    /// Where MQTT clients connect.
    #[arg(long, default_value = "127.0.0.1:1883")]
    mqtt: SocketAddr,
    /// Where the other instances reach this one (gRPC).
    #[arg(long, default_value = "127.0.0.1:7400")]
    cluster: SocketAddr,
    /// Another instance, `NAME=HOST:PORT` (repeat for each).
    #[arg(long = "peer")]
    peers: Vec<String>,
}

/// A running instance: the broker, its cluster endpoint, and the service's own subscription.
struct Instance {
    broker: Broker,
    cluster: ClusterNode,
    subscription: Subscription,
}

impl Instance {
    /// Starts the broker with the cluster link, then the link, then subscribes in-process.
    async fn start(args: &Args) -> anyhow::Result<Instance> {
        let peers = args
            .peers
            .iter()
            .map(|peer| peer.parse::<PeerConfig>())
            .collect::<Result<Vec<_>, _>>()
            .context("--peer")?;
        let config = ClusterConfig::new(
            NodeName::new(args.node.as_str()).context("--node")?,
            ClusterId::new(args.cluster_id.as_str()).context("--cluster-id")?,
            args.cluster,
            peers,
        )?;
        // The link is built before the broker (the builder takes it) and started after it
        // (it needs the broker's handle to deliver the peers' messages).
        let link = GrpcLink::new(config);
        let broker = Broker::builder()
            .no_listeners()
            .listener(ListenerConfig::tcp("mqtt", args.mqtt))
            .cluster_link(Arc::clone(&link) as Arc<dyn ClusterLink>)
            .start()
            .await
            .context("starting the broker")?;
        let cluster = link
            .start(broker.handle())
            .await
            .context("starting the cluster endpoint")?;
        let filter = TopicFilter::new("service/#")?;
        let subscription = broker.handle().subscribe(filter, QoS::AtLeastOnce).await?;
        Ok(Instance {
            broker,
            cluster,
            subscription,
        })
    }

    /// Stops the cluster endpoint first (peers see the node leave), then the broker.
    async fn stop(self) {
        drop(self.subscription);
        self.cluster.shutdown().await;
        self.broker.shutdown().await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut instance = Instance::start(&args).await?;
    tracing::info!(
        "Node {} serving MQTT on {}, the cluster on {}.",
        args.node,
        args.mqtt,
        instance.cluster.local_addr()
    );
    loop {
        tokio::select! {
            message = instance.subscription.recv() => {
                let Some(message) = message else { break };
                tracing::info!(
                    "The service got {}: {}",
                    message.topic.as_str(),
                    String::from_utf8_lossy(&message.payload)
                );
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    instance.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use broker_core::types::TopicName;
    use bytes::Bytes;

    use super::*;

    /// A free port on 127.0.0.1 (bound, then let go).
    fn free_port() -> u16 {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    }

    fn args(node: &str, cluster: u16, peer: (&str, u16)) -> Args {
        Args {
            node: node.to_owned(),
            cluster_id: "example-test".to_owned(),
            mqtt: SocketAddr::from(([127, 0, 0, 1], 0)),
            cluster: SocketAddr::from(([127, 0, 0, 1], cluster)),
            peers: vec![format!("{}=127.0.0.1:{}", peer.0, peer.1)],
        }
    }

    /// Two instances in one process: a message published on b reaches the service's own
    /// subscription on a (once b has a's route: published again, bounded, until it does).
    #[tokio::test]
    async fn a_message_published_on_one_instance_reaches_the_service_on_the_other() {
        let (port_a, port_b) = (free_port(), free_port());
        let mut a = Instance::start(&args("a", port_a, ("b", port_b)))
            .await
            .unwrap();
        let b = Instance::start(&args("b", port_b, ("a", port_a)))
            .await
            .unwrap();
        let topic = TopicName::new("service/hello").unwrap();
        let mut got = None;
        for _ in 0..100 {
            b.broker
                .handle()
                .publish(
                    topic.clone(),
                    Bytes::from_static(b"from b"),
                    QoS::AtLeastOnce,
                    false,
                )
                .await
                .unwrap();
            let wait = tokio::time::timeout(Duration::from_millis(100), a.subscription.recv());
            if let Ok(Some(message)) = wait.await {
                got = Some(message);
                break;
            }
        }
        let message = got.expect("a's service got b's message");
        assert_eq!(message.topic, topic);
        assert_eq!(message.payload, Bytes::from_static(b"from b"));
        b.stop().await;
        a.stop().await;
    }
}
