//! Retained messages across three `skein` processes on loopback (docs/cluster.md), with
//! rumqttc clients on different nodes: a message retained on node a is sent to a new
//! subscription on node b ([MQTT-3.3.1-6]); node c, started after it was set, has it through
//! catch-up; a clear on c (a retained PUBLISH with an empty payload, [MQTT-3.3.1-10]) removes
//! it on every node, so new subscriptions get nothing ([MQTT-3.3.1-11]).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rumqttc::{Packet, QoS};

use super::cluster::{config, ports, Ports};
use crate::support::rumqttc_client::Client;
use crate::support::ConfiguredSkein;

/// Tries of [`eventually_retained`] before it gives up.
const TRIES: usize = 100;
/// How long one try waits for the retained message after the SUBACK.
const TRY_WAIT: Duration = Duration::from_millis(300);

/// A fresh client id, so that no try takes another's session over.
fn client_id(node: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("cr-{node}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// What a new subscription to `topic` on the node at `mqtt` gets as retained (RETAIN 1).
async fn retained_on(mqtt: u16, log: &Path, node: &str, topic: &str) -> Option<Vec<u8>> {
    let (mut client, _) = Client::connect(mqtt, log, &client_id(node), true).await;
    client.subscribe(topic, QoS::AtLeastOnce).await;
    let got = match client.next_within(TRY_WAIT).await {
        Some(Packet::Publish(p)) if p.retain => Some(p.payload.to_vec()),
        _ => None,
    };
    client.disconnect().await;
    got
}

/// Whether a new subscription on `node` gets `expected` as retained, within [`TRIES`].
async fn eventually_retained(
    node: &ConfiguredSkein,
    ports: Ports,
    name: &str,
    topic: &str,
    expected: Option<&[u8]>,
) -> bool {
    for _ in 0..TRIES {
        if retained_on(ports.mqtt, node.log_path(), name, topic)
            .await
            .as_deref()
            == expected
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn start(name: &str, own: Ports, peers: &[(&str, Ports)]) -> ConfiguredSkein {
    let text = config(name, "it-retained", own, peers);
    ConfiguredSkein::start(&format!("cluster-retained-{name}"), |_| {
        (text.clone(), own.mqtt)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_message_is_cluster_wide_and_a_clear_anywhere_removes_it() {
    let (on_a, on_b, on_c) = (ports(), ports(), ports());
    let a = start("a", on_a, &[("b", on_b), ("c", on_c)]);
    let b = start("b", on_b, &[("a", on_a), ("c", on_c)]);
    a.wait_for_lines(&["Connected to a peer node"], 1);
    b.wait_for_lines(&["Connected to a peer node"], 1);

    let (mut publisher, _) = Client::connect(on_a.mqtt, a.log_path(), "cr-pub-a", true).await;
    publisher.publish_qos1_with("cr/state", b"on", true).await;
    assert!(
        eventually_retained(&b, on_b, "b", "cr/state", Some(b"on")).await,
        "[MQTT-3.3.1-6]: a new subscription on b gets the message retained on a\n{}",
        b.log_tail()
    );

    // Node c starts after the message was set: it catches up from a's snapshot.
    let c = start("c", on_c, &[("a", on_a), ("b", on_b)]);
    c.wait_for_lines(&["Connected to a peer node"], 2);
    assert!(
        eventually_retained(&c, on_c, "c", "cr/state", Some(b"on")).await,
        "node c caught up\n{}",
        c.log_tail()
    );

    // [MQTT-3.3.1-10]: a retained empty payload on c clears the topic, on every node.
    let (mut clearer, _) = Client::connect(on_c.mqtt, c.log_path(), "cr-pub-c", true).await;
    clearer.publish_qos1_with("cr/state", b"", true).await;
    for (node, own, name) in [(&a, on_a, "a"), (&b, on_b, "b"), (&c, on_c, "c")] {
        assert!(
            eventually_retained(node, own, name, "cr/state", None).await,
            "[MQTT-3.3.1-11]: nothing retained on {name} after the clear\n{}",
            node.log_tail()
        );
    }
    publisher.disconnect().await;
    clearer.disconnect().await;
}
