//! Two brokers in one process, linked over gRPC on loopback: a subscription on one node
//! receives what is published on the other, right after its subscribe returns; a node of
//! another cluster is refused.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod support;

use std::time::Duration;

use broker_core::types::{QoS, TopicFilter};
use broker_core::BrokerHandle;
use bytes::Bytes;

use support::{free_addr, log, start, topic};

fn filter(text: &str) -> TopicFilter {
    TopicFilter::new(text).unwrap()
}

/// Publishes on `from` until `subscription` receives (bounded: 200 tries), so that both
/// nodes' route streams are up.
async fn until_linked(from: &BrokerHandle, subscription: &mut broker_core::Subscription) -> bool {
    for _ in 0..200 {
        let sent = from.publish(topic("warmup/x"), Bytes::new(), QoS::AtMostOnce, false);
        assert!(sent.await.is_ok());
        if let Ok(Some(_)) =
            tokio::time::timeout(Duration::from_millis(50), subscription.recv()).await
        {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_right_after_subscribe_reaches_the_other_node() {
    log();
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let a = start("a", "test", addr_a, &[("b", addr_b)]).await;
    let b = start("b", "test", addr_b, &[("a", addr_a)]).await;
    let mut warmup = a
        .handle()
        .subscribe(filter("warmup/#"), QoS::AtMostOnce)
        .await
        .unwrap();
    assert!(
        until_linked(&b.handle(), &mut warmup).await,
        "the nodes never linked"
    );
    let (on_a, on_b) = (a.handle(), b.handle());
    let mut misses = 0;
    for round in 0..100 {
        let name = format!("round/{round}");
        let mut subscription = on_a
            .subscribe(filter(&name), QoS::AtLeastOnce)
            .await
            .unwrap();
        let payload = Bytes::from(name.clone());
        let sent = on_b.publish(topic(&name), payload.clone(), QoS::AtLeastOnce, false);
        assert!(sent.await.is_ok());
        match tokio::time::timeout(Duration::from_secs(5), subscription.recv()).await {
            Ok(Some(message)) => assert_eq!(message.payload, payload),
            _ => misses += 1,
        }
    }
    assert_eq!(misses, 0, "publishes right after the subscribe that missed");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_rejoins_with_a_new_incarnation() {
    log();
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let a = start("a", "test", addr_a, &[("b", addr_b)]).await;
    let b = start("b", "test", addr_b, &[("a", addr_a)]).await;
    let mut before = a
        .handle()
        .subscribe(filter("warmup/#"), QoS::AtMostOnce)
        .await
        .unwrap();
    assert!(
        until_linked(&b.handle(), &mut before).await,
        "the nodes never linked"
    );
    drop(before);
    a.stop().await;
    // The same node, started again: a new run, whose routes b must take from the start.
    let a = start("a", "test", addr_a, &[("b", addr_b)]).await;
    let mut after = a
        .handle()
        .subscribe(filter("warmup/#"), QoS::AtMostOnce)
        .await
        .unwrap();
    assert!(
        until_linked(&b.handle(), &mut after).await,
        "the restarted node did not rejoin"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_of_another_cluster_is_refused() {
    log();
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let a = start("a", "blue", addr_a, &[("b", addr_b)]).await;
    let b = start("b", "green", addr_b, &[("a", addr_a)]).await;
    let mut subscription = a
        .handle()
        .subscribe(filter("x/#"), QoS::AtMostOnce)
        .await
        .unwrap();
    let on_b = b.handle();
    for _ in 0..20 {
        let sent = on_b.publish(topic("x/y"), Bytes::new(), QoS::AtMostOnce, false);
        assert!(sent.await.is_ok());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = tokio::time::timeout(Duration::from_millis(200), subscription.recv()).await;
    assert!(received.is_err(), "a message crossed between two clusters");
    a.stop().await;
    b.stop().await;
}
