//! Integration tests with the `rumqttc` crate (MQTT 3.1.1, its v4 API) against the running
//! `skein` binary: a QoS 1 round trip, and a persistent session resumed with queued messages.

use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet, QoS, SubscribeReasonCode,
};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::support::Broker;

const WAIT: Duration = Duration::from_secs(5);

/// A connected rumqttc client; a task drives its event loop and forwards what arrives.
struct Client {
    client: AsyncClient,
    incoming: UnboundedReceiver<Result<Packet, String>>,
    driver: JoinHandle<()>,
    name: String,
}

impl Client {
    /// Connects and waits for a successful CONNACK; returns the client and Session Present.
    async fn connect(broker: &Broker, id: &str, clean_session: bool) -> (Client, bool) {
        let mut options = MqttOptions::new(id, "127.0.0.1", broker.port());
        options.set_keep_alive(Duration::from_secs(30));
        options.set_clean_session(clean_session);
        let (client, mut eventloop) = AsyncClient::new(options, 16);
        let (tx, incoming) = unbounded_channel();
        // One connection only: the loop stops at the first error instead of reconnecting.
        let driver = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(packet)) => {
                        if tx.send(Ok(packet)).is_err() {
                            break;
                        }
                    }
                    Ok(Event::Outgoing(_)) => {}
                    Err(error) => {
                        let _ = tx.send(Err(error.to_string()));
                        break;
                    }
                }
            }
        });
        let mut this = Client {
            client,
            incoming,
            driver,
            name: id.to_owned(),
        };
        let session_present = match this.next(broker, "CONNACK").await {
            Packet::ConnAck(ack) => {
                assert_eq!(
                    ack.code,
                    ConnectReturnCode::Success,
                    "{id}: CONNACK {ack:?}"
                );
                ack.session_present
            }
            other => panic!("{id}: expected CONNACK first, got {other:?}"),
        };
        (this, session_present)
    }

    /// The next packet from the broker (PINGRESPs skipped); fails after `WAIT`.
    async fn next(&mut self, broker: &Broker, what: &str) -> Packet {
        loop {
            match timeout(WAIT, self.incoming.recv()).await {
                Ok(Some(Ok(Packet::PingResp))) => {}
                Ok(Some(Ok(packet))) => return packet,
                Ok(Some(Err(error))) => panic!(
                    "{}: connection error while waiting for {what}: {error}\n--- broker log ---\n{}",
                    self.name,
                    broker.log()
                ),
                Ok(None) => panic!("{}: event loop ended before {what}", self.name),
                Err(_) => panic!(
                    "{}: no {what} within {WAIT:?}\n--- broker log ---\n{}",
                    self.name,
                    broker.log()
                ),
            }
        }
    }

    async fn subscribe(&mut self, broker: &Broker, filter: &str, qos: QoS) {
        self.client.subscribe(filter, qos).await.expect("subscribe");
        match self.next(broker, "SUBACK").await {
            Packet::SubAck(ack) => assert_eq!(
                ack.return_codes,
                vec![SubscribeReasonCode::Success(qos)],
                "{}: SUBACK for {filter}",
                self.name
            ),
            other => panic!("{}: expected SUBACK, got {other:?}", self.name),
        }
    }

    async fn publish_qos1(&mut self, broker: &Broker, topic: &str, payload: &[u8]) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_vec())
            .await
            .expect("publish");
        match self.next(broker, "PUBACK").await {
            Packet::PubAck(_) => {}
            other => panic!("{}: expected PUBACK, got {other:?}", self.name),
        }
    }

    /// Sends DISCONNECT and waits (bounded) for the event loop to end.
    async fn disconnect(mut self) {
        self.client.disconnect().await.expect("disconnect");
        let _ = timeout(WAIT, async {
            while let Some(Ok(_)) = self.incoming.recv().await {}
        })
        .await;
        self.driver.abort();
    }
}

/// (topic, payload, QoS, retain) of a PUBLISH, or a failure naming what came instead.
fn publish_fields(client: &str, packet: Packet) -> (String, Vec<u8>, QoS, bool) {
    match packet {
        Packet::Publish(p) => (p.topic, p.payload.to_vec(), p.qos, p.retain),
        other => panic!("{client}: expected PUBLISH, got {other:?}"),
    }
}

/// QoS 1 publish acknowledged (MQTT-3.3.4-1, MQTT-4.3.2-*) and delivered at QoS 1, RETAIN 0
/// (MQTT-3.3.1-9), payload unaltered.
#[tokio::test]
async fn rumqttc_qos1_round_trip_mqtt_3_3_4_1() {
    let broker = Broker::start();
    let topic = "it/rumqttc/qos1";
    let (mut sub, _) = Client::connect(&broker, "rq-sub", true).await;
    sub.subscribe(&broker, topic, QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(&broker, "rq-pub", true).await;
    publisher
        .publish_qos1(&broker, topic, b"from rumqttc \x00\x01")
        .await;
    let got = publish_fields("rq-sub", sub.next(&broker, "the message").await);
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
    let (mut sub, present) = Client::connect(&broker, "rs-sub", false).await;
    assert!(!present, "Session Present 1 on the very first connection");
    sub.subscribe(&broker, topic, QoS::AtLeastOnce).await;
    sub.disconnect().await;

    let (mut publisher, _) = Client::connect(&broker, "rs-pub", true).await;
    for i in 0..3 {
        publisher
            .publish_qos1(&broker, topic, format!("queued {i}").as_bytes())
            .await;
    }

    let (mut again, present) = Client::connect(&broker, "rs-sub", false).await;
    assert!(
        present,
        "CONNACK Session Present 0 on resuming a persistent session"
    );
    for i in 0..3 {
        let got = publish_fields("rs-sub", again.next(&broker, "a queued message").await);
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
