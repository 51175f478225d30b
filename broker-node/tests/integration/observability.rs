//! What the `skein` binary tells operators: the Prometheus endpoint, scraped after known
//! MQTT traffic (its counters equal what was sent, see docs/metrics.md), and the per-client
//! trace switch (`log.trace_clients`).

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{free_port, scratch_dir, send, Running};

/// How long the broker may take to serve its first scrape, and a scrape to reach a value.
const WAIT: Duration = Duration::from_secs(10);

/// A 3.1.1 CONNECT for `client_id` (at most 100 bytes), clean session, keep-alive 60 s.
fn connect(client_id: &str) -> Vec<u8> {
    let mut packet = vec![0x10, (12 + client_id.len()) as u8];
    packet.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0]);
    packet.push(client_id.len() as u8);
    packet.extend_from_slice(client_id.as_bytes());
    packet
}
/// A QoS 0 PUBLISH of `12345` to `a/b`.
const PUBLISH: [u8; 12] = [
    0x30, 10, 0, 3, b'a', b'/', b'b', b'1', b'2', b'3', b'4', b'5',
];
const PINGREQ: [u8; 2] = [0xC0, 0];
/// SUBSCRIBE packet id 1 to `a/b` at QoS 0, and its SUBACK.
const SUBSCRIBE: [u8; 10] = [0x82, 8, 0, 1, 0, 3, b'a', b'/', b'b', 0];
const SUBACK: [u8; 5] = [0x90, 3, 0, 1, 0];
const DISCONNECT: [u8; 2] = [0xE0, 0];

/// `GET path` on `addr`: the status line and the body.
fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect_timeout(&addr, WAIT).expect("connecting to /metrics");
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("sending the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("reading the response");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, body.to_owned())
}

