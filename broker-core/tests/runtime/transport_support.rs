//! What the TLS and WebSocket tests share: a test PKI made with rcgen into a temporary
//! directory, a broker with named listeners, and an MQTT client (our own codec) over a raw
//! stream (TCP or TLS) or over WebSocket frames (ws or wss). Every wait is bounded.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use broker_core::codec::{
    Ack, ConnAck, Connect, Decoder, Packet, Publish, QosPid, SubAck, Subscribe,
    SubscribeProperties, Subscription, SubscriptionOptions,
};
use broker_core::config::{BrokerConfig, ListenerConfig, TlsConfig};
use broker_core::types::{ClientId, PacketId, ProtocolVersion, QoS, TopicFilter, TopicName};
use broker_core::{Broker, BrokerError};
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt as _, StreamExt as _};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Response};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long any single wait of a test may take.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// A certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

/// A certificate authority and certificates it signed, in a temporary directory.
pub(crate) struct Pki {
    pub(crate) dir: tempfile::TempDir,
    ca_params: CertificateParams,
    ca_key: KeyPair,
    /// The CA certificate, PEM.
    pub(crate) ca: PathBuf,
    /// The server's certificate (DNS name `localhost`, IP 127.0.0.1) and key.
    pub(crate) server: Pair,
}

impl Pki {
    /// A new CA named `name` and a server certificate it signed.
    pub(crate) fn new(name: &str) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} CA"));
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.clone().self_signed(&ca_key).unwrap();
        let ca = dir.path().join(format!("{name}-ca.pem"));
        std::fs::write(&ca, ca_cert.pem()).unwrap();
        let mut pki = Pki {
            dir,
            ca_params,
            ca_key,
            ca,
            server: Pair {
                cert: PathBuf::new(),
                key: PathBuf::new(),
            },
        };
        pki.server = pki.issue("server", "localhost", ExtendedKeyUsagePurpose::ServerAuth);
        pki
    }

    /// A client certificate with subject CN `cn`.
    pub(crate) fn client(&self, cn: &str) -> Pair {
        self.issue(cn, cn, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, file: &str, cn: &str, usage: ExtendedKeyUsagePurpose) -> Pair {
        let ca = self.ca_params.clone().self_signed(&self.ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &ca, &self.ca_key).unwrap();
        let pair = Pair {
            cert: self.dir.path().join(format!("{file}.pem")),
            key: self.dir.path().join(format!("{file}.key")),
        };
        std::fs::write(&pair.cert, cert.pem()).unwrap();
        std::fs::write(&pair.key, key.serialize_pem()).unwrap();
        pair
    }

    /// The server side: this PKI's server certificate, no client certificates.
    pub(crate) fn tls(&self) -> TlsConfig {
        TlsConfig::new(&self.server.cert, &self.server.key)
    }

    /// A client TLS configuration trusting this CA, presenting `client` if given, speaking
    /// only `versions` (both when empty).
    pub(crate) fn connector(
        &self,
        client: Option<&Pair>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(&self.ca).unwrap())
            .unwrap();
        let versions = if versions.is_empty() {
            &[&rustls::version::TLS13, &rustls::version::TLS12][..]
        } else {
            versions
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots);
        let config = match client {
            None => builder.with_no_client_auth(),
            Some(pair) => {
                let chain = CertificateDer::pem_file_iter(&pair.cert)
                    .unwrap()
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap();
                let key = PrivateKeyDer::from_pem_file(&pair.key).unwrap();
                builder.with_client_auth_cert(chain, key).unwrap()
            }
        };
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}

/// A broker with `listeners` (bound to 127.0.0.1 port 0) and `connect_timeout`; returns it
/// and each listener's address, in order.
pub(crate) async fn start(listeners: Vec<ListenerConfig>) -> (Broker, Vec<SocketAddr>) {
    start_with(listeners, Duration::from_secs(10)).await
}

