//! A small service that embeds a Skein broker.
//!
//! It starts the broker inside its own tokio runtime with a TCP listener on 127.0.0.1 (any
//! free port, so MQTT clients can connect too), subscribes in-process to the commands it
//! serves, publishes its telemetry, answers one command, and shuts the broker down
//! gracefully.
//!
//! ```text
//! RUST_LOG=info cargo run -p skein-examples --example embedded
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use broker_core::config::{BrokerConfig, ListenerConfig};
use broker_core::types::{QoS, TopicFilter, TopicName};
use broker_core::Broker;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    // 1. Build and start the broker: one listener on a free port of the loopback interface.
    let config = BrokerConfig::default().with_listeners(vec![ListenerConfig::tcp(
        "local",
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )]);
    let broker = Broker::builder().config(config).start().await?;
    for (name, addr) in broker.local_addrs() {
        tracing::info!(
            "listener {name} on {addr}: try `mosquitto_sub -h {} -p {} -t 'service/#' -v`",
            addr.ip(),
            addr.port()
        );
    }

    // 2. Subscribe in-process, as any MQTT client would, but without a socket.
    let handle = broker.handle();
    let mut commands = handle
        .subscribe(TopicFilter::new("service/commands/#")?, QoS::AtLeastOnce)
        .await?;

    // 3. Publish: a retained status for late subscribers, then some telemetry.
    handle
        .publish(
            TopicName::new("service/status")?,
            "online".into(),
            QoS::AtLeastOnce,
            true,
        )
        .await?;
    for reading in 1..=3 {
        let payload = format!("{{\"reading\":{reading}}}");
        handle
            .publish(
                TopicName::new("service/telemetry")?,
                payload.into(),
                QoS::AtMostOnce,
                false,
            )
            .await?;
    }

    // Somebody (here: the service itself, from another task) sends a command.
    let sender = handle.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let topic = TopicName::new("service/commands/ping").context("topic")?;
        sender
            .publish(topic, "hello".into(), QoS::AtLeastOnce, false)
            .await?;
        anyhow::Ok(())
    });

    // 4. Serve one command, bounded in time.
    let command = tokio::time::timeout(Duration::from_secs(5), commands.recv())
        .await
        .context("no command arrived")?
        .context("the broker stopped")?;
    tracing::info!(
        "command on {}: {}",
        command.topic,
        String::from_utf8_lossy(&command.payload)
    );
    handle
        .publish(
            TopicName::new("service/replies/ping")?,
            "pong".into(),
            QoS::AtLeastOnce,
            false,
        )
        .await?;
    tracing::info!("stats: {:?}", handle.stats());

    // 5. Shut down gracefully: clients get DISCONNECT 0x8B, sockets are flushed and closed.
    drop(commands);
    broker.shutdown().await;
    Ok(())
}
