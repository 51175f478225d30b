//! Backpressure: a subscriber that keeps up, but is behind, slows its publishers down instead
//! of losing messages (docs/architecture.md, "The path of a PUBLISH", step 5).

use std::time::Duration;

use broker_core::codec::Packet;
use broker_core::types::QoS;

use crate::support;
use crate::support::{Client, V311};

/// A queue of 8 messages, and a flood of 2,000 QoS 0 messages sent without waiting: a
/// subscriber that reads (slowly at first) gets every one, in order.
#[tokio::test]
async fn a_subscriber_that_reads_loses_nothing_from_a_flood() {
    let mut config = support::config();
    config.session.queue.max_messages = 8;
    config.queue_full_wait = Duration::from_secs(5);
    let (broker, addr) = support::start_with(config).await;
    let (mut subscriber, _) = Client::connect(addr, V311, "reader", true).await;
    subscriber.subscribe(1, "flood", QoS::AtMostOnce).await;
    let (mut publisher, _) = Client::connect(addr, V311, "flooder", true).await;
    const N: usize = 2_000;
    let payloads: Vec<&'static str> = (0..N)
        .map(|i| &*Box::leak(format!("{i:06}").into_boxed_str()))
        .collect();
    let reader = tokio::spawn(async move {
        // Start late, so the queue is full before the first read.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut got = Vec::with_capacity(N);
        while got.len() < N {
            match subscriber.recv_within(support::WAIT).await {
                Ok(Some(Packet::Publish(p))) => got.push(p.payload),
                Ok(Some(_)) => {}
                Ok(None) | Err(()) => break,
            }
        }
        got
    });
    for payload in &payloads {
        publisher
            .publish("flood", payload, QoS::AtMostOnce, false, 0)
            .await;
    }
    let got = tokio::time::timeout(support::WAIT * 4, reader)
        .await
        .expect("the subscriber got everything in time")
        .unwrap();
    assert_eq!(got.len(), N, "nothing lost");
    let in_order = got
        .iter()
        .zip(&payloads)
        .all(|(got, sent)| &got[..] == sent.as_bytes());
    assert!(in_order, "in publish order [MQTT-4.6.0-6]");
    assert_eq!(broker.handle().stats().messages_dropped(), 0);
    publisher.disconnect().await;
    broker.shutdown().await;
}