/// [`start`] with a connect timeout (which also bounds TLS and WebSocket handshakes).
pub(crate) async fn start_with(
    listeners: Vec<ListenerConfig>,
    connect_timeout: Duration,
) -> (Broker, Vec<SocketAddr>) {
    let mut config = BrokerConfig::default().with_listeners(listeners);
    config.session.connect_timeout = connect_timeout;
    let broker = timeout(WAIT, Broker::builder().config(config).start())
        .await
        .expect("start timed out")
        .expect("broker starts");
    let addrs = broker.local_addrs().into_iter().map(|(_, a)| a).collect();
    (broker, addrs)
}

/// Why a broker with `listener` alone does not start.
pub(crate) async fn refused(listener: ListenerConfig) -> BrokerError {
    Broker::builder()
        .no_listeners()
        .listener(listener)
        .start()
        .await
        .expect_err("the broker started")
}

/// 127.0.0.1 port 0.
pub(crate) fn any_port() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// Something a client can read and write bytes on: TCP or TLS.
pub(crate) trait RawIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> RawIo for T {}

/// A TCP connection.
pub(crate) async fn tcp(addr: SocketAddr) -> Box<dyn RawIo> {
    Box::new(
        timeout(WAIT, TcpStream::connect(addr))
            .await
            .unwrap()
            .unwrap(),
    )
}

/// A TLS connection to `addr` (server name `localhost`); the handshake's error if it fails.
pub(crate) async fn tls(
    addr: SocketAddr,
    connector: &tokio_rustls::TlsConnector,
) -> std::io::Result<Box<dyn RawIo>> {
    let tcp = timeout(WAIT, TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let stream = timeout(WAIT, connector.connect(name, tcp))
        .await
        .expect("TLS handshake timed out")?;
    Ok(Box::new(stream))
}

/// A WebSocket upgrade on `io` for `path`, offering `subprotocols` (none when empty).
pub(crate) async fn websocket(
    io: Box<dyn RawIo>,
    path: &str,
    subprotocols: &str,
) -> Result<
    (WebSocketStream<Box<dyn RawIo>>, Response<Option<Vec<u8>>>),
    tokio_tungstenite::tungstenite::Error,
> {
    let mut request = format!("ws://localhost{path}")
        .into_client_request()
        .unwrap();
    if !subprotocols.is_empty() {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(subprotocols).unwrap(),
        );
    }
    timeout(WAIT, tokio_tungstenite::client_async(request, io))
        .await
        .expect("WebSocket handshake timed out")
}

/// How a client's bytes travel.
pub(crate) enum Wire {
    /// Straight on TCP or TLS.
    Raw(Box<dyn RawIo>),
    /// In binary WebSocket frames.
    Ws(Box<WebSocketStream<Box<dyn RawIo>>>),
}

/// An MQTT client over a [`Wire`].
pub(crate) struct WireClient {
    pub(crate) wire: Wire,
    decoder: Decoder,
    buf: BytesMut,
    pub(crate) version: ProtocolVersion,
}

impl WireClient {
    /// A client on a raw stream.
    pub(crate) fn raw(io: Box<dyn RawIo>, version: ProtocolVersion) -> WireClient {
        WireClient::new(Wire::Raw(io), version)
    }

    /// A client over WebSocket.
    pub(crate) fn ws(ws: WebSocketStream<Box<dyn RawIo>>, version: ProtocolVersion) -> WireClient {
        WireClient::new(Wire::Ws(Box::new(ws)), version)
    }

    fn new(wire: Wire, version: ProtocolVersion) -> WireClient {
        WireClient {
            wire,
            decoder: Decoder::with_version(version),
            buf: BytesMut::new(),
            version,
        }
    }

    /// Sends `bytes` as they are: one write, or one binary frame.
    pub(crate) async fn send_bytes(&mut self, bytes: Bytes) {
        let sent = match &mut self.wire {
            Wire::Raw(io) => timeout(WAIT, io.write_all(&bytes)).await.unwrap(),
            Wire::Ws(ws) => timeout(WAIT, ws.send(Message::Binary(bytes)))
                .await
                .unwrap()
                .map_err(std::io::Error::other),
        };
        sent.expect("write");
    }

