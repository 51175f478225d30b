//! `proxy_protocol = true` on a listener: a connection starts with the PROXY protocol header
//! HAProxy (or a cloud TCP load balancer) sends, written here by the test byte for byte as
//! HAProxy writes it; the client's address in it is the one the broker logs and serves
//! (`New client connected from <client>`), in version 1 (text, IPv6 here) and version 2
//! (binary, IPv4); a header without an address (the balancer's own health check) keeps the
//! connection's; a connection without a header is closed without CONNACK, and logged.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::support::{free_port, ConfiguredSkein};

const WAIT: Duration = Duration::from_secs(10);

/// MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id `id` (one byte).
fn connect(id: u8) -> Vec<u8> {
    vec![
        0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, id,
    ]
}

/// Sends `header` and a CONNECT; returns the first bytes the broker answers (empty: closed).
fn handshake(port: u16, header: &[u8], id: u8) -> Vec<u8> {
    let mut stream = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(header).unwrap();
    stream.write_all(&connect(id)).unwrap();
    let mut answer = [0u8; 4];
    let mut read = 0;
    while read < answer.len() {
        match stream.read(&mut answer[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    answer[..read].to_vec()
}

const CONNACK_ACCEPTED: [u8; 4] = [0x20, 0x02, 0x00, 0x00];

#[test]
fn a_proxy_protocol_listener_serves_the_client_address_of_v1_and_v2_headers() {
    let mut port = 0;
    let skein = ConfiguredSkein::start("proxy-protocol", |_| {
        port = free_port();
        (
            format!(
                "[[listener]]\nbind = \"127.0.0.1:{port}\"\nproxy_protocol = true\n\
                 [storage]\ndurability = \"memory\"\n"
            ),
            port,
        )
    });

    // Version 1, TCP6, as `send-proxy` writes it.
    let v1 = b"PROXY TCP6 2001:db8::7 2001:db8::1 40001 1883\r\n";
    assert_eq!(
        handshake(port, v1, b'a'),
        CONNACK_ACCEPTED,
        "{}",
        skein.log_tail()
    );
    skein.wait_for_log(&["is client 2001:db8::7:40001 (PROXY header)."]);
    skein.wait_for_log(&["New client connected from 2001:db8::7:40001 as a "]);

    // Version 2, PROXY command, TCP over IPv4, as `send-proxy-v2` writes it.
    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    v2.extend_from_slice(&[0x21, 0x11, 0x00, 0x0C]); // v2 PROXY, INET STREAM, 12 bytes
    v2.extend_from_slice(&[203, 0, 113, 9, 10, 0, 0, 1]); // source, destination
    v2.extend_from_slice(&40002u16.to_be_bytes());
    v2.extend_from_slice(&1883u16.to_be_bytes());
    assert_eq!(
        handshake(port, &v2, b'b'),
        CONNACK_ACCEPTED,
        "{}",
        skein.log_tail()
    );
    skein.wait_for_log(&["New client connected from 203.0.113.9:40002 as b "]);

    // Version 2, LOCAL command (the balancer's health check): the connection's own address.
    let mut local = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    local.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
    assert_eq!(handshake(port, &local, b'c'), CONNACK_ACCEPTED);
    skein.wait_for_log(&["New client connected from 127.0.0.1:", " as c "]);

    // No header: closed without a CONNACK.
    assert_eq!(handshake(port, b"", b'd'), Vec::<u8>::new());
    skein.wait_for_log(&["no PROXY protocol header"]);
    assert!(!skein.log().contains(" as d "), "{}", skein.log_tail());
}
