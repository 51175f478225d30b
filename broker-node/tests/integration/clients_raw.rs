//! Integration tests that speak MQTT over a raw `TcpStream` to the running `skein` binary, as a
//! client would, and compare the broker's answers byte for byte where the spec fixes them:
//!
//! - the captured MQTT 3.1.1 packets of `broker-core/tests/data/mqtt311-packets.json` (the
//!   project's committed copy of the shared vectors): CONNECT, SUBSCRIBE, PUBLISH, PINGREQ, PUBACK,
//!   UNSUBSCRIBE, DISCONNECT, answered by CONNACK, SUBACK, PUBLISH, PINGRESP, UNSUBACK;
//! - keep-alive: a client that CONNECTs with Keep Alive 1 and then goes silent is closed after
//!   1.5 s (plus a margin), and its will is published.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::Broker;

const WAIT: Duration = Duration::from_secs(5);

/// One client connection; reads whole MQTT packets.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// What reading a packet found.
#[derive(Debug, PartialEq, Eq)]
enum Incoming {
    Packet(Vec<u8>),
    Closed,
}

impl Conn {
    fn open(broker: &Broker) -> Conn {
        let stream = TcpStream::connect(broker.addr()).expect("connecting to the broker");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("writing to the broker");
    }

    /// The next whole packet (fixed header included), or `Closed` at EOF / connection reset.
    /// Fails the test when nothing complete arrives within `timeout`.
    fn read(&mut self, timeout: Duration, broker: &Broker) -> Incoming {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(len) = packet_len(&self.buf) {
                return Incoming::Packet(self.buf.drain(..len).collect());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no complete packet within {timeout:?} (have {:02x?})\n--- broker log ---\n{}",
                self.buf,
                broker.log()
            );
            self.stream
                .set_read_timeout(Some(left))
                .expect("read timeout");
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Incoming::Closed,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Incoming::Closed,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) => panic!("reading from the broker: {e}"),
            }
        }
    }

    /// Reads one packet and fails unless it is exactly `want`.
    fn expect(&mut self, want: &[u8], what: &str, broker: &Broker) {
        match self.read(WAIT, broker) {
            Incoming::Packet(got) => assert_eq!(
                hex(&got),
                hex(want),
                "{what}: the broker answered {}, expected {}\n--- broker log ---\n{}",
                hex(&got),
                hex(want),
                broker.log()
            ),
            Incoming::Closed => panic!(
                "{what}: the broker closed the connection instead of answering {}\n--- broker log ---\n{}",
                hex(want),
                broker.log()
            ),
        }
    }
}

/// The length of the first whole packet in `buf`, if it is all there.
fn packet_len(buf: &[u8]) -> Option<usize> {
    let mut value = 0usize;
    for (i, byte) in buf.iter().enumerate().skip(1).take(4) {
        value |= usize::from(byte & 0x7f) << (7 * (i - 1));
        if byte & 0x80 == 0 {
            let total = i + 1 + value;
            return (buf.len() >= total).then_some(total);
        }
    }
    None
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
        .collect()
}

/// A fixed header (`first` byte and Remaining Length) followed by `body`.
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut n = body.len();
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&u16::try_from(s.len()).expect("short string").to_be_bytes());
    out.extend_from_slice(s);
}

/// A CONNECT for protocol level 4 (3.1.1) or 5, clean, with an optional QoS 0 will.
fn connect(level: u8, client_id: &str, keep_alive: u16, will: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    string(&mut body, b"MQTT");
    body.push(level);
    body.push(if will.is_some() { 0x06 } else { 0x02 }); // clean, will flag, will QoS 0
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if level == 5 {
        body.push(0); // no properties
    }
    string(&mut body, client_id.as_bytes());
    if let Some((topic, payload)) = will {
        if level == 5 {
            body.push(0); // no will properties
        }
        string(&mut body, topic.as_bytes());
        string(&mut body, payload);
    }
    packet(0x10, &body)
}

/// A 3.1.1 SUBSCRIBE for one filter.
fn subscribe(packet_id: u16, filter: &str, qos: u8) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    string(&mut body, filter.as_bytes());
    body.push(qos);
    packet(0x82, &body)
}

/// The hex of the vector `name` in the JSON file (a flat list of objects, each with a
/// `"name"` followed by its `"hex"`): found by text search, since broker-node has no JSON
/// dependency.
fn vector(json: &str, name: &str) -> Vec<u8> {
    let key = format!("\"name\": \"{name}\"");
    let at = json
        .find(&key)
        .unwrap_or_else(|| panic!("vector {name} not in the file"));
    let rest = &json[at..];
    let hex_at = rest.find("\"hex\": \"").expect("a hex field") + "\"hex\": \"".len();
    let end = rest[hex_at..].find('"').expect("closing quote");
    unhex(&rest[hex_at..hex_at + end])
}

/// The topic of a 3.1.1 PUBLISH (packet bytes, fixed header included).
fn publish_topic(packet: &[u8]) -> String {
    let start = packet[1..]
        .iter()
        .position(|b| b & 0x80 == 0)
        .expect("length")
        + 2;
    let len = usize::from(u16::from_be_bytes([packet[start], packet[start + 1]]));
    String::from_utf8(packet[start + 2..start + 2 + len].to_vec()).expect("UTF-8 topic")
}

