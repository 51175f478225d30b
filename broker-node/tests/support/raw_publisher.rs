//! A publisher speaking raw MQTT with broker-core's codec, so that every answer (a PUBACK's
//! reason code, no answer at all, a closed connection) is seen as it is.

use std::time::Duration;

use broker_core::codec::{ConnAck, Connect, Decoder, Packet, Publish, QosPid};
use broker_core::types::{ClientId, MqttString, PacketId, ProtocolVersion, ReasonCode, TopicName};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a CONNACK may take.
const CONNACK_WAIT: Duration = Duration::from_secs(10);

/// What a publisher got for a QoS 1 PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A PUBACK with this reason code (always 0x00 in 3.1.1).
    PubAck(ReasonCode),
    /// Nothing within the wait; the connection is still open.
    Nothing,
    /// The broker closed the connection (after a DISCONNECT, for MQTT 5).
    Closed,
}

/// A publisher speaking raw MQTT with broker-core's codec, so that every answer (a PUBACK's
/// reason code, no answer at all) is seen as it is. A clean session: nothing of it is stored.
pub(crate) struct Publisher {
    stream: TcpStream,
    version: ProtocolVersion,
    decoder: Decoder,
    buf: BytesMut,
    next_id: u16,
}

impl Publisher {
    /// A TCP connection to skein on `port`, nothing sent yet.
    async fn open(port: u16, version: ProtocolVersion) -> Publisher {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connecting to skein");
        Publisher {
            stream,
            version,
            decoder: Decoder::with_version(version),
            buf: BytesMut::new(),
            next_id: 1,
        }
    }

    /// Connects with a clean session and checks the CONNACK accepts it.
    pub(crate) async fn connect(port: u16, version: ProtocolVersion, id: &str) -> Publisher {
        let mut publisher = Publisher::open(port, version).await;
        let connect = Connect::new(version, ClientId::new(id).expect("client id"));
        publisher.send(Packet::Connect(Box::new(connect))).await;
        match publisher.read(CONNACK_WAIT).await {
            Some(Packet::ConnAck(ack)) => {
                assert_eq!(ack.code, ReasonCode::Success, "{id}: CONNACK {ack:?}");
            }
            other => panic!("{id}: expected CONNACK, got {other:?}"),
        }
        publisher
    }

    /// Sends a clean-session CONNECT with `username` and `password` and gives back the
    /// CONNACK, and for a refusal whether the broker then closed the connection (within the
    /// CONNACK's wait; an accepted connection is left as it is and dropped).
    pub(crate) async fn connect_as(
        port: u16,
        version: ProtocolVersion,
        id: &str,
        username: &str,
        password: &str,
    ) -> (ConnAck, bool) {
        let mut publisher = Publisher::open(port, version).await;
        let mut connect = Connect::new(version, ClientId::new(id).expect("client id"));
        connect.username = Some(MqttString::new(username).expect("user name"));
        connect.password = Some(Bytes::copy_from_slice(password.as_bytes()));
        publisher.send(Packet::Connect(Box::new(connect))).await;
        let ack = match publisher.read(CONNACK_WAIT).await {
            Some(Packet::ConnAck(ack)) => ack,
            other => panic!("{id}: expected CONNACK, got {other:?}"),
        };
        let closed = ack.code != ReasonCode::Success
            && matches!(
                tokio::time::timeout(CONNACK_WAIT, publisher.stream.read_buf(&mut publisher.buf))
                    .await,
                Ok(Ok(0) | Err(_))
            );
        (*ack, closed)
    }

    async fn send(&mut self, packet: Packet) {
        let mut out = BytesMut::new();
        packet.encode(self.version, &mut out).expect("encoding");
        self.stream.write_all(&out).await.expect("writing to skein");
    }

    /// The next packet within `wait`; `None` when the connection is closed or nothing came.
    async fn read(&mut self, wait: Duration) -> Option<Packet> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(packet)) => return Some(packet),
                Ok(None) => {}
                Err(error) => panic!("undecodable packet from skein: {error:?}"),
            }
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            }
        }
    }

    /// Publishes `payload` on `topic` at QoS 1 ([MQTT-3.3.4-1]: the receiver answers
    /// PUBACK) and returns what came back within `wait`.
    pub(crate) async fn publish_qos1(
        &mut self,
        topic: &str,
        payload: Vec<u8>,
        wait: Duration,
    ) -> Answer {
        let id = PacketId::new(self.next_id).expect("packet id");
        self.next_id += 1;
        let mut publish = Publish::new(
            TopicName::new(topic.to_owned()).expect("topic"),
            payload.into(),
        );
        publish.qos_pid = QosPid::AtLeastOnce(id);
        self.send(Packet::Publish(publish)).await;
        match self.read(wait).await {
            Some(Packet::PubAck(ack)) => {
                assert_eq!(ack.packet_id, id, "a PUBACK for another packet");
                Answer::PubAck(ack.code)
            }
            Some(Packet::Disconnect(_)) => Answer::Closed,
            Some(other) => panic!("expected PUBACK, got {other:?}"),
            None => {
                // Closed, or just silent? A second read tells them apart at once.
                let mut probe = [0_u8; 1];
                match tokio::time::timeout(Duration::from_millis(100), self.stream.read(&mut probe))
                    .await
                {
                    Err(_) => Answer::Nothing,
                    Ok(Ok(0) | Err(_)) => Answer::Closed,
                    Ok(Ok(_)) => panic!("skein sent something after the wait"),
                }
            }
        }
    }
}
