//! Streams handed over with `BrokerHandle::serve_stream` on stream listeners that ask for
//! TLS, WebSocket (plain and secure) or the PROXY header: the broker does the same
//! handshakes on them as on a TCP connection it accepted, then serves MQTT (CONNECT,
//! SUBSCRIBE, PUBLISH delivered back). The TLS listener's certificate is rotated with
//! `reload_tls` as a TCP listener's is, and a client certificate is verified and names the
//! user. Every stream is an in-memory pipe
//! (`tokio::io::duplex`).

use std::net::SocketAddr;

use broker_core::codec::Packet;
use broker_core::config::ListenerConfig;
use broker_core::types::{ClientId, QoS, ReasonCode};
use broker_core::{Broker, BrokerHandle};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::time::timeout;

use crate::support::{config, init_logging, V311, V5, WAIT};
use crate::transport_support::{any_port, websocket, Pki, RawIo, WireClient};

/// A broker with the test's TCP listener and the stream listeners `streams`.
async fn start(streams: Vec<ListenerConfig>) -> Broker {
    init_logging();
    let builder = streams
        .into_iter()
        .fold(Broker::builder().config(config()), |builder, listener| {
            builder.stream_listener(listener)
        });
    timeout(WAIT, builder.start()).await.unwrap().unwrap()
}

/// Hands a new in-memory pipe to the stream listener `listener`; the client's end.
fn serve(handle: &BrokerHandle, listener: &str, peer: Option<SocketAddr>) -> DuplexStream {
    let (client_end, broker_end) = tokio::io::duplex(64 * 1024);
    handle.serve_stream(listener, broker_end, peer).unwrap();
    client_end
}

/// The TLS client's side of a handshake on `io` (server name `localhost`).
async fn tls_client(
    io: DuplexStream,
    connector: &tokio_rustls::TlsConnector,
) -> std::io::Result<Box<dyn RawIo>> {
    let name = ServerName::try_from("localhost").unwrap();
    let stream = timeout(WAIT, connector.connect(name, io)).await.unwrap()?;
    Ok(Box::new(stream))
}

/// Connects as `id`, subscribes to `topic`, publishes to it at QoS 1 and gets the message
/// back: MQTT works end to end on `client`'s wire.
async fn round_trip(client: &mut WireClient, id: &str, topic: &str) {
    let ack = client.connect(id).await.expect("CONNACK");
    assert_eq!(ack.code, ReasonCode::Success);
    let suback = client.subscribe(1, topic, QoS::AtLeastOnce).await;
    assert_eq!(suback.codes, [ReasonCode::GrantedQoS1]);
    client.publish_qos1(topic, "there and back".into(), 2).await;
    let publish = client.recv_publish().await;
    assert_eq!(publish.topic.as_ref().map(|t| t.as_str()), Some(topic));
    assert_eq!(&publish.payload[..], b"there and back");
}

/// A stream on a TLS stream listener gets the TLS handshake, then MQTT inside it; after the
/// certificate files are replaced and `reload_tls` runs, new streams get the new
/// certificate (a client trusting only the old CA fails), as on a TCP listener.
#[tokio::test]
async fn a_served_stream_on_a_tls_listener_gets_the_handshake_and_reloaded_certificates() {
    let first = Pki::new("served-first");
    let second = Pki::new("served-second");
    let files = tempfile::tempdir().unwrap();
    let (cert, key) = (files.path().join("cert.pem"), files.path().join("key.pem"));
    std::fs::copy(&first.server.cert, &cert).unwrap();
    std::fs::copy(&first.server.key, &key).unwrap();
    let tls = broker_core::config::TlsConfig::new(&cert, &key);
    let broker = start(vec![ListenerConfig::tls("pipe-tls", any_port(), tls)]).await;
    let handle = broker.handle();

    let io = tls_client(
        serve(&handle, "pipe-tls", None),
        &first.connector(None, &[]),
    )
    .await
    .expect("TLS handshake");
    let mut client = WireClient::raw(io, V5);
    round_trip(&mut client, "served-tls", "served/tls").await;

    std::fs::copy(&second.server.cert, &cert).unwrap();
    std::fs::copy(&second.server.key, &key).unwrap();
    let reloaded = handle.reload_tls();
    assert!(
        matches!(&reloaded[..], [(name, Ok(()))] if name == "pipe-tls"),
        "{reloaded:?}"
    );
    let stale = tls_client(
        serve(&handle, "pipe-tls", None),
        &first.connector(None, &[]),
    )
    .await;
    assert!(stale.is_err(), "the old certificate is still served");
    let io = tls_client(
        serve(&handle, "pipe-tls", None),
        &second.connector(None, &[]),
    )
    .await
    .expect("TLS handshake with the new certificate");
    let mut renewed = WireClient::raw(io, V311);
    round_trip(&mut renewed, "served-tls-2", "served/tls2").await;
    // The first client stayed connected through the reload.
    client.send(Packet::PingReq).await;
    assert_eq!(client.recv().await, Some(Packet::PingResp));
    broker.shutdown().await;
}

