//! Retained messages across two brokers in one process, linked over gRPC on loopback: a
//! message retained on one node is given to a new subscription on the other
//! ([MQTT-3.3.1-6]), a clear on either removes it everywhere ([MQTT-3.3.1-10],
//! [MQTT-3.3.1-11]), a node that starts later catches up, and concurrent changes of one topic
//! converge on one value (last writer wins).

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod support;

use std::time::Duration;

use broker_core::types::{QoS, TopicFilter};
use broker_core::BrokerHandle;
use bytes::Bytes;

use support::{free_addr, start, topic};

async fn retain(on: &BrokerHandle, name: &str, payload: &'static [u8]) {
    let sent = on.publish(
        topic(name),
        Bytes::from_static(payload),
        QoS::AtLeastOnce,
        true,
    );
    assert!(sent.await.is_ok());
}

/// What a new subscription to `name` on `on` gets as retained.
async fn retained_on(on: &BrokerHandle, name: &str) -> Option<Bytes> {
    let filter = TopicFilter::new(name).unwrap();
    let mut subscription = on.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    let received = tokio::time::timeout(Duration::from_millis(100), subscription.recv()).await;
    received.ok().flatten().map(|m| m.payload)
}

/// Whether a new subscription to `name` on `on` gets `expected` as retained, within a bound
/// (100 tries).
async fn eventually(on: &BrokerHandle, name: &str, expected: Option<&[u8]>) -> bool {
    for _ in 0..100 {
        if retained_on(on, name).await.as_deref() == expected {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_message_reaches_the_other_node_and_a_clear_there_removes_it() {
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let a = start("a", "test", addr_a, &[("b", addr_b)]).await;
    let b = start("b", "test", addr_b, &[("a", addr_a)]).await;
    retain(&a.handle(), "r/1", b"v1").await;
    assert!(
        eventually(&b.handle(), "r/1", Some(b"v1")).await,
        "[MQTT-3.3.1-6] on b"
    );
    // [MQTT-3.3.1-10]: an empty retained payload clears the topic, on every node.
    retain(&b.handle(), "r/1", b"").await;
    assert!(eventually(&a.handle(), "r/1", None).await, "cleared on a");
    assert!(eventually(&b.handle(), "r/1", None).await, "cleared on b");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_later_catches_up_with_sets_and_clears() {
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let a = start("a", "test", addr_a, &[("b", addr_b)]).await;
    retain(&a.handle(), "r/kept", b"kept").await;
    retain(&a.handle(), "r/gone", b"gone").await;
    retain(&a.handle(), "r/gone", b"").await;
    let b = start("b", "test", addr_b, &[("a", addr_a)]).await;
    assert!(eventually(&b.handle(), "r/kept", Some(b"kept")).await);
    assert!(eventually(&b.handle(), "r/gone", None).await);
    // And b's own changes reach a.
    retain(&b.handle(), "r/from-b", b"b").await;
    assert!(eventually(&a.handle(), "r/from-b", Some(b"b")).await);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_of_a_topic_converge() {
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let a = start("a", "test", addr_a, &[("b", addr_b)]).await;
    let b = start("b", "test", addr_b, &[("a", addr_a)]).await;
    retain(&a.handle(), "r/warm", b"w").await;
    assert!(
        eventually(&b.handle(), "r/warm", Some(b"w")).await,
        "linked"
    );
    for round in 0..20 {
        let name = format!("r/both/{round}");
        let (on_a, on_b) = (a.handle(), b.handle());
        let (x, y) = (name.clone(), name.clone());
        let from_a = tokio::spawn(async move { retain(&on_a, &x, b"from a").await });
        let from_b = tokio::spawn(async move { retain(&on_b, &y, b"from b").await });
        assert!(from_a.await.is_ok() && from_b.await.is_ok());
        let mut converged = false;
        for _ in 0..100 {
            let (on_a, on_b) = (
                retained_on(&a.handle(), &name).await,
                retained_on(&b.handle(), &name).await,
            );
            if on_a.is_some() && on_a == on_b {
                converged = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(converged, "{name}: both nodes hold one value");
    }
    a.stop().await;
    b.stop().await;
}
