//! Integration tests with Debian's `mosquitto_pub` / `mosquitto_sub` (package
//! `mosquitto-clients`, installed by `.ci/run`) against the running `skein` binary, for
//! MQTT 3.1, 3.1.1 and 5.0.
//!
//! `mosquitto_sub -d` (run under `stdbuf -oL`, so its output is line-buffered) prints
//! "received SUBACK" once subscribed; only then do the publishers run, so no message can race
//! the subscription. `-F 'MSG %q %r %t %p'` prints each message's QoS, retain flag, topic and
//! payload on one line. Every program runs with a timeout.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{require_program, run, Broker};

const WAIT: Duration = Duration::from_secs(10);

/// One message as `mosquitto_sub -F 'MSG %q %r %t %p'` printed it.
#[derive(Debug, PartialEq, Eq)]
struct Received {
    qos: u8,
    retain: bool,
    topic: String,
    payload: String,
}

/// A running `mosquitto_sub`, its output read line by line.
struct Sub {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Sub {
    /// Starts `mosquitto_sub` for `count` messages on `topic` and waits for its SUBACK.
    fn start(broker: &Broker, version: &str, id: &str, topic: &str, qos: u8, count: u32) -> Sub {
        require_clients();
        // stdbuf: line-buffered output through the pipe, so "received SUBACK" shows at once.
        let mut child = Command::new("stdbuf")
            .args(["-oL", "mosquitto_sub"])
            .args(["-h", "127.0.0.1", "-p", &broker.port().to_string()])
            .args(["-V", version, "-i", id, "-t", topic, "-q", &qos.to_string()])
            .args(["-C", &count.to_string(), "-W", "10", "-d"])
            .args(["-F", "MSG %q %r %t %p"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting mosquitto_sub");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let tx2 = tx.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx2.send(format!("stderr: {line}"));
            }
        });
        let mut sub = Sub {
            child,
            lines,
            seen: Vec::new(),
        };
        let deadline = Instant::now() + WAIT;
        while !sub.seen.iter().any(|l| l.contains("received SUBACK")) {
            let left = deadline.saturating_duration_since(Instant::now());
            match sub.lines.recv_timeout(left) {
                Ok(line) => sub.seen.push(line),
                Err(_) => panic!(
                    "mosquitto_sub got no SUBACK within {WAIT:?}; it printed:\n{}\n--- broker log ---\n{}",
                    sub.seen.join("\n"),
                    broker.log()
                ),
            }
        }
        sub
    }

    /// Waits (bounded) for `mosquitto_sub` to exit after its `-C` count; returns the messages.
    fn finish(mut self, broker: &Broker) -> Vec<Received> {
        let deadline = Instant::now() + WAIT + Duration::from_secs(2);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        // The reader threads end at EOF, once the process is gone.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        let output = self.seen.join("\n");
        assert!(
            status.is_some_and(|s| s.success()),
            "mosquitto_sub did not receive its messages (exit {status:?}); it printed:\n{output}\n--- broker log ---\n{}",
            broker.log()
        );
        self.seen
            .iter()
            .filter_map(|line| parse_message(line))
            .collect()
    }
}

fn parse_message(line: &str) -> Option<Received> {
    let rest = line.strip_prefix("MSG ")?;
    let mut parts = rest.splitn(4, ' ');
    let qos = parts.next()?.parse().ok()?;
    let retain = parts.next()? == "1";
    let topic = parts.next()?.to_owned();
    let payload = parts.next().unwrap_or("").to_owned();
    Some(Received {
        qos,
        retain,
        topic,
        payload,
    })
}

fn require_clients() {
    require_program(
        "mosquitto_sub",
        &["--help"],
        "mosquitto_sub (Debian package mosquitto-clients)",
    );
    require_program(
        "mosquitto_pub",
        &["--help"],
        "mosquitto_pub (Debian package mosquitto-clients)",
    );
}

/// Runs `mosquitto_pub` with `args` (plus host and port) and fails unless it exits 0.
fn publish(broker: &Broker, version: &str, id: &str, args: &[&str]) {
    require_clients();
    let mut command = Command::new("mosquitto_pub");
    command
        .args(["-h", "127.0.0.1", "-p", &broker.port().to_string()])
        .args(["-V", version, "-i", id])
        .args(args);
    let finished = run(command, WAIT);
    assert!(
        finished.success(),
        "mosquitto_pub {args:?} failed: {}\n--- broker log ---\n{}",
        finished.describe(),
        broker.log()
    );
}

fn msg(qos: u8, retain: bool, topic: &str, payload: &str) -> Received {
    Received {
        qos,
        retain,
        topic: topic.to_owned(),
        payload: payload.to_owned(),
    }
}