/// A served TLS stream's client certificate is verified and seen as a TCP connection's is:
/// with `use_identity_as_username` its CN is the client's user name; a client without a
/// certificate fails the handshake where one is required.
#[tokio::test]
async fn a_served_tls_streams_client_certificate_is_its_identity() {
    let pki = Pki::new("served-mtls");
    let tls = pki
        .tls()
        .client_ca(&pki.ca, true)
        .use_identity_as_username(true);
    let broker = start(vec![ListenerConfig::tls("pipe-mtls", any_port(), tls)]).await;
    let handle = broker.handle();

    let alice = pki.client("alice");
    let connector = pki.connector(Some(&alice), &[]);
    let io = tls_client(serve(&handle, "pipe-mtls", None), &connector)
        .await
        .expect("TLS handshake with a certificate");
    let mut client = WireClient::raw(io, V5);
    round_trip(&mut client, "served-mtls", "served/mtls").await;
    let details = handle
        .client(&ClientId::new("served-mtls").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        details.summary.username.as_ref().map(|name| name.as_str()),
        Some("alice")
    );

    // TLS 1.3 reports the missing certificate at the client's first read, not in its
    // handshake: that read gets the alert or the end of the stream, never a byte.
    let anonymous = pki.connector(None, &[]);
    if let Ok(mut io) = tls_client(serve(&handle, "pipe-mtls", None), &anonymous).await {
        let mut byte = [0u8; 1];
        let read = timeout(WAIT, io.read(&mut byte)).await.unwrap();
        assert!(!matches!(read, Ok(n) if n > 0), "{read:?}");
    }
    broker.shutdown().await;
}

/// Streams on WebSocket stream listeners get the HTTP upgrade (`mqtt` subprotocol), over
/// the stream itself (ws) or inside TLS (wss), then MQTT in binary frames; a request for
/// another path is answered 404.
#[tokio::test]
async fn served_streams_on_websocket_listeners_get_the_upgrade_plain_and_over_tls() {
    let pki = Pki::new("served-wss");
    let broker = start(vec![
        ListenerConfig::websocket("pipe-ws", any_port()),
        ListenerConfig::websocket("pipe-wss", any_port()).with_tls(pki.tls()),
    ])
    .await;
    let handle = broker.handle();

    let io: Box<dyn RawIo> = Box::new(serve(&handle, "pipe-ws", None));
    let (ws, response) = websocket(io, "/mqtt", "mqtt").await.expect("upgrade");
    assert_eq!(
        response.headers().get("Sec-WebSocket-Protocol").unwrap(),
        "mqtt"
    );
    round_trip(&mut WireClient::ws(ws, V5), "served-ws", "served/ws").await;

    let io = tls_client(serve(&handle, "pipe-wss", None), &pki.connector(None, &[]))
        .await
        .expect("TLS handshake");
    let (wss, _) = websocket(io, "/mqtt", "mqtt")
        .await
        .expect("upgrade over TLS");
    round_trip(&mut WireClient::ws(wss, V311), "served-wss", "served/wss").await;

    let io: Box<dyn RawIo> = Box::new(serve(&handle, "pipe-ws", None));
    match websocket(io, "/elsewhere", "mqtt").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404);
        }
        other => panic!("expected HTTP 404, got {:?}", other.map(|r| r.1)),
    }
    broker.shutdown().await;
}

/// A stream on a stream listener with `proxy_protocol` starts with a PROXY header (version
/// 1 or 2, as HAProxy sends it): the client's address in it replaces the one given to
/// `serve_stream` (or stands where none was); a stream without a header is closed.
#[tokio::test]
async fn a_served_stream_behind_a_proxy_is_the_client_its_proxy_header_names() {
    let proxied = ListenerConfig::tcp("pipe-proxy", any_port()).with_proxy_protocol();
    let broker = start(vec![proxied]).await;
    let handle = broker.handle();
    let balancer = SocketAddr::from(([127, 0, 0, 1], 40000));

    // Version 1, the text header, on a stream served with the balancer's address.
    let mut io = serve(&handle, "pipe-proxy", Some(balancer));
    io.write_all(b"PROXY TCP4 192.0.2.7 127.0.0.1 50007 1883\r\n")
        .await
        .unwrap();
    let mut v1 = WireClient::raw(Box::new(io), V5);
    round_trip(&mut v1, "proxied-v1", "served/proxy1").await;

    // Version 2, the binary header (PROXY command, TCP over IPv4), on a stream served
    // without an address.
    let mut header = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    header.extend_from_slice(&[198, 51, 100, 9, 127, 0, 0, 1]);
    header.extend_from_slice(&50009u16.to_be_bytes());
    header.extend_from_slice(&1883u16.to_be_bytes());
    let mut io = serve(&handle, "pipe-proxy", None);
    io.write_all(&header).await.unwrap();
    let mut v2 = WireClient::raw(Box::new(io), V311);
    round_trip(&mut v2, "proxied-v2", "served/proxy2").await;

    for (id, addr) in [
        ("proxied-v1", "192.0.2.7:50007"),
        ("proxied-v2", "198.51.100.9:50009"),
    ] {
        let details = handle
            .client(&ClientId::new(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(details.summary.remote_addr, Some(addr.parse().unwrap()));
    }

    // No header: the CONNECT's bytes are no PROXY header, and the stream is closed.
    let mut bare = WireClient::raw(Box::new(serve(&handle, "pipe-proxy", Some(balancer))), V5);
    assert!(bare.connect("no-header").await.is_none());
    broker.shutdown().await;
}
