//! WebSocket listeners over real sockets (MQTT 5.0 §6): the upgrade with the `mqtt`
//! subprotocol, refusals for another path or subprotocol, packets and frames that do not line
//! up, text frames, and one publish delivered across TCP, TLS, WebSocket and secure
//! WebSocket clients.

use broker_core::codec::Packet;
use broker_core::config::{ListenerConfig, Transport};
use broker_core::types::{ProtocolVersion, QoS, ReasonCode};
use bytes::Bytes;
use futures_util::SinkExt as _;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::log_capture::LogCapture;
use crate::transport_support;
use crate::transport_support::{any_port, start, tcp, tls, websocket, Pki, WireClient};

const V311: ProtocolVersion = ProtocolVersion::V3_1_1;
const V5: ProtocolVersion = ProtocolVersion::V5;

/// The server selects `mqtt` [MQTT-6.0.0-4] from what the client offers [MQTT-6.0.0-3], and
/// `mqttv3.1` for the clients that ask for that only.
#[tokio::test]
async fn the_upgrade_selects_the_mqtt_subprotocol_mqtt_6_0_0_4() {
    let (broker, addrs) = start(vec![ListenerConfig::websocket("ws", any_port())]).await;
    for (offered, selected, version) in [
        ("mqtt", "mqtt", V311),
        ("wamp, mqtt", "mqtt", V5),
        ("mqttv3.1", "mqttv3.1", V311),
    ] {
        let (ws, response) = websocket(tcp(addrs[0]).await, "/mqtt", offered)
            .await
            .unwrap_or_else(|e| panic!("upgrade offering {offered:?}: {e}"));
        assert_eq!(
            response.headers().get("Sec-WebSocket-Protocol").unwrap(),
            selected
        );
        let mut client = WireClient::ws(ws, version);
        let ack = client.connect("ws-client").await.expect("CONNACK");
        assert_eq!(ack.code, ReasonCode::Success);
        client.send(Packet::PingReq).await;
        assert_eq!(client.recv().await, Some(Packet::PingResp));
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn another_subprotocol_or_none_is_refused_with_400() {
    let (broker, addrs) = start(vec![ListenerConfig::websocket("ws", any_port())]).await;
    for offered in ["", "wamp", "mqtt5"] {
        match websocket(tcp(addrs[0]).await, "/mqtt", offered).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 400, "{offered:?}"),
            other => panic!(
                "offering {offered:?}: expected HTTP 400, got {:?}",
                other.map(|r| r.1)
            ),
        }
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn another_path_is_refused_with_404_and_the_configured_path_works() {
    let listener =
        ListenerConfig::websocket("ws", any_port()).with_transport(Transport::WebSocket {
            path: "/broker/ws".to_owned(),
        });
    let (broker, addrs) = start(vec![listener]).await;
    for path in ["/mqtt", "/", "/broker/ws/more"] {
        match websocket(tcp(addrs[0]).await, path, "mqtt").await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 404, "{path}"),
            other => panic!("{path}: expected HTTP 404, got {:?}", other.map(|r| r.1)),
        }
    }
    let (ws, _) = websocket(tcp(addrs[0]).await, "/broker/ws", "mqtt")
        .await
        .unwrap();
    let mut client = WireClient::ws(ws, V311);
    assert_eq!(
        client.connect("custom-path").await.unwrap().code,
        ReasonCode::Success
    );
    broker.shutdown().await;
}