/// The samples of a Prometheus text exposition: `name{labels}` -> value.
fn samples(body: &str) -> HashMap<String, f64> {
    body.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// Scrapes until `key` has `value` (bounded); returns the last scrape.
fn scrape_until(addr: SocketAddr, key: &str, value: f64) -> HashMap<String, f64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = get(addr, "/metrics");
        assert!(status.contains("200"), "{status}");
        let samples = samples(&body);
        if samples.get(key) == Some(&value) || Instant::now() > deadline {
            return samples;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `skein` with `config` (TOML) in a scratch directory.
fn start(tag: &str, config: &str) -> (Running, std::path::PathBuf) {
    let dir = scratch_dir(tag);
    let path = dir.join("skein.toml");
    fs::write(&path, config).expect("writing the config");
    let mut command = Command::new(env!("CARGO_BIN_EXE_skein"));
    command.arg("--config").arg(&path).current_dir(&dir);
    (Running::start(command), dir)
}

/// Waits until `addr` accepts TCP (bounded).
fn wait_accepting(addr: SocketAddr) {
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "nothing accepts on {addr}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Connects `client_id` (3.1.1) to `mqtt`, publishes [`PUBLISH`] `publishes` times, and
/// waits for the answer to a PINGREQ, so the broker has read everything. The connection is
/// left open.
fn connect_publish_ping(mqtt: SocketAddr, connect: &[u8], publishes: usize) -> TcpStream {
    let mut client = TcpStream::connect_timeout(&mqtt, WAIT).expect("connecting over MQTT");
    client.set_read_timeout(Some(WAIT)).expect("read timeout");
    send(&mut client, connect);
    assert_eq!(read_exact(&mut client, 4), [0x20, 2, 0, 0], "CONNACK");
    for _ in 0..publishes {
        send(&mut client, &PUBLISH);
    }
    send(&mut client, &PINGREQ);
    assert_eq!(read_exact(&mut client, 2), [0xD0, 0], "PINGRESP");
    client
}

fn read_exact(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream
        .read_exact(&mut buf)
        .expect("reading from the broker");
    buf
}

#[test]
fn metrics_count_known_traffic_exactly_per_listener_and_packet_type() {
    let mqtt = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let idle = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (broker, dir) = start(
        "metrics",
        &format!(
            "[[listener]]\nname = \"plain\"\nbind = \"{mqtt}\"\n\
             [[listener]]\nname = \"idle\"\nbind = \"{idle}\"\n\
             [sys]\ninterval = 0\n[metrics]\nbind = \"{http}\"\n"
        ),
    );
    // The metrics endpoint opens after the MQTT listener.
    wait_accepting(http);

    let connect_m = connect("m");
    let mut client = connect_publish_ping(mqtt, &connect_m, 3);
    send(&mut client, &DISCONNECT);
    let mut rest = Vec::new();
    let _ = client.read_to_end(&mut rest);
    assert!(rest.is_empty(), "nothing after PINGRESP: {rest:?}");

    let written = (connect_m.len() + 3 * PUBLISH.len() + PINGREQ.len() + DISCONNECT.len()) as f64;
    let received =
        |kind: &str| format!("skein_packets_received_total{{listener=\"plain\",type=\"{kind}\"}}");
    let sent =
        |kind: &str| format!("skein_packets_sent_total{{listener=\"plain\",type=\"{kind}\"}}");
    let m = scrape_until(http, &received("disconnect"), 1.0);
    let value = |key: &str| m.get(key).copied();
    // Each packet counted under its type and its listener, as VerneMQ exports them.
    for (kind, count) in [
        ("connect", 1.0),
        ("publish", 3.0),
        ("pingreq", 1.0),
        ("disconnect", 1.0),
        ("subscribe", 0.0),
    ] {
        assert_eq!(value(&received(kind)), Some(count), "{kind}");
    }
    for (kind, count) in [("connack", 1.0), ("pingresp", 1.0), ("publish", 0.0)] {
        assert_eq!(value(&sent(kind)), Some(count), "{kind}");
    }
    // A type that never flows that way is not exported.
    assert_eq!(value(&received("connack")), None);
    assert_eq!(value(&sent("connect")), None);
    assert_eq!(
        value("skein_bytes_received_total{listener=\"plain\"}"),
        Some(written)
    );
    assert_eq!(
        value("skein_bytes_sent_total{listener=\"plain\"}"),
        Some(6.0)
    );
    assert_eq!(
        value("skein_messages_received_total{listener=\"plain\",qos=\"0\"}"),
        Some(3.0)
    );
    assert_eq!(
        value("skein_messages_received_total{listener=\"plain\",qos=\"1\"}"),
        Some(0.0)
    );
    assert_eq!(
        value("skein_message_bytes_received_total{listener=\"plain\",qos=\"0\"}"),
        Some(15.0)
    );
    assert_eq!(
        value("skein_connections_accepted_total{listener=\"plain\"}"),
        Some(1.0)
    );
    // The other listener saw nothing.
    assert_eq!(
        value("skein_connections_accepted_total{listener=\"idle\"}"),
        Some(0.0)
    );
    assert_eq!(
        value("skein_bytes_received_total{listener=\"idle\"}"),
        Some(0.0)
    );
    assert_eq!(value("skein_clients_maximum"), Some(1.0));
    // No subscriber: nothing queued, nothing dropped.
    assert_eq!(value("skein_messages_queued_total"), Some(0.0));
    assert_eq!(
        value("skein_messages_dropped_total{reason=\"queue_full\"}"),
        Some(0.0)
    );
    assert_eq!(value("skein_retained_messages"), Some(0.0));
    let after = scrape_until(http, "skein_clients_connected", 0.0);
    assert_eq!(after.get("skein_clients_connected"), Some(&0.0));

    let (status, _) = get(http, "/other");
    assert!(status.contains("404"), "{status}");
    // What a load balancer and Kubernetes probe: alive, and serving.
    let (status, body) = get(http, "/healthz");
    assert!(
        status.contains("200") && body == "ok\n",
        "{status} {body:?}"
    );
    let (status, body) = get(http, "/readyz");
    assert!(
        status.contains("200") && body == "ready\n",
        "{status} {body:?}"
    );
    let build = format!(
        "skein_build_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&build), Some(1.0), "{m:?}");
    // The process's own figures, beside the broker's.
    assert!(
        value("process_resident_memory_bytes").is_some_and(|bytes| bytes > 0.0),
        "{m:?}"
    );
    assert!(
        value("process_open_fds").is_some_and(|fds| fds > 0.0),
        "{m:?}"
    );

    let finished = broker.finish(Duration::ZERO);
    let _ = fs::remove_dir_all(&dir);
    drop(finished);
}

/// `[limits] client_message_rate`: a client that sends three seconds' worth at once is
/// paused, not refused: every message is read (the PINGREQ behind them is answered), and the
/// pause is counted in `skein_throttled_total` of its listener.
#[test]
fn a_client_past_its_message_rate_is_paused_and_the_pause_counted() {
    let mqtt = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (broker, dir) = start(
        "client-rate",
        &format!(
            "[[listener]]\nname = \"slow\"\nbind = \"{mqtt}\"\n\
             [limits]\nclient_message_rate = 10\n\
             [sys]\ninterval = 0\n[metrics]\nbind = \"{http}\"\n"
        ),
    );
    wait_accepting(http);
    let mut client = TcpStream::connect_timeout(&mqtt, WAIT).expect("connecting over MQTT");
    client.set_read_timeout(Some(WAIT)).expect("read timeout");
    send(&mut client, &connect("eager"));
    assert_eq!(read_exact(&mut client, 4), [0x20, 2, 0, 0], "CONNACK");
    // 30 PUBLISH packets at once, then a PINGREQ: 20 past the bucket of 10.
    let burst: Vec<u8> = PUBLISH.repeat(30).into_iter().chain(PINGREQ).collect();
    send(&mut client, &burst);
    assert_eq!(read_exact(&mut client, 2), [0xD0, 0], "PINGRESP");
    let m = scrape_until(
        http,
        "skein_messages_received_total{listener=\"slow\",qos=\"0\"}",
        30.0,
    );
    let throttled = m
        .get("skein_throttled_total{listener=\"slow\"}")
        .copied()
        .unwrap_or_default();
    assert!(throttled >= 1.0, "{m:?}");
    assert_eq!(
        m.get("skein_messages_received_total{listener=\"slow\",qos=\"0\"}"),
        Some(&30.0)
    );
    drop(client);
    let _ = broker.finish(Duration::ZERO);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_traced_client_has_its_packets_logged_at_info() {
    let mqtt = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (broker, dir) = start(
        "trace",
        &format!(
            "[[listener]]\nbind = \"{mqtt}\"\n[log]\nlevel = \"info\"\ntrace_clients = [\"traced\"]\n"
        ),
    );
    wait_accepting(mqtt);
    for client_id in ["traced", "other"] {
        let mut client = connect_publish_ping(mqtt, &connect(client_id), 1);
        send(&mut client, &DISCONNECT);
        let _ = client.read_to_end(&mut Vec::new());
    }
    // The log is complete once the broker has stopped: it writes what is queued on its way out.
    broker.terminate();
    let finished = broker.finish(WAIT);
    let log = format!("{}{}", finished.stdout, finished.stderr);
    let _ = fs::remove_dir_all(&dir);
    for line in [
        " as traced (p4, c1, k60)",
        "Sending CONNACK to traced",
        "Received PUBLISH from traced",
        "Received PINGREQ from traced",
        "Sending PINGRESP to traced",
        "Received DISCONNECT from traced",
    ] {
        assert!(log.contains(line), "{line:?} is not in the log:\n{log}");
    }
    assert!(
        !log.contains("Received PUBLISH from other"),
        "an untraced client's packets are not logged at info:\n{log}"
    );
}

#[test]
fn hook_latency_is_exported_and_cached_decisions_call_no_hook() {
    let mqtt = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let dir = scratch_dir("hook-metrics-acl");
    let acl = dir.join("acl");
    fs::write(&acl, "topic readwrite a/#\n").expect("writing the ACL file");
    let (broker, config_dir) = start(
        "hook-metrics",
        &format!(
            "[[listener]]\nbind = \"{mqtt}\"\n[sys]\ninterval = 0\n[metrics]\nbind = \"{http}\"\n\
             [auth]\nacl_file = \"{}\"\n",
            acl.display()
        ),
    );
    wait_accepting(http);
    // Three publishes to one topic: the ACL file is asked once, its decision cached.
    let mut client = connect_publish_ping(mqtt, &connect("m"), 3);

    let m = scrape_until(
        http,
        &format!("skein_messages_received_total{{listener=\"{mqtt}\",qos=\"0\"}}"),
        3.0,
    );
    let count = m
        .iter()
        .find(|(key, _)| {
            key.starts_with("skein_hook_duration_seconds_count{")
                && key.contains("hook=\"acl-file\"")
                && key.contains("point=\"authorize_publish\"")
        })
        .map(|(_, value)| *value);
    assert_eq!(count, Some(1.0), "{m:?}");
    send(&mut client, &DISCONNECT);
    let _ = broker.finish(Duration::ZERO);
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_dir_all(&config_dir);
}

#[test]
fn idle_clients_are_parked_and_a_message_wakes_the_subscriber() {
    let mqtt = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (broker, dir) = start(
        "parked",
        &format!(
            "[[listener]]\nbind = \"{mqtt}\"\n[session]\npark_idle_after_ms = 100\n[metrics]\nbind = \"{http}\"\n"
        ),
    );
    wait_accepting(http);
    let mut subscriber = TcpStream::connect_timeout(&mqtt, WAIT).expect("connecting over MQTT");
    subscriber
        .set_read_timeout(Some(WAIT))
        .expect("read timeout");
    send(&mut subscriber, &connect("sub"));
    assert_eq!(read_exact(&mut subscriber, 4), [0x20, 2, 0, 0], "CONNACK");
    send(&mut subscriber, &SUBSCRIBE);
    assert_eq!(read_exact(&mut subscriber, 5), SUBACK, "SUBACK");
    let parked = scrape_until(http, "skein_clients_parked", 1.0);
    assert_eq!(parked.get("skein_clients_parked"), Some(&1.0));

    // The publisher's PUBLISH reaches the parked subscriber, byte for byte.
    let _publisher = connect_publish_ping(mqtt, &connect("pub"), 1);
    assert_eq!(read_exact(&mut subscriber, PUBLISH.len()), PUBLISH);
    // Both are idle again: both park.
    let parked = scrape_until(http, "skein_clients_parked", 2.0);
    assert_eq!(parked.get("skein_clients_parked"), Some(&2.0));
    assert_eq!(parked.get("skein_clients_connected"), Some(&2.0));
    // A parked client answers a ping at once.
    send(&mut subscriber, &PINGREQ);
    assert_eq!(read_exact(&mut subscriber, 2), [0xD0, 0], "PINGRESP");

    let finished = broker.finish(Duration::ZERO);
    let _ = fs::remove_dir_all(&dir);
    drop(finished);
}

/// A 3.1.1 CONNECT for a long `client_id`, clean session, keep-alive 60 s.
fn connect_long(client_id: &str) -> Vec<u8> {
    let remaining = 12 + client_id.len();
    assert!(remaining < 128 * 128, "two length bytes");
    let mut packet = vec![
        0x10,
        (remaining % 128) as u8 | 0x80,
        (remaining / 128) as u8,
    ];
    packet.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60]);
    packet.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    packet.extend_from_slice(client_id.as_bytes());
    packet
}

/// PINGREQs each client of [`a_stderr_pipe_nobody_reads_never_stops_the_broker`] sends.
const PINGS: usize = 40;

/// Issue 12, item 6: with its standard error a pipe nobody reads, `skein` at debug level (a
/// line per packet) still answers every CONNECT of 300 clients with 8,000-byte identifiers,
/// and their 12,000 PINGREQs, counts the log lines it had to drop once the pipe (64 KiB) and
/// the log's queue (16,384 lines) were full, and exits on SIGTERM within a bounded time.
/// Before the non-blocking writer, the first full pipe stopped every task that logged.
#[test]
fn a_stderr_pipe_nobody_reads_never_stops_the_broker() {
    let mqtt = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let dir = scratch_dir("stderr-pipe");
    let path = dir.join("skein.toml");
    fs::write(
        &path,
        format!(
            "[[listener]]\nbind = \"{mqtt}\"\n[sys]\ninterval = 0\n[metrics]\nbind = \"{http}\"\n\
             [log]\nlevel = \"debug\"\n"
        ),
    )
    .expect("writing the config");
    let child = Command::new(env!("CARGO_BIN_EXE_skein"))
        .arg("--config")
        .arg(&path)
        .current_dir(&dir)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawning skein");
    let mut skein = UnreadStderr::new(child);
    wait_accepting(mqtt);
    wait_accepting(http);
    let mut clients = Vec::new();
    for i in 0..300 {
        let id = format!("{i:04}-{}", "x".repeat(8_000));
        let mut client = TcpStream::connect_timeout(&mqtt, WAIT).expect("connecting");
        client.set_read_timeout(Some(WAIT)).expect("read timeout");
        send(&mut client, &connect_long(&id));
        assert_eq!(read_exact(&mut client, 4), [0x20, 2, 0, 0], "CONNACK {i}");
        // Two debug lines each, so that the 16,384 queued lines overflow too.
        send(&mut client, &PINGREQ.repeat(PINGS));
        assert_eq!(
            read_exact(&mut client, 2 * PINGS),
            [0xD0, 0].repeat(PINGS),
            "{i}"
        );
        clients.push(client);
    }
    let (status, body) = get(http, "/metrics");
    assert!(status.contains("200"), "{status}");
    let dropped = samples(&body)
        .get("skein_log_lines_dropped_total")
        .copied()
        .unwrap_or_default();
    assert!(
        dropped > 0.0,
        "the pipe filled, so lines were dropped: {body}"
    );

    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &skein.child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(killed.success());
    loop {
        if let Some(exit) = skein.child.try_wait().expect("try_wait") {
            assert!(exit.success(), "exit status {exit:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "skein still running 15 s after SIGTERM"
        );
        thread::sleep(Duration::from_millis(50));
    }
    drop(clients);
    let _ = fs::remove_dir_all(&dir);
}

/// A `skein` whose standard error is a pipe held open and never read; killed by its PID on
/// drop if it is still running (a failed test), then the pipe is closed.
struct UnreadStderr {
    child: std::process::Child,
    _stderr: std::process::ChildStderr,
}

impl UnreadStderr {
    fn new(mut child: std::process::Child) -> UnreadStderr {
        let stderr = child.stderr.take().expect("piped stderr");
        UnreadStderr {
            child,
            _stderr: stderr,
        }
    }
}

impl Drop for UnreadStderr {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
