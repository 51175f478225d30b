//! Integration tests with the `rumqttc` crate (MQTT 3.1.1, its v4 API) against the running
//! `skein` binary: a QoS 1 round trip, and a persistent session resumed with queued messages.

use rumqttc::QoS;

use crate::support::rumqttc_client::{publish_fields, Client};
use crate::support::Broker;

/// QoS 1 publish acknowledged (MQTT-3.3.4-1, MQTT-4.3.2-*) and delivered at QoS 1, RETAIN 0
/// (MQTT-3.3.1-9), payload unaltered.
#[tokio::test]
async fn rumqttc_qos1_round_trip_mqtt_3_3_4_1() {
    let broker = Broker::start();
    let topic = "it/rumqttc/qos1";
    let (mut sub, _) = Client::connect(broker.port(), broker.log_path(), "rq-sub", true).await;
    sub.subscribe(topic, QoS::AtLeastOnce).await;
    let (mut publisher, _) =
        Client::connect(broker.port(), broker.log_path(), "rq-pub", true).await;
    publisher
        .publish_qos1(topic, b"from rumqttc \x00\x01")
        .await;
    let got = publish_fields("rq-sub", sub.next("the message").await);
    assert_eq!(
        got,
        (
            topic.to_owned(),
            b"from rumqttc \x00\x01".to_vec(),
            QoS::AtLeastOnce,
            false
        )
    );
    sub.disconnect().await;
    publisher.disconnect().await;
}

/// CleanSession 0: subscribe at QoS 1, disconnect, 3 messages published meanwhile; the
/// reconnect gets Session Present 1 (MQTT-3.2.2-2) and the 3 messages in order
/// (MQTT-3.1.2-4, MQTT-3.1.2-5, MQTT-4.6.0-6).
#[tokio::test]
async fn rumqttc_persistent_session_resumed_with_queued_messages_mqtt_3_1_2_5() {
    let broker = Broker::start();
    let topic = "it/rumqttc/session";
    let (mut sub, present) =
        Client::connect(broker.port(), broker.log_path(), "rs-sub", false).await;
    assert!(!present, "Session Present 1 on the very first connection");
    sub.subscribe(topic, QoS::AtLeastOnce).await;
    sub.disconnect().await;

    let (mut publisher, _) =
        Client::connect(broker.port(), broker.log_path(), "rs-pub", true).await;
    for i in 0..3 {
        publisher
            .publish_qos1(topic, format!("queued {i}").as_bytes())
            .await;
    }

    let (mut again, present) =
        Client::connect(broker.port(), broker.log_path(), "rs-sub", false).await;
    assert!(
        present,
        "CONNACK Session Present 0 on resuming a persistent session"
    );
    for i in 0..3 {
        let got = publish_fields("rs-sub", again.next("a queued message").await);
        assert_eq!(
            got,
            (
                topic.to_owned(),
                format!("queued {i}").into_bytes(),
                QoS::AtLeastOnce,
                false
            ),
            "queued message {i}"
        );
    }
    again.disconnect().await;
    publisher.disconnect().await;
}
