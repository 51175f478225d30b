//! What connections may make the broker hold while they send: nothing for a first packet that
//! is not a CONNECT ([MQTT-3.1.0-1]), at most the CONNECT size limit for a CONNECT, and, for
//! large packets of connected clients, the broker-wide receive budget.

use std::time::Duration;

use broker_core::codec::{Packet, Publish, QosPid};
use broker_core::types::ReasonCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::support::{config, pid, start_with, topic, Client, V311, V5, WAIT};

/// Connections that each claim a large first packet.
const CONNECTIONS: usize = 256;
/// What each of them sends of the packet's body.
const BODY_SENT: usize = 512 * 1024;
/// How much the process may grow while they are open: the connections themselves (both
/// ends are in this process) and what other tests running beside this one allocate. Holding
/// what they send would take `CONNECTIONS * BODY_SENT` (128 MiB).
const RSS_GROWTH: u64 = 48 * 1024 * 1024;

/// The process's resident memory, in bytes (Linux), or `None` elsewhere.
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A fixed header of `first` with a remaining length of `remaining`.
fn fixed_header(first: u8, remaining: usize) -> Vec<u8> {
    let mut header = vec![first];
    let mut left = remaining;
    loop {
        let byte = (left % 128) as u8;
        left /= 128;
        if left == 0 {
            header.push(byte);
            return header;
        }
        header.push(byte | 0x80);
    }
}

/// Sends `bytes` (the broker may close the connection before they are all taken) and
/// returns whether the broker closed the connection within `wait`.
async fn send_then_closed(stream: &mut TcpStream, bytes: &[u8], wait: Duration) -> bool {
    let _ = timeout(wait, stream.write_all(bytes)).await;
    let mut sink = [0u8; 1024];
    let closed = timeout(wait, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    closed.await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_0_1_connections_that_send_no_connect_pin_no_memory() {
    let (broker, addr) = start_with(config()).await;
    let mut packet = fixed_header(0x32, 1_000_000);
    packet.extend_from_slice(&[0, 1, b't', 0, 1]);
    packet.resize(packet.len() + BODY_SENT, 0x55);
    let packet: &'static [u8] = Box::leak(packet.into_boxed_slice());
    let mut streams = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let stream = timeout(WAIT, TcpStream::connect(addr))
            .await
            .unwrap()
            .unwrap();
        streams.push(stream);
    }
    let before = rss();
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let closed = send_then_closed(&mut stream, packet, Duration::from_secs(3)).await;
                (closed, stream)
            })
        })
        .collect();
    let mut closed = 0;
    let mut streams = Vec::with_capacity(CONNECTIONS);
    for task in tasks {
        let (was_closed, stream) = task.await.unwrap();
        closed += usize::from(was_closed);
        streams.push(stream);
    }
    // Measured while the client ends are still open, so that a broker holding their bytes
    // would still hold them now.
    if let (Some(before), Some(after)) = (before, rss()) {
        let growth = after.saturating_sub(before);
        assert!(
            growth < RSS_GROWTH,
            "resident memory grew by {} KiB for {CONNECTIONS} connections",
            growth / 1024
        );
    }
    assert_eq!(closed, CONNECTIONS, "connections the broker closed");
    drop(streams);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_connect_above_the_connect_size_limit_is_refused_from_its_fixed_header_mqtt_3_1_4_2() {
    let mut config = config();
    config.max_connect_size = 4096;
    let (broker, addr) = start_with(config).await;
    // The fixed header of a 100,000-byte CONNECT, and a little of its body: closed without
    // waiting for the rest, and without a CONNACK (the version is not known yet).
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut bytes = fixed_header(0x10, 100_000);
    bytes.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 5]);
    assert!(send_then_closed(&mut stream, &bytes, WAIT).await);
    // A CONNECT within the limit is accepted, and the packet limit applies after it: a
    // PUBLISH larger than the CONNECT limit goes through.
    let (mut client, _) = Client::connect(addr, V311, "within", true).await;
    let mut publish = Publish::new(topic("big"), vec![7u8; 8192].into());
    publish.qos_pid = QosPid::AtLeastOnce(pid(1));
    client.send(Packet::Publish(publish)).await;
    assert!(matches!(client.recv().await, Some(Packet::PubAck(_))));
    broker.shutdown().await;
}

#[tokio::test]
async fn a_large_packet_beyond_the_receive_budget_is_refused_with_quota_exceeded() {
    let mut config = config();
    config.receive_budget = Some(512 * 1024);
    let (broker, addr) = start_with(config).await;
    let (mut first, _) = Client::connect(addr, V5, "first", true).await;
    let (mut second, _) = Client::connect(addr, V5, "second", true).await;
    // A 300,000-byte PUBLISH, sent in two parts: the first part is held (and charged).
    let mut publish = Publish::new(topic("big"), vec![7u8; 300_000].into());
    publish.qos_pid = QosPid::AtLeastOnce(pid(1));
    let mut bytes = bytes::BytesMut::new();
    Packet::Publish(publish).encode(V5, &mut bytes).unwrap();
    let (head, tail) = bytes.split_at(200_000);
    first.raw().write_all(head).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The second client's packet of the same size does not fit beside it.
    second.raw().write_all(head).await.unwrap();
    let disconnect = second.expect_disconnect().await;
    assert_eq!(disconnect.code, ReasonCode::QuotaExceeded);
    // The first one completes its packet; once it is received, the budget has room again.
    first.raw().write_all(tail).await.unwrap();
    assert!(matches!(first.recv().await, Some(Packet::PubAck(_))));
    let (mut third, _) = Client::connect(addr, V5, "third", true).await;
    third.raw().write_all(&bytes).await.unwrap();
    assert!(matches!(third.recv().await, Some(Packet::PubAck(_))));
    broker.shutdown().await;
}
