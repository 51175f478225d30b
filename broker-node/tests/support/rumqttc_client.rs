//! A real MQTT 3.1.1 client for the tests: rumqttc (its v4 API), one connection, its
//! packets forwarded to the test with bounded waits.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, LastWill, MqttOptions, Packet, QoS, SubscribeReasonCode,
};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::task::JoinHandle;
use tokio::time::timeout;

pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// A connected rumqttc client; a task drives its event loop and forwards what arrives.
pub(crate) struct Client {
    client: AsyncClient,
    incoming: UnboundedReceiver<Result<Packet, String>>,
    driver: JoinHandle<()>,
    name: String,
    /// The broker's log file, for failure messages.
    log: PathBuf,
}

impl Client {
    /// Connects and waits for a successful CONNACK; returns the client and Session Present.
    pub(crate) async fn connect(
        port: u16,
        log: &Path,
        id: &str,
        clean_session: bool,
    ) -> (Client, bool) {
        Self::connect_with_will(port, log, id, clean_session, None).await
    }

    /// [`Client::connect`] with a will (topic, payload) at QoS 1, RETAIN 0, if given.
    pub(crate) async fn connect_with_will(
        port: u16,
        log: &Path,
        id: &str,
        clean_session: bool,
        will: Option<(&str, &[u8])>,
    ) -> (Client, bool) {
        let mut options = MqttOptions::new(id, "127.0.0.1", port);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_clean_session(clean_session);
        if let Some((topic, payload)) = will {
            options.set_last_will(LastWill::new(topic, payload, QoS::AtLeastOnce, false));
        }
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
            log: log.to_path_buf(),
        };
        let session_present = match this.next("CONNACK").await {
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
    pub(crate) async fn next(&mut self, what: &str) -> Packet {
        loop {
            match timeout(WAIT, self.incoming.recv()).await {
                Ok(Some(Ok(Packet::PingResp))) => {}
                Ok(Some(Ok(packet))) => return packet,
                Ok(Some(Err(error))) => panic!(
                    "{}: connection error while waiting for {what}: {error}\n--- broker log ---\n{}",
                    self.name,
                    self.broker_log()
                ),
                Ok(None) => panic!("{}: event loop ended before {what}", self.name),
                Err(_) => panic!(
                    "{}: no {what} within {WAIT:?}\n--- broker log ---\n{}",
                    self.name,
                    self.broker_log()
                ),
            }
        }
    }

    /// The next packet from the broker (PINGRESPs skipped), or `None` when none came within
    /// `wait`; fails on a connection error.
    pub(crate) async fn next_within(&mut self, wait: Duration) -> Option<Packet> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Err(_) => return None,
                Ok(Some(Ok(Packet::PingResp))) => {}
                Ok(Some(Ok(packet))) => return Some(packet),
                Ok(Some(Err(error))) => panic!("{}: connection error: {error}", self.name),
                Ok(None) => panic!("{}: event loop ended", self.name),
            }
        }
    }

    /// Asserts that nothing but PINGRESPs arrives for `quiet`.
    pub(crate) async fn expect_nothing(&mut self, quiet: Duration) {
        let deadline = tokio::time::Instant::now() + quiet;
        loop {
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Err(_) => return,
                Ok(Some(Ok(Packet::PingResp))) => {}
                Ok(other) => panic!(
                    "{}: expected nothing, got {other:?}\n--- broker log ---\n{}",
                    self.name,
                    self.broker_log()
                ),
            }
        }
    }

    /// Waits until the broker closes the connection (MQTT 3.1.1 has no DISCONNECT from the
    /// server); fails on a packet first, or when it stays open for `WAIT`.
    pub(crate) async fn expect_closed(&mut self, why: &str) {
        loop {
            match timeout(WAIT, self.incoming.recv()).await {
                Ok(Some(Ok(Packet::PingResp))) => {}
                Ok(Some(Err(_)) | None) => return,
                Ok(Some(Ok(packet))) => {
                    panic!("{}: expected the close ({why}), got {packet:?}", self.name)
                }
                Err(_) => panic!(
                    "{}: still connected after {WAIT:?} ({why})\n--- broker log ---\n{}",
                    self.name,
                    self.broker_log()
                ),
            }
        }
    }

    pub(crate) async fn subscribe(&mut self, filter: &str, qos: QoS) {
        self.client.subscribe(filter, qos).await.expect("subscribe");
        match self.next("SUBACK").await {
            Packet::SubAck(ack) => assert_eq!(
                ack.return_codes,
                vec![SubscribeReasonCode::Success(qos)],
                "{}: SUBACK for {filter}",
                self.name
            ),
            other => panic!("{}: expected SUBACK, got {other:?}", self.name),
        }
    }

    pub(crate) async fn publish_qos1(&mut self, topic: &str, payload: &[u8]) {
        self.publish_qos1_with(topic, payload, false).await;
    }

    /// Publishes at QoS 1 with the RETAIN flag `retain`, and waits for the PUBACK.
    pub(crate) async fn publish_qos1_with(&mut self, topic: &str, payload: &[u8], retain: bool) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.to_vec())
            .await
            .expect("publish");
        match self.next("PUBACK").await {
            Packet::PubAck(_) => {}
            other => panic!("{}: expected PUBACK, got {other:?}", self.name),
        }
    }

    /// The broker's log so far.
    fn broker_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// Publishes at QoS 2 and waits for the PUBCOMP (rumqttc answers the PUBREC itself).
    pub(crate) async fn publish_qos2(&mut self, topic: &str, payload: &[u8]) {
        self.client
            .publish(topic, QoS::ExactlyOnce, false, payload.to_vec())
            .await
            .expect("publish");
        loop {
            match self.next("PUBREC / PUBCOMP").await {
                Packet::PubRec(_) => {}
                Packet::PubComp(_) => return,
                other => panic!("{}: expected PUBREC or PUBCOMP, got {other:?}", self.name),
            }
        }
    }

    /// Sends DISCONNECT and waits (bounded) for the event loop to end.
    pub(crate) async fn disconnect(mut self) {
        self.client.disconnect().await.expect("disconnect");
        let _ = timeout(WAIT, async {
            while let Some(Ok(_)) = self.incoming.recv().await {}
        })
        .await;
        self.driver.abort();
    }
}

/// (topic, payload, QoS, retain) of a PUBLISH, or a failure naming what came instead.
pub(crate) fn publish_fields(client: &str, packet: Packet) -> (String, Vec<u8>, QoS, bool) {
    match packet {
        Packet::Publish(p) => (p.topic, p.payload.to_vec(), p.qos, p.retain),
        other => panic!("{client}: expected PUBLISH, got {other:?}"),
    }
}
