//! Streams the embedder accepted itself, handed to the broker with
//! `BrokerHandle::serve_stream` on a stream listener: an in-memory pipe
//! (`tokio::io::duplex`) and a Unix socket, served as a TCP connection is, beside TCP
//! clients; the listener's name reaches the hooks; a graceful shutdown says goodbye on them
//! too.

use std::sync::Arc;

use broker_core::codec::{Connect, Packet};
use broker_core::config::ListenerConfig;
use broker_core::hooks::{Anonymous, ListenerName, ListenerScoped, UserTable};
use broker_core::types::{ClientId, MqttString, QoS, ReasonCode};
use broker_core::{Broker, BrokerError};
use tokio::time::timeout;

use crate::support::{config, init_logging, V311, V5, WAIT};
use crate::transport_support::{any_port, tcp, WireClient};

/// A broker with the test's TCP listener and the stream listener `pipe`.
async fn start(builder: broker_core::BrokerBuilder) -> Broker {
    init_logging();
    timeout(
        WAIT,
        builder
            .config(config())
            .stream_listener(ListenerConfig::tcp("pipe", any_port()))
            .start(),
    )
    .await
    .unwrap()
    .unwrap()
}

/// A client on an in-memory pipe gets what a TCP client publishes, and the other way
/// round, acknowledged as usual.
#[tokio::test]
async fn a_duplex_stream_is_served_beside_tcp_clients() {
    let broker = start(Broker::builder()).await;
    let (client_end, broker_end) = tokio::io::duplex(64 * 1024);
    broker
        .handle()
        .serve_stream("pipe", broker_end, None)
        .unwrap();
    let mut piped = WireClient::raw(Box::new(client_end), V5);
    assert_eq!(
        piped.connect("piped").await.unwrap().code,
        ReasonCode::Success
    );
    piped.subscribe(1, "to/pipe", QoS::AtLeastOnce).await;
    let addr = broker.local_addrs()[0].1;
    let mut networked = WireClient::raw(tcp(addr).await, V311);
    networked.connect("networked").await.unwrap();
    networked.subscribe(1, "to/tcp", QoS::AtLeastOnce).await;
    networked
        .publish_qos1("to/pipe", "over tcp".into(), 2)
        .await;
    assert_eq!(&piped.recv_publish().await.payload[..], b"over tcp");
    piped
        .publish_qos1("to/tcp", "over the pipe".into(), 2)
        .await;
    assert_eq!(
        &networked.recv_publish().await.payload[..],
        b"over the pipe"
    );
    let stats = broker.handle().listener_stats();
    let pipe = stats.iter().find(|s| s.name == "pipe").unwrap();
    assert_eq!(pipe.connections_accepted, 1);
    assert!(pipe.received.packets.total() >= 4, "{pipe:?}");
    broker.shutdown().await;
}

/// A Unix socket accepted by the embedder's own loop; the hooks see the stream listener's
/// name (a user table scoped to it asks these clients, and only them, for a password),
/// and a graceful shutdown sends an MQTT 5 client DISCONNECT 0x8B on it too.
#[tokio::test]
async fn unix_socket_clients_meet_their_listeners_hooks_and_a_graceful_shutdown() {
    let users = ListenerScoped::new(
        Arc::new(UserTable::new().user("local", "secret")),
        [ListenerName::from("pipe")],
    );
    let broker = start(Broker::builder().hook(users).anonymous(Anonymous::Deny)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mqtt.sock");
    let socket = tokio::net::UnixListener::bind(&path).unwrap();
    let handle = broker.handle();
    // The embedder's accept loop: every stream to the broker, until the broker is gone.
    let accepting = tokio::spawn(async move {
        while let Ok((stream, _)) = socket.accept().await {
            if handle.serve_stream("pipe", stream, None).is_err() {
                break;
            }
        }
    });
    let connect = |user: &str, password: &str| {
        let mut connect = Connect::new(V5, ClientId::new("unix").unwrap());
        connect.username = Some(MqttString::new(user).unwrap());
        connect.password = Some(password.as_bytes().to_vec().into());
        connect
    };
    let unix = || async {
        let stream = tokio::net::UnixStream::connect(&path).await.unwrap();
        WireClient::raw(Box::new(stream), V5)
    };
    let mut wrong = unix().await;
    let refused = wrong.connect_with(connect("local", "nope")).await.unwrap();
    assert_eq!(refused.code, ReasonCode::BadUserNameOrPassword);
    let mut client = unix().await;
    let accepted = client
        .connect_with(connect("local", "secret"))
        .await
        .unwrap();
    assert_eq!(accepted.code, ReasonCode::Success);
    client.publish_qos1("unix/hello", "hi".into(), 1).await;
    broker.shutdown().await;
    match client.recv().await {
        Some(Packet::Disconnect(disconnect)) => {
            assert_eq!(disconnect.code, ReasonCode::ServerShuttingDown);
        }
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
    accepting.abort();
}

/// What cannot be served: a name that is no stream listener's (a TCP listener's neither),
/// and any stream once the broker is shut down.
#[tokio::test]
async fn streams_for_unknown_listeners_and_a_stopped_broker_are_refused() {
    let broker = start(Broker::builder()).await;
    let handle = broker.handle();
    let (_, stream) = tokio::io::duplex(1024);
    assert!(matches!(
        handle.serve_stream("test", stream, None),
        Err(BrokerError::UnknownListener(name)) if name == "test"
    ));
    broker.shutdown().await;
    let (_, stream) = tokio::io::duplex(1024);
    assert!(matches!(
        handle.serve_stream("pipe", stream, None),
        Err(BrokerError::ShutDown)
    ));
}