/// `mosquitto_sub -C 3` receives the 3 messages `mosquitto_pub` sends at QoS 0, 1 and 2, each
/// at its own QoS (granted QoS 2), in order.
fn qos_round_trip(version: &str, tag: &str) {
    let broker = Broker::start();
    let topic = format!("it/{tag}/t");
    let sub = Sub::start(&broker, version, &format!("{tag}-sub"), &topic, 2, 3);
    for qos in ["0", "1", "2"] {
        let id = format!("{tag}-pub{qos}");
        let payload = format!("hello at qos {qos}");
        publish(
            &broker,
            version,
            &id,
            &["-t", &topic, "-q", qos, "-m", &payload],
        );
    }
    let got = sub.finish(&broker);
    let want = vec![
        msg(0, false, &topic, "hello at qos 0"),
        msg(1, false, &topic, "hello at qos 1"),
        msg(2, false, &topic, "hello at qos 2"),
    ];
    assert_eq!(got, want, "{}", broker.log());
}

// MQTT-3.3.4-1 (the QoS flows), MQTT-3.8.4-6 (v3.1.1) / MQTT-3.8.4-8 (v5): delivered at
// min(published, granted).
#[test]
fn mosquitto_v311_qos_0_1_2_round_trip_mqtt_3_3_4_1() {
    qos_round_trip("mqttv311", "mq311");
}

#[test]
fn mosquitto_v5_qos_0_1_2_round_trip_mqtt_3_3_4_1() {
    qos_round_trip("mqttv5", "mq5");
}

#[test]
fn mosquitto_v31_mqisdp_qos_0_1_2_round_trip() {
    qos_round_trip("mqttv31", "mq31");
}

/// `mosquitto_pub -r` sets a retained message; a later `mosquitto_sub` gets it with RETAIN 1;
/// `mosquitto_pub -r -n` (empty payload) clears it, so the next subscriber's first message is
/// a marker published after its SUBACK.
fn retained(version: &str, tag: &str) {
    let broker = Broker::start();
    let topic = format!("it/{tag}/retained");
    let t = topic.as_str();
    publish(
        &broker,
        version,
        &format!("{tag}-p1"),
        &["-t", t, "-q", "1", "-r", "-m", "kept"],
    );
    let sub = Sub::start(&broker, version, &format!("{tag}-s1"), t, 1, 1);
    assert_eq!(sub.finish(&broker), vec![msg(1, true, t, "kept")]);

    publish(
        &broker,
        version,
        &format!("{tag}-p2"),
        &["-t", t, "-q", "1", "-r", "-n"],
    );
    let sub = Sub::start(&broker, version, &format!("{tag}-s2"), t, 1, 1);
    publish(
        &broker,
        version,
        &format!("{tag}-p3"),
        &["-t", t, "-q", "1", "-m", "marker"],
    );
    assert_eq!(
        sub.finish(&broker),
        vec![msg(1, false, t, "marker")],
        "the retained message should have been cleared by the empty payload"
    );
}

// v3.1.1 MQTT-3.3.1-5, -6, -8, -10, -11; v5 MQTT-3.3.1-5, -6, -7, -9.
#[test]
fn mosquitto_v311_retained_set_and_cleared_mqtt_3_3_1_5_6_10() {
    retained("mqttv311", "mqr311");
}

#[test]
fn mosquitto_v5_retained_set_and_cleared_mqtt_3_3_1_5_6_7() {
    retained("mqttv5", "mqr5");
}

#[test]
fn mosquitto_v31_mqisdp_retained_set_and_cleared() {
    retained("mqttv31", "mqr31");
}

/// A subscriber idle for longer than the park delay (2 s by default) is parked: its
/// connection has no task of its own. A message must still reach it at once, at every QoS,
/// exactly as if it had never parked (MQTT-3.3.4-1).
#[test]
fn mosquitto_sub_idle_and_parked_still_gets_every_message() {
    let broker = Broker::start();
    let topic = "it/parked/t";
    let sub = Sub::start(&broker, "mqttv5", "parked-sub", topic, 2, 3);
    thread::sleep(Duration::from_millis(2_600));
    for qos in ["0", "1", "2"] {
        publish(
            &broker,
            "mqttv311",
            &format!("parked-pub{qos}"),
            &[
                "-t",
                topic,
                "-q",
                qos,
                "-m",
                &format!("after parking {qos}"),
            ],
        );
    }
    let got = sub.finish(&broker);
    let want = vec![
        msg(0, false, topic, "after parking 0"),
        msg(1, false, topic, "after parking 1"),
        msg(2, false, topic, "after parking 2"),
    ];
    assert_eq!(got, want, "{}", broker.log());
}
