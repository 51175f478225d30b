//! A tiny MQTT test client built from our own codec, and a broker on 127.0.0.1 port 0.
//! Every wait is bounded.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use broker_core::codec::{
    Ack, Auth, AuthProperties, ConnAck, Connect, Decoder, Disconnect, Packet, Publish, QosPid,
    SubAck, Subscribe, SubscribeProperties, Subscription, SubscriptionOptions,
};
use broker_core::config::{BrokerConfig, ListenerConfig};
use broker_core::types::{
    ClientId, MqttString, PacketId, ProtocolVersion, QoS, ReasonCode, TopicFilter, TopicName,
};
use broker_core::Broker;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::log_capture::LogCapture;

/// How long any single wait of a test may take.
pub(crate) const WAIT: Duration = Duration::from_secs(5);
/// How long a test waits to be sure nothing arrives.
pub(crate) const QUIET: Duration = Duration::from_millis(300);

pub(crate) const V311: ProtocolVersion = ProtocolVersion::V3_1_1;
pub(crate) const V5: ProtocolVersion = ProtocolVersion::V5;

/// Installs the binary's log subscriber: logs to the test's output when `RUST_LOG` is set.
pub(crate) fn init_logging() {
    LogCapture::global();
}

/// A configuration with one listener on 127.0.0.1, port 0.
pub(crate) fn config() -> BrokerConfig {
    BrokerConfig::default().with_listeners(vec![ListenerConfig::tcp(
        "test",
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )])
}

/// A broker with `config`, and its listener's address.
pub(crate) async fn start_with(config: BrokerConfig) -> (Broker, SocketAddr) {
    init_logging();
    let broker = timeout(WAIT, Broker::builder().config(config).start())
        .await
        .expect("start timed out")
        .expect("broker starts");
    let addr = broker.local_addrs()[0].1;
    (broker, addr)
}

/// A broker with the test configuration.
pub(crate) async fn start() -> (Broker, SocketAddr) {
    start_with(config()).await
}

/// A broker from `builder` (which sets the configuration and the hooks), and its first
/// listener's address.
pub(crate) async fn start_built(builder: broker_core::BrokerBuilder) -> (Broker, SocketAddr) {
    init_logging();
    let broker = timeout(WAIT, builder.start())
        .await
        .expect("start timed out")
        .expect("broker starts");
    let addr = broker.local_addrs()[0].1;
    (broker, addr)
}

pub(crate) fn topic(s: &str) -> TopicName {
    TopicName::new(s).unwrap()
}

pub(crate) fn filter(s: &str) -> TopicFilter {
    TopicFilter::new(s).unwrap()
}

pub(crate) fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

/// A CONNECT for `client_id`.
pub(crate) fn connect_packet(version: ProtocolVersion, client_id: &str, clean: bool) -> Connect {
    let mut connect = Connect::new(version, ClientId::new(client_id).unwrap());
    connect.clean_start = clean;
    connect
}

/// One client connection.
pub(crate) struct Client {
    stream: TcpStream,
    decoder: Decoder,
    buf: BytesMut,
    pending: std::collections::VecDeque<Packet>,
    pub(crate) version: ProtocolVersion,
}

impl Client {
    /// Opens a TCP connection (no CONNECT yet).
    pub(crate) async fn open(addr: SocketAddr, version: ProtocolVersion) -> Client {
        let stream = timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("TCP connect");
        Client {
            stream,
            decoder: Decoder::with_version(version),
            buf: BytesMut::new(),
            pending: std::collections::VecDeque::new(),
            version,
        }
    }

