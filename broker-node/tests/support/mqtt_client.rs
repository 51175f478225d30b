//! A small MQTT client speaking broker-core's codec over TCP, for the admin tests: what the
//! broker sends (a DISCONNECT's reason code, Session Present, a PUBLISH's properties) is
//! seen as it is. Every wait is bounded.

use std::time::Duration;

use broker_core::codec::{
    Ack, ConnAck, Connect, Decoder, Packet, Publish, QosPid, Subscribe, SubscribeProperties,
    Subscription, SubscriptionOptions,
};
use broker_core::types::{ClientId, PacketId, ProtocolVersion, QoS, ReasonCode, TopicFilter};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long any one answer may take.
const WAIT: Duration = Duration::from_secs(10);

/// One client connection.
pub(crate) struct MqttClient {
    stream: TcpStream,
    version: ProtocolVersion,
    decoder: Decoder,
    buf: BytesMut,
}

/// A CONNECT for `client_id`: clean start as asked and, for a persistent MQTT 5 session, an
/// hour's Session Expiry Interval.
pub(crate) fn connect_packet(version: ProtocolVersion, client_id: &str, clean: bool) -> Connect {
    let mut connect = Connect::new(version, ClientId::new(client_id).expect("client id"));
    connect.clean_start = clean;
    if !clean && version == ProtocolVersion::V5 {
        connect.properties.session_expiry_interval = Some(3600);
    }
    connect
}

impl MqttClient {
    /// Connects to skein on `port` with `connect`; the client and the CONNACK, which must
    /// accept it.
    pub(crate) async fn connect_with(port: u16, connect: Connect) -> (MqttClient, ConnAck) {
        let (client, ack) = MqttClient::open(port, connect).await;
        assert_eq!(ack.code, ReasonCode::Success, "CONNACK {ack:?}");
        (client, ack)
    }

    /// Sends `connect` to skein on `port`; the CONNACK, whatever its code.
    pub(crate) async fn connack(port: u16, connect: Connect) -> ConnAck {
        MqttClient::open(port, connect).await.1
    }

    /// Sends `connect` to skein on `port`; the client and the CONNACK it got.
    async fn open(port: u16, connect: Connect) -> (MqttClient, ConnAck) {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connecting to skein");
        let version = connect.protocol;
        let mut client = MqttClient {
            stream,
            version,
            decoder: Decoder::with_version(version),
            buf: BytesMut::new(),
        };
        client.send(Packet::Connect(Box::new(connect))).await;
        match client.recv().await {
            Some(Packet::ConnAck(ack)) => (client, *ack),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Connects with [`connect_packet`].
    pub(crate) async fn connect(
        port: u16,
        version: ProtocolVersion,
        client_id: &str,
        clean: bool,
    ) -> (MqttClient, ConnAck) {
        MqttClient::connect_with(port, connect_packet(version, client_id, clean)).await
    }

    /// Sends `packet`.
    pub(crate) async fn send(&mut self, packet: Packet) {
        let mut out = BytesMut::new();
        packet.encode(self.version, &mut out).expect("encoding");
        self.stream.write_all(&out).await.expect("writing to skein");
    }

    /// The next packet within `wait`: `Err` when nothing came, `Ok(None)` once closed.
    pub(crate) async fn recv_within(&mut self, wait: Duration) -> Result<Option<Packet>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(packet) = self.decoder.decode(&mut self.buf).expect("a valid packet") {
                return Ok(Some(packet));
            }
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Err(_) => return Err(()),
                Ok(Ok(0) | Err(_)) => return Ok(None),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// The next packet; `None` once closed. Panics after the wait.
    pub(crate) async fn recv(&mut self) -> Option<Packet> {
        self.recv_within(WAIT).await.expect("no packet in time")
    }

    /// What the broker sends until it closes the connection.
    pub(crate) async fn until_closed(&mut self) -> Vec<Packet> {
        let mut packets = Vec::new();
        while let Some(packet) = self.recv().await {
            packets.push(packet);
        }
        packets
    }

    /// Subscribes to `filter` at `qos` and waits for the SUBACK.
    pub(crate) async fn subscribe(&mut self, filter: &str, qos: QoS) {
        let subscribe = Subscribe {
            packet_id: PacketId::new(1).expect("packet id"),
            subscriptions: vec![Subscription {
                filter: TopicFilter::new(filter).expect("filter"),
                options: SubscriptionOptions::qos(qos),
            }],
            properties: SubscribeProperties::default(),
        };
        self.send(Packet::Subscribe(subscribe)).await;
        match self.recv().await {
            Some(Packet::SubAck(_)) => {}
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// The next PUBLISH, acknowledged at QoS 1.
    pub(crate) async fn recv_publish(&mut self) -> Publish {
        match self.recv().await {
            Some(Packet::Publish(publish)) => {
                if let QosPid::AtLeastOnce(id) = publish.qos_pid {
                    self.send(Packet::PubAck(Ack::new(id))).await;
                }
                publish
            }
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }

    /// Asserts that nothing comes for a moment.
    pub(crate) async fn expect_nothing(&mut self) {
        if let Ok(packet) = self.recv_within(Duration::from_millis(500)).await {
            panic!("expected nothing, got {packet:?}");
        }
    }
}