/// A packet may span frames and a frame may hold several packets [MQTT-6.0.0-2].
#[tokio::test]
async fn packets_and_frames_need_not_line_up_mqtt_6_0_0_2() {
    let (broker, addrs) = start(vec![ListenerConfig::websocket("ws", any_port())]).await;
    let (ws, _) = websocket(tcp(addrs[0]).await, "/mqtt", "mqtt")
        .await
        .unwrap();
    let mut client = WireClient::ws(ws, V311);
    let connect = client.encode(Packet::Connect(Box::new(broker_core::codec::Connect::new(
        V311,
        broker_core::types::ClientId::new("frames").unwrap(),
    ))));
    // The CONNECT in three frames, one byte first.
    client.send_bytes(connect.slice(..1)).await;
    client.send_bytes(connect.slice(1..5)).await;
    client.send_bytes(connect.slice(5..)).await;
    match client.recv().await {
        Some(Packet::ConnAck(ack)) => assert_eq!(ack.code, ReasonCode::Success),
        other => panic!("expected CONNACK, got {other:?}"),
    }
    // Three PINGREQs in one frame, then one split with the next.
    let ping = client.encode(Packet::PingReq);
    let mut three = Vec::new();
    for _ in 0..3 {
        three.extend_from_slice(&ping);
    }
    client.send_bytes(Bytes::from(three)).await;
    let mut split = ping.to_vec();
    split.push(ping[0]);
    client.send_bytes(Bytes::from(split)).await;
    client.send_bytes(ping.slice(1..)).await;
    for n in 0..5 {
        assert_eq!(client.recv().await, Some(Packet::PingResp), "PINGRESP {n}");
    }
    broker.shutdown().await;
}

/// A text frame is not MQTT: the connection is closed [MQTT-6.0.0-1].
#[tokio::test]
async fn a_text_frame_closes_the_connection_mqtt_6_0_0_1() {
    let (broker, addrs) = start(vec![ListenerConfig::websocket("ws", any_port())]).await;
    let (ws, _) = websocket(tcp(addrs[0]).await, "/mqtt", "mqtt")
        .await
        .unwrap();
    let mut client = WireClient::ws(ws, V5);
    assert_eq!(
        client.connect("texter").await.unwrap().code,
        ReasonCode::Success
    );
    let transport_support::Wire::Ws(ws) = &mut client.wire else {
        unreachable!()
    };
    ws.send(Message::Text("hello".into())).await.unwrap();
    assert!(
        client.closed().await,
        "the connection stays open after a text frame"
    );
    broker.shutdown().await;
}