/// The captured 3.1.1 packets, sent as a client would. Answers checked byte for byte:
/// CONNACK 20 02 00 00 first (MQTT-3.2.0-1, MQTT-3.1.4-4, Session Present 0 for a clean
/// session MQTT-3.2.2-1); SUBACK with the SUBSCRIBE's packet id (MQTT-3.8.4-1, -2) and the
/// granted QoS 0 that was requested (MQTT-3.8.4-5: the captured SUBACK `9003000101` came from
/// a cloud broker that granted QoS 1 to this QoS 0 request; Skein grants what was asked, so
/// the expected bytes are `9003000100`); the captured PUBLISH forwarded to a subscriber of its
/// topic unchanged (QoS 0, DUP 0 MQTT-3.3.1-2, RETAIN 0 MQTT-3.3.1-9); PINGRESP d0 00
/// (MQTT-3.12.4-1); a PUBACK for an id never sent is no protocol error, the connection stays
/// (PINGREQ still answered); UNSUBACK with the UNSUBSCRIBE's packet id (MQTT-3.10.4-4, -5);
/// after DISCONNECT the broker closes the connection (§3.14.4: SHOULD close).
#[test]
fn mqtt311_vectors_answered_byte_for_byte_mqtt_3_2_0_1_3_8_4_2_3_10_4_4_3_12_4_1() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../broker-core/tests/data/mqtt311-packets.json");
    let json = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let broker = Broker::start();
    let mut client = Conn::open(&broker);

    client.send(&vector(&json, "connect_username_password_clean"));
    client.expect(&vector(&json, "connack_accepted"), "CONNECT", &broker);

    client.send(&vector(&json, "subscribe_qos0"));
    client.expect(
        &unhex("9003000100"),
        "SUBSCRIBE packet id 1, QoS 0",
        &broker,
    );

    // Subscribe to the captured PUBLISH's topic too (SUBACK id 3, QoS 0), then publish it:
    // 3.1.1 has no No Local, so the broker forwards it back to this client, byte for byte.
    let publish = vector(&json, "publish_qos0");
    let topic = publish_topic(&publish);
    client.send(&subscribe(3, &topic, 0));
    client.expect(
        &unhex("9003000300"),
        "SUBSCRIBE packet id 3, QoS 0",
        &broker,
    );
    client.send(&publish);
    client.expect(
        &publish,
        "PUBLISH QoS 0 forwarded to its subscriber",
        &broker,
    );

    client.send(&vector(&json, "pingreq"));
    client.expect(&vector(&json, "pingresp"), "PINGREQ", &broker);

    client.send(&vector(&json, "puback"));
    client.send(&vector(&json, "pingreq"));
    client.expect(
        &vector(&json, "pingresp"),
        "PINGREQ after a PUBACK for an unknown packet id",
        &broker,
    );

    client.send(&vector(&json, "unsubscribe"));
    client.expect(
        &vector(&json, "unsuback"),
        "UNSUBSCRIBE packet id 2",
        &broker,
    );

    client.send(&vector(&json, "disconnect"));
    assert_eq!(
        client.read(WAIT, &broker),
        Incoming::Closed,
        "the broker should close the connection after DISCONNECT"
    );
}

/// A client that CONNECTs with Keep Alive 1 s and then sends nothing is closed by the broker
/// after 1.5 s (v3.1.1 MQTT-3.1.2-24, v5 MQTT-3.1.2-22) "as if the network had failed", so its
/// will is published (MQTT-3.1.2-8). A v5 broker may send DISCONNECT 0x8D (Keep Alive timeout)
/// before closing.
fn keep_alive_timeout(level: u8) {
    let broker = Broker::start();
    let will_topic = format!("it/ka{level}/will");
    let mut watcher = Conn::open(&broker);
    watcher.send(&connect(4, &format!("ka{level}-watcher"), 0, None));
    watcher.expect(&unhex("20020000"), "watcher CONNECT", &broker);
    watcher.send(&subscribe(1, &will_topic, 0));
    watcher.expect(&unhex("9003000100"), "watcher SUBSCRIBE", &broker);

    let mut silent = Conn::open(&broker);
    let sent_at = Instant::now();
    silent.send(&connect(
        level,
        &format!("ka{level}-silent"),
        1,
        Some((&will_topic, b"silent client timed out")),
    ));
    match silent.read(WAIT, &broker) {
        Incoming::Packet(p) if p.first() == Some(&0x20) && p.get(3) == Some(&0) => {}
        other => panic!("expected a successful CONNACK, got {other:?}"),
    }
    let closed_after = loop {
        match silent.read(WAIT, &broker) {
            Incoming::Closed => break sent_at.elapsed(),
            Incoming::Packet(p) if level == 5 && p.first() == Some(&0xe0) => {
                assert_eq!(p.get(2), Some(&0x8d), "v5 DISCONNECT reason: {}", hex(&p));
            }
            Incoming::Packet(p) => panic!("unexpected packet {} to a silent client", hex(&p)),
        }
    };
    assert!(
        closed_after >= Duration::from_millis(1400) && closed_after <= Duration::from_millis(3000),
        "closed {closed_after:?} after CONNECT, expected about 1.5 s (1.4 s ..= 3 s)\n--- broker log ---\n{}",
        broker.log()
    );

    let mut want = Vec::new();
    string(&mut want, will_topic.as_bytes());
    want.extend_from_slice(b"silent client timed out");
    watcher.expect(
        &packet(0x30, &want),
        "the will of the silent client",
        &broker,
    );
}

#[test]
fn v311_keep_alive_timeout_closes_after_1_5x_and_publishes_will_mqtt_3_1_2_24() {
    keep_alive_timeout(4);
}

#[test]
fn v5_keep_alive_timeout_closes_after_1_5x_and_publishes_will_mqtt_3_1_2_22() {
    keep_alive_timeout(5);
}