    /// The bytes of `packet`.
    pub(crate) fn encode(&self, packet: Packet) -> Bytes {
        let mut out = BytesMut::new();
        packet.encode(self.version, &mut out).expect("encodes");
        out.freeze()
    }

    pub(crate) async fn send(&mut self, packet: Packet) {
        let bytes = self.encode(packet);
        self.send_bytes(bytes).await;
    }

    /// The next packet within `wait`: `Err` on timeout, `Ok(None)` when the connection
    /// closed (or failed: a TLS alert, a WebSocket close).
    pub(crate) async fn recv_within(&mut self, wait: Duration) -> Result<Option<Packet>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(packet) = self.decoder.decode(&mut self.buf).expect("a valid packet") {
                return Ok(Some(packet));
            }
            let more = match &mut self.wire {
                Wire::Raw(io) => {
                    match tokio::time::timeout_at(deadline, io.read_buf(&mut self.buf)).await {
                        Err(_) => return Err(()),
                        Ok(Ok(0) | Err(_)) => false,
                        Ok(Ok(_)) => true,
                    }
                }
                Wire::Ws(ws) => match tokio::time::timeout_at(deadline, ws.next()).await {
                    Err(_) => return Err(()),
                    Ok(Some(Ok(Message::Binary(bytes)))) => {
                        self.buf.extend_from_slice(&bytes);
                        true
                    }
                    Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => true,
                    Ok(_) => false,
                },
            };
            if !more {
                return Ok(None);
            }
        }
    }

    /// The next packet; `None` when the connection closed. Panics after [`WAIT`].
    pub(crate) async fn recv(&mut self) -> Option<Packet> {
        self.recv_within(WAIT).await.expect("no packet in time")
    }

    /// Sends CONNECT for `id`; returns the CONNACK, or `None` if the connection closed.
    pub(crate) async fn connect(&mut self, id: &str) -> Option<ConnAck> {
        let mut connect = Connect::new(self.version, ClientId::new(id).unwrap());
        connect.clean_start = true;
        self.connect_with(connect).await
    }

    /// Sends `connect`; returns the CONNACK, or `None` if the connection closed.
    pub(crate) async fn connect_with(&mut self, connect: Connect) -> Option<ConnAck> {
        self.send(Packet::Connect(Box::new(connect))).await;
        match self.recv().await {
            Some(Packet::ConnAck(ack)) => Some(*ack),
            None => None,
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Subscribes to `f`; returns the SUBACK.
    pub(crate) async fn subscribe(&mut self, id: u16, f: &str, qos: QoS) -> SubAck {
        let subscribe = Subscribe {
            packet_id: PacketId::new(id).unwrap(),
            subscriptions: vec![Subscription {
                filter: TopicFilter::new(f).unwrap(),
                options: SubscriptionOptions::qos(qos),
            }],
            properties: SubscribeProperties::default(),
        };
        self.send(Packet::Subscribe(subscribe)).await;
        match self.recv().await {
            Some(Packet::SubAck(ack)) => ack,
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// Publishes at QoS 1 and waits for the PUBACK.
    pub(crate) async fn publish_qos1(&mut self, t: &str, payload: Bytes, id: u16) {
        let mut publish = Publish::new(TopicName::new(t).unwrap(), payload);
        publish.qos_pid = QosPid::AtLeastOnce(PacketId::new(id).unwrap());
        self.send(Packet::Publish(publish)).await;
        match self.recv().await {
            Some(Packet::PubAck(ack)) => assert_eq!(ack.packet_id.get(), id),
            other => panic!("expected PUBACK, got {other:?}"),
        }
    }

    /// The next PUBLISH, acknowledged if QoS 1.
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

    /// Whether the broker closes the connection within [`WAIT`] (after what it sends).
    pub(crate) async fn closed(&mut self) -> bool {
        loop {
            match self.recv_within(WAIT).await {
                Ok(None) => return true,
                Ok(Some(_)) => {}
                Err(()) => return false,
            }
        }
    }
}