/// One QoS 1 publish from a TCP client reaches subscribers on TLS, WebSocket and secure
/// WebSocket; a large one (several frames each way) too; and the WebSocket clients publish
/// back to the TCP one.
#[tokio::test]
async fn a_publish_crosses_tcp_tls_ws_and_wss() {
    let pki = Pki::new("cross");
    let (broker, addrs) = start(vec![
        ListenerConfig::tcp("tcp", any_port()),
        ListenerConfig::tls("tls", any_port(), pki.tls()),
        ListenerConfig::websocket("ws", any_port()),
        ListenerConfig::websocket("wss", any_port()).with_tls(pki.tls()),
    ])
    .await;
    let connector = pki.connector(None, &[]);

    let mut tcp_client = WireClient::raw(tcp(addrs[0]).await, V311);
    let mut tls_client = WireClient::raw(tls(addrs[1], &connector).await.unwrap(), V5);
    let (ws, _) = websocket(tcp(addrs[2]).await, "/mqtt", "mqtt")
        .await
        .unwrap();
    let mut ws_client = WireClient::ws(ws, V311);
    let (wss, _) = websocket(tls(addrs[3], &connector).await.unwrap(), "/mqtt", "mqtt")
        .await
        .unwrap();
    let mut wss_client = WireClient::ws(wss, V5);

    for (client, id) in [
        (&mut tcp_client, "tcp"),
        (&mut tls_client, "tls"),
        (&mut ws_client, "ws"),
        (&mut wss_client, "wss"),
    ] {
        assert_eq!(
            client.connect(id).await.unwrap().code,
            ReasonCode::Success,
            "{id}"
        );
    }
    for client in [&mut tls_client, &mut ws_client, &mut wss_client] {
        client.subscribe(1, "cross/#", QoS::AtLeastOnce).await;
    }
    tcp_client.subscribe(1, "back/#", QoS::AtLeastOnce).await;

    let big = Bytes::from(
        (0..300_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    for (n, payload) in [Bytes::from_static(b"hello across"), big]
        .into_iter()
        .enumerate()
    {
        tcp_client
            .publish_qos1("cross/t", payload.clone(), 10 + n as u16)
            .await;
        for (client, who) in [
            (&mut tls_client, "tls"),
            (&mut ws_client, "ws"),
            (&mut wss_client, "wss"),
        ] {
            let got = client.recv_publish().await;
            assert_eq!(
                got.topic.as_ref().map(|t| t.as_str()),
                Some("cross/t"),
                "{who}"
            );
            assert_eq!(got.payload, payload, "{who}: payload {n}");
            assert_eq!(got.qos_pid.qos(), QoS::AtLeastOnce, "{who}");
        }
    }
    for (client, who) in [(&mut ws_client, "ws"), (&mut wss_client, "wss")] {
        client
            .publish_qos1(&format!("back/{who}"), Bytes::from(who), 20)
            .await;
        let got = tcp_client.recv_publish().await;
        assert_eq!(got.payload, Bytes::from(who));
    }
    broker.shutdown().await;
}

/// The client certificate under a secure WebSocket names the user too.
#[tokio::test]
async fn the_certificate_cn_is_the_user_name_over_wss() {
    let logs = LogCapture::global();
    let pki = Pki::new("wss-identity");
    let tls_config = pki
        .tls()
        .client_ca(&pki.ca, true)
        .use_identity_as_username(true);
    let (broker, addrs) = start(vec![
        ListenerConfig::websocket("wss", any_port()).with_tls(tls_config)
    ])
    .await;
    let carol = pki.client("carol");
    let stream = tls(addrs[0], &pki.connector(Some(&carol), &[]))
        .await
        .unwrap();
    let (wss, _) = websocket(stream, "/mqtt", "mqtt").await.unwrap();
    let mut client = WireClient::ws(wss, V5);
    assert_eq!(
        client.connect("wss-cert").await.unwrap().code,
        ReasonCode::Success
    );
    broker.shutdown().await;
    let text = logs.text();
    let line = text
        .lines()
        .find(|line| line.contains("New client connected") && line.contains("as wss-cert ("))
        .unwrap_or_else(|| panic!("no connection line for wss-cert:\n{text}"));
    assert!(line.ends_with(", ucarol)."), "{line}");
}

/// A graceful shutdown says goodbye (DISCONNECT 0x8B) over TLS and WebSocket as over TCP,
/// then closes.
#[tokio::test]
async fn shutdown_sends_disconnect_0x8b_over_tls_and_websocket() {
    let pki = Pki::new("shutdown");
    let (broker, addrs) = start(vec![
        ListenerConfig::tls("tls", any_port(), pki.tls()),
        ListenerConfig::websocket("ws", any_port()),
        ListenerConfig::websocket("wss", any_port()).with_tls(pki.tls()),
    ])
    .await;
    let connector = pki.connector(None, &[]);
    let mut clients = vec![WireClient::raw(
        tls(addrs[0], &connector).await.unwrap(),
        V5,
    )];
    let (ws, _) = websocket(tcp(addrs[1]).await, "/mqtt", "mqtt")
        .await
        .unwrap();
    clients.push(WireClient::ws(ws, V5));
    let (wss, _) = websocket(tls(addrs[2], &connector).await.unwrap(), "/mqtt", "mqtt")
        .await
        .unwrap();
    clients.push(WireClient::ws(wss, V5));
    for (n, client) in clients.iter_mut().enumerate() {
        let ack = client.connect(&format!("bye-{n}")).await.unwrap();
        assert_eq!(ack.code, ReasonCode::Success);
    }
    let shutdown = tokio::spawn(broker.shutdown());
    for (n, client) in clients.iter_mut().enumerate() {
        match client.recv().await {
            Some(Packet::Disconnect(disconnect)) => {
                assert_eq!(
                    disconnect.code,
                    ReasonCode::ServerShuttingDown,
                    "client {n}"
                )
            }
            other => panic!("client {n}: expected DISCONNECT, got {other:?}"),
        }
        assert!(client.closed().await, "client {n} stays open");
    }
    shutdown.await.unwrap();
}