    /// Opens a connection and sends `connect`; returns the client and the CONNACK.
    pub(crate) async fn connect_with(addr: SocketAddr, connect: Connect) -> (Client, ConnAck) {
        let mut client = Client::open(addr, connect.protocol).await;
        client.send(Packet::Connect(Box::new(connect))).await;
        match client.recv().await {
            Some(Packet::ConnAck(ack)) => (client, *ack),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Connects with a default CONNECT; asserts CONNACK success.
    pub(crate) async fn connect(
        addr: SocketAddr,
        version: ProtocolVersion,
        id: &str,
        clean: bool,
    ) -> (Client, ConnAck) {
        let (client, ack) = Client::connect_with(addr, connect_packet(version, id, clean)).await;
        assert_eq!(ack.code, ReasonCode::Success, "CONNACK for {id}");
        (client, ack)
    }

    pub(crate) async fn send(&mut self, packet: Packet) {
        let mut out = BytesMut::new();
        packet.encode(self.version, &mut out).expect("encodes");
        timeout(WAIT, self.stream.write_all(&out))
            .await
            .expect("write timed out")
            .expect("write");
    }

    /// The next packet, or `None` when the broker closed the connection. Panics after
    /// [`WAIT`].
    pub(crate) async fn recv(&mut self) -> Option<Packet> {
        self.recv_within(WAIT).await.expect("no packet in time")
    }

    /// The next packet within `wait`: `Err` on timeout, `Ok(None)` on close.
    pub(crate) async fn recv_within(&mut self, wait: Duration) -> Result<Option<Packet>, ()> {
        if let Some(packet) = self.pending.pop_front() {
            return Ok(Some(packet));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(packet) = self
                .decoder
                .decode(&mut self.buf)
                .expect("broker sent a valid packet")
            {
                return Ok(Some(packet));
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await;
            match read {
                Err(_) => return Err(()),
                Ok(Ok(0)) | Ok(Err(_)) => return Ok(None),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// The next packet from the socket, skipping the ones kept for later.
    async fn recv_fresh(&mut self) -> Option<Packet> {
        let kept = std::mem::take(&mut self.pending);
        let packet = self.recv().await;
        let mut kept = kept;
        kept.extend(std::mem::take(&mut self.pending));
        self.pending = kept;
        packet
    }

    /// Asserts that nothing arrives for [`QUIET`].
    pub(crate) async fn expect_nothing(&mut self) {
        if let Ok(packet) = self.recv_within(QUIET).await {
            panic!("expected nothing, got {packet:?}");
        }
    }

    /// Reads until the broker closes the connection; returns what came before.
    pub(crate) async fn until_closed(&mut self) -> Vec<Packet> {
        let mut packets = Vec::new();
        while let Some(packet) = self.recv().await {
            packets.push(packet);
        }
        packets
    }

    /// The next PUBLISH, acknowledging it as its QoS asks (PUBACK, or PUBREC/PUBREL/PUBCOMP).
    pub(crate) async fn recv_publish(&mut self) -> Publish {
        loop {
            match self.recv().await {
                Some(Packet::Publish(publish)) => {
                    match publish.qos_pid {
                        QosPid::AtMostOnce => {}
                        QosPid::AtLeastOnce(id) => self.send(Packet::PubAck(Ack::new(id))).await,
                        QosPid::ExactlyOnce(id) => {
                            self.send(Packet::PubRec(Ack::new(id))).await;
                            // Other packets may come first: keep them for later.
                            let mut stash = Vec::new();
                            loop {
                                match self.recv_fresh().await {
                                    Some(Packet::PubRel(rel)) if rel.packet_id == id => break,
                                    Some(other) => stash.push(other),
                                    None => panic!("closed while waiting for PUBREL"),
                                }
                            }
                            self.pending.extend(stash);
                            self.send(Packet::PubComp(Ack::new(id))).await;
                        }
                    }
                    return publish;
                }
                Some(Packet::PingResp) => {}
                other => panic!("expected PUBLISH, got {other:?}"),
            }
        }
    }

    /// Subscribes to one filter; returns the SUBACK.
    pub(crate) async fn subscribe(&mut self, id: u16, f: &str, qos: QoS) -> SubAck {
        self.subscribe_with(id, f, SubscriptionOptions::qos(qos))
            .await
    }

    pub(crate) async fn subscribe_with(
        &mut self,
        id: u16,
        f: &str,
        options: SubscriptionOptions,
    ) -> SubAck {
        let subscribe = Subscribe {
            packet_id: pid(id),
            subscriptions: vec![Subscription {
                filter: filter(f),
                options,
            }],
            properties: SubscribeProperties::default(),
        };
        self.send(Packet::Subscribe(subscribe)).await;
        match self.recv().await {
            Some(Packet::SubAck(ack)) => {
                assert_eq!(ack.packet_id, pid(id));
                ack
            }
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// Publishes and completes the QoS exchange as the publisher.
    pub(crate) async fn publish(
        &mut self,
        t: &str,
        payload: &'static str,
        qos: QoS,
        retain: bool,
        id: u16,
    ) {
        let mut publish = Publish::new(topic(t), payload.into());
        publish.retain = retain;
        publish.qos_pid = match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(pid(id)),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(pid(id)),
        };
        self.send(Packet::Publish(publish)).await;
        match qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => match self.recv().await {
                Some(Packet::PubAck(ack)) => assert_eq!(ack.packet_id, pid(id)),
                other => panic!("expected PUBACK, got {other:?}"),
            },
            QoS::ExactlyOnce => {
                match self.recv().await {
                    Some(Packet::PubRec(ack)) => assert_eq!(ack.packet_id, pid(id)),
                    other => panic!("expected PUBREC, got {other:?}"),
                }
                self.send(Packet::PubRel(Ack::new(pid(id)))).await;
                match self.recv().await {
                    Some(Packet::PubComp(ack)) => assert_eq!(ack.packet_id, pid(id)),
                    other => panic!("expected PUBCOMP, got {other:?}"),
                }
            }
        }
    }

    /// Sends DISCONNECT (normal) and waits for the close.
    pub(crate) async fn disconnect(mut self) {
        self.send(Packet::Disconnect(Disconnect::new(ReasonCode::Success)))
            .await;
        let rest = self.until_closed().await;
        assert!(rest.is_empty(), "after DISCONNECT: {rest:?}");
    }

    /// Round trip a PINGREQ, to be sure everything sent before was handled.
    pub(crate) async fn ping(&mut self) {
        self.send(Packet::PingReq).await;
        match self.recv().await {
            Some(Packet::PingResp) => {}
            other => panic!("expected PINGRESP, got {other:?}"),
        }
    }
}

impl Client {
    /// The next packet, which must be a CONNACK.
    pub(crate) async fn expect_connack(&mut self) -> ConnAck {
        match self.recv().await {
            Some(Packet::ConnAck(ack)) => *ack,
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Sends an AUTH (MQTT 5) with `code`, `method` and `data`.
    pub(crate) async fn send_auth(&mut self, code: ReasonCode, method: &str, data: &[u8]) {
        let properties = AuthProperties {
            authentication_method: Some(MqttString::new(method).unwrap()),
            authentication_data: Some(Bytes::copy_from_slice(data)),
            ..AuthProperties::default()
        };
        self.send(Packet::Auth(Auth { code, properties })).await;
    }

    /// The next packet, which must be an AUTH.
    pub(crate) async fn expect_auth(&mut self) -> Auth {
        match self.recv().await {
            Some(Packet::Auth(auth)) => auth,
            other => panic!("expected AUTH, got {other:?}"),
        }
    }

    /// The next packet, which must be a DISCONNECT; then the connection must close.
    pub(crate) async fn expect_disconnect(&mut self) -> Disconnect {
        let disconnect = match self.recv().await {
            Some(Packet::Disconnect(disconnect)) => disconnect,
            other => panic!("expected DISCONNECT, got {other:?}"),
        };
        let rest = self.until_closed().await;
        assert!(rest.is_empty(), "after DISCONNECT: {rest:?}");
        disconnect
    }

    /// Publishes at QoS 1 or 2 and returns the PUBACK or PUBREC (the QoS 2 exchange is
    /// not completed).
    pub(crate) async fn publish_for_ack(&mut self, t: &str, qos: QoS, id: u16) -> Ack {
        let mut publish = Publish::new(topic(t), "x".into());
        publish.qos_pid = match qos {
            QoS::AtMostOnce => panic!("QoS 0 has no acknowledgement"),
            QoS::AtLeastOnce => QosPid::AtLeastOnce(pid(id)),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(pid(id)),
        };
        self.send(Packet::Publish(publish)).await;
        match (qos, self.recv().await) {
            (QoS::AtLeastOnce, Some(Packet::PubAck(ack)))
            | (QoS::ExactlyOnce, Some(Packet::PubRec(ack))) => {
                assert_eq!(ack.packet_id, pid(id));
                ack
            }
            (_, other) => panic!("expected the acknowledgement of {t}, got {other:?}"),
        }
    }

    /// The socket, to send bytes the codec would refuse to encode.
    pub(crate) fn raw(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}
