//! Control characters (U+0001 to U+001F, U+007F to U+009F) in client identifiers and topics,
//! spoken over a raw `TcpStream` to `skein --config`: refused as Malformed Packets by default
//! (`[features] allow_control_characters = false`; MQTT 5.0 §1.5.4, 3.1.1 §1.5.3), carried
//! through when allowed, and escaped in the log either way.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::support::{free_port, ConfiguredSkein};

const WAIT: Duration = Duration::from_secs(5);

/// A broker on a fresh port with `features` as its `[features]` section.
fn start(features: &str) -> (ConfiguredSkein, SocketAddr) {
    let mut port = 0;
    let skein = ConfiguredSkein::start("control-chars", |_| {
        port = free_port();
        let config =
            format!("[[listener]]\nbind = \"127.0.0.1:{port}\"\n\n[features]\n{features}\n");
        (config, port)
    });
    (skein, SocketAddr::from(([127, 0, 0, 1], port)))
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 128, "one length byte is enough here");
    let mut out = vec![first, body.len() as u8];
    out.extend_from_slice(body);
    out
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A clean CONNECT at protocol level 4 (3.1.1) or 5, keep-alive 60 s.
fn connect(level: u8, client_id: &str) -> Vec<u8> {
    let mut body = Vec::new();
    string(&mut body, "MQTT");
    body.extend_from_slice(&[level, 0x02, 0, 60]);
    if level == 5 {
        body.push(0);
    }
    string(&mut body, client_id);
    packet(0x10, &body)
}

fn publish_qos0(level: u8, topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    string(&mut body, topic);
    if level == 5 {
        body.push(0);
    }
    body.extend_from_slice(payload);
    packet(0x30, &body)
}

fn subscribe_v311(filter: &str) -> Vec<u8> {
    let mut body = vec![0, 1];
    string(&mut body, filter);
    body.push(0);
    packet(0x82, &body)
}

/// A client connection that reads whole packets.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn open(addr: SocketAddr, first: &[u8]) -> Client {
        let mut stream = TcpStream::connect(addr).expect("connecting");
        stream.write_all(first).expect("writing");
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("writing");
    }

    /// The next packet, or `None` once the broker closed the connection. Fails the test when
    /// neither happens within [`WAIT`].
    fn next(&mut self, skein: &ConfiguredSkein) -> Option<Vec<u8>> {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.buf.len() >= 2 && self.buf.len() >= 2 + usize::from(self.buf[1]) {
                assert!(self.buf[1] < 0x80, "short packets only: {:02x?}", self.buf);
                let len = 2 + usize::from(self.buf[1]);
                return Some(self.buf.drain(..len).collect());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "nothing within {WAIT:?} (have {:02x?})\n{}",
                self.buf,
                skein.log_tail()
            );
            self.stream.set_read_timeout(Some(left)).expect("timeout");
            let mut chunk = [0u8; 512];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) => panic!("reading: {e}"),
            }
        }
    }
}

#[test]
fn control_characters_are_refused_by_default_mqtt_5_0_sec_1_5_4() {
    let (skein, addr) = start("");

    // MQTT 5 CONNECT: CONNACK 0x81 Malformed Packet, then the close.
    let mut client = Client::open(addr, &connect(5, "dev\u{1B}ice"));
    assert_eq!(
        client.next(&skein),
        Some(vec![0x20, 0x03, 0x00, 0x81, 0x00])
    );
    assert_eq!(client.next(&skein), None);

    // MQTT 3.1.1 CONNECT: closed without a CONNACK (3.1.1 §1.5.3).
    let mut client = Client::open(addr, &connect(4, "dev\u{85}ice"));
    assert_eq!(client.next(&skein), None);

    // A PUBLISH after CONNACK: DISCONNECT 0x81, then the close.
    let mut client = Client::open(addr, &connect(5, "publisher"));
    let connack = client.next(&skein).expect("CONNACK");
    assert_eq!((connack[0], connack[3]), (0x20, 0x00), "{connack:02x?}");
    client.send(&publish_qos0(5, "a/\u{7F}/b", b"x"));
    let disconnect = client.next(&skein).expect("DISCONNECT");
    assert_eq!(
        (disconnect[0], disconnect[2]),
        (0xE0, 0x81),
        "{disconnect:02x?}"
    );
    assert_eq!(client.next(&skein), None);
    skein.wait_for_log(&["Client publisher disconnected due to protocol error"]);
}

#[test]
fn control_characters_are_carried_when_allowed_and_escaped_in_the_log() {
    let (skein, addr) = start("allow_control_characters = true");
    let mut client = Client::open(addr, &connect(4, "dev\u{1B}ice"));
    assert_eq!(client.next(&skein), Some(vec![0x20, 0x02, 0x00, 0x00]));
    client.send(&subscribe_v311("a/\u{1}/#"));
    assert_eq!(
        client.next(&skein),
        Some(vec![0x90, 0x03, 0x00, 0x01, 0x00])
    );
    let publish = publish_qos0(4, "a/\u{1}/x", b"hi");
    client.send(&publish);
    assert_eq!(client.next(&skein), Some(publish));
    // The escape character never reaches the log as such: a client cannot write terminal
    // escape sequences or fake lines into it.
    skein.wait_for_log(&["New client connected from", r"as dev\u{1b}ice"]);
    assert!(!skein.log().contains('\u{1B}'), "{}", skein.log_tail());
}
