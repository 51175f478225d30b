//! How the broker closes a connection it ends itself: the client reads the DISCONNECT even
//! while it is still sending. The broker sends it, shuts its write side down, and reads and
//! discards what the client still sends, for a bounded time, before it closes the socket:
//! closing a socket with unread input makes the kernel answer with a reset, which can take
//! the DISCONNECT with it.

use std::num::NonZeroU16;
use std::time::Duration;

use broker_core::codec::{Decoder, Packet, Publish, QosPid};
use broker_core::types::ReasonCode;
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::support::{config, connect_packet, pid, start_with, topic, V5, WAIT};

/// QoS 2 PUBLISH packets, one per packet identifier from `first`, encoded for MQTT 5.
fn qos2_publishes(first: u16, count: u16) -> BytesMut {
    let mut bytes = BytesMut::new();
    for id in first..first + count {
        let mut publish = Publish::new(topic("flood"), vec![1u8; 512].into());
        publish.qos_pid = QosPid::ExactlyOnce(pid(id));
        Packet::Publish(publish).encode(V5, &mut bytes).unwrap();
    }
    bytes
}

#[tokio::test]
async fn mqtt_3_3_4_9_a_client_that_keeps_sending_reads_disconnect_0x93() {
    let mut config = config();
    config.session.receive_maximum = NonZeroU16::new(2).unwrap();
    let (broker, addr) = start_with(config).await;
    let mut stream = timeout(WAIT, TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let mut bytes = BytesMut::new();
    Packet::Connect(Box::new(connect_packet(V5, "flood", true)))
        .encode(V5, &mut bytes)
        .unwrap();
    stream.write_all(&bytes).await.unwrap();
    let mut decoder = Decoder::with_version(V5);
    let mut received = BytesMut::new();
    let connack = timeout(WAIT, async {
        loop {
            if let Some(packet) = decoder.decode(&mut received).unwrap() {
                return packet;
            }
            assert_ne!(stream.read_buf(&mut received).await.unwrap(), 0);
        }
    })
    .await
    .unwrap();
    assert!(matches!(connack, Packet::ConnAck(ack) if ack.code == ReasonCode::Success));
    // The client sends QoS 2 PUBLISH packets and never releases them: the third exceeds the
    // broker's Receive Maximum of 2 ([MQTT-3.3.4-9]). It goes on sending for a while before
    // it reads, as a client busy writing does, and gives up at its first failed send.
    for burst in 0..4 {
        if burst > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let publishes = qos2_publishes(1 + burst * 20, 20);
        if let Err(error) = stream.write_all(&publishes).await {
            panic!("send {burst} failed before the DISCONNECT was read: {error}");
        }
    }
    let disconnect = timeout(WAIT, async {
        loop {
            match decoder.decode(&mut received) {
                Ok(Some(Packet::Disconnect(disconnect))) => return Ok(disconnect),
                Ok(Some(_)) => {}
                Ok(None) => match stream.read_buf(&mut received).await {
                    Ok(0) => return Err("end of stream before DISCONNECT".to_owned()),
                    Ok(_) => {}
                    Err(error) => return Err(format!("{error} before DISCONNECT")),
                },
                Err(error) => return Err(error.to_string()),
            }
        }
    })
    .await
    .unwrap();
    let disconnect = disconnect.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(disconnect.code, ReasonCode::ReceiveMaximumExceeded);
    // Then the end of the stream, not a reset: the broker shut its side down and is reading
    // what the client still sends.
    assert!(received.is_empty(), "bytes after the DISCONNECT");
    let end = timeout(WAIT, stream.read_buf(&mut received)).await.unwrap();
    assert_eq!(end.unwrap(), 0);
    drop(stream);
    broker.shutdown().await;
}
