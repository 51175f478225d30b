//! Issue 13, the crash test on the real binary: publishers (QoS 1 on clean rumqttc sessions,
//! QoS 2 on a persistent session that resends after each failure as the spec asks) send
//! numbered messages to persistent subscribers (one always connected, one that comes and goes, one
//! away until the end) while `skein` is killed with SIGKILL 20 times at random moments and
//! started again on the same data directory and port. At the end everyone reconnects, and
//! every message whose PUBACK (QoS 1) or PUBREC (QoS 2) a publisher received must have reached
//! every subscriber, in order per publisher at first delivery; every resumed session is
//! present; the subscriptions and the retained message are there. It prints sent /
//! acknowledged / delivered / duplicates / lost per subscriber.
//!
//! Asserted: every acknowledged QoS 1 message reaches every subscriber at least once, and every
//! acknowledged QoS 2 message exactly once, in order at first delivery. The subscribers
//! receive as careful clients do (MQTT 3.1.1 §4.3.3, method B: a QoS 2 packet identifier is
//! kept until its PUBREL, across connections), so a QoS 2 message resent under a new
//! identifier would count as a duplicate, and one sent under an identifier still held would
//! count as lost.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use broker_core::codec::{
    Ack, Connect, Decoder, Packet, Publish, QosPid, Subscribe, SubscribeProperties, Subscription,
    SubscriptionOptions,
};
use broker_core::types::{
    ClientId, PacketId, ProtocolVersion, QoS as CoreQoS, TopicFilter, TopicName,
};
use bytes::BytesMut;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet as RPacket, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::integration::persistence::kill_9;
use crate::support::{free_port, scratch_dir, ConfiguredSkein};

const KILLS: usize = 20;
const TOPICS: [(&str, QoS); 2] = [("c/q1/p", QoS::AtLeastOnce), ("c/q2/p", QoS::ExactlyOnce)];

/// How a subscriber behaves while the broker is being killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Connected whenever the broker is up.
    Online,
    /// Connects for a while, leaves for a while.
    Flapping,
    /// Subscribes at the start, comes back at the end.
    Away,
}

/// What a subscriber saw: (topic, sequence number) in arrival order, and every CONNACK's
/// Session Present after its first connection.
#[derive(Default)]
struct Seen {
    messages: Vec<(String, u64)>,
    present: Vec<bool>,
}

fn options(id: &str, port: u16, clean: bool) -> MqttOptions {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_clean_session(clean);
    options
}

/// A subscriber that receives as the spec asks (MQTT 3.1.1 §4.3.3, method B): a QoS 2
/// PUBLISH goes to the application once per packet identifier until its PUBREL, every PUBREL
/// is answered with PUBCOMP, and the identifiers awaiting PUBREL are kept across connections,
/// as a client with a persistent session keeps them. Raw MQTT over TCP with broker-core's
/// codec (rumqttc drops its inbound QoS 2 state on reconnection and then fails on the broker's
/// legitimate PUBREL resend).
struct Receiver {
    id: &'static str,
    port: u16,
    /// QoS 2 packet identifiers received and not yet released.
    awaiting_release: HashSet<u16>,
    subscribed: bool,
}

impl Receiver {
    /// One connection, for at most `window` (or until `stop`): CONNECT (clean session 0),
    /// SUBSCRIBE on the first one, then every packet answered and every message recorded.
    /// Returns whether a CONNACK came.
    async fn connection(
        &mut self,
        seen: &Mutex<Seen>,
        window: Duration,
        stop: &watch::Receiver<bool>,
    ) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let mut connect = Connect::new(ProtocolVersion::V3_1_1, ClientId::new(self.id).unwrap());
        connect.clean_start = false;
        connect.keep_alive = 30;
        let mut out = BytesMut::new();
        Packet::Connect(Box::new(connect))
            .encode(ProtocolVersion::V3_1_1, &mut out)
            .unwrap();
        if stream.write_all(&out).await.is_err() {
            return false;
        }
        let mut decoder = Decoder::with_version(ProtocolVersion::V3_1_1);
        let mut buf = BytesMut::new();
        let deadline = tokio::time::Instant::now() + window;
        let mut connected = false;
        loop {
            let packet = loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(packet)) => break Some(packet),
                    Ok(None) => {}
                    Err(_) => break None,
                }
                if *stop.borrow() {
                    break None;
                }
                match tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)).await {
                    Ok(Ok(n)) if n > 0 => {}
                    _ => break None,
                }
            };
            let Some(packet) = packet else {
                return connected;
            };
            let mut answer = BytesMut::new();
            match packet {
                Packet::ConnAck(ack) => {
                    connected = true;
                    if self.subscribed {
                        seen.lock().unwrap().present.push(ack.session_present);
                    } else {
                        let subscriptions = TOPICS
                            .iter()
                            .map(|(topic, qos)| Subscription {
                                filter: TopicFilter::new(format!(
                                    "{}/#",
                                    topic.trim_end_matches("/p")
                                ))
                                .unwrap(),
                                options: SubscriptionOptions::qos(to_core(*qos)),
                            })
                            .collect();
                        let subscribe = Subscribe {
                            packet_id: PacketId::new(1).unwrap(),
                            subscriptions,
                            properties: SubscribeProperties::default(),
                        };
                        Packet::Subscribe(subscribe)
                            .encode(ProtocolVersion::V3_1_1, &mut answer)
                            .unwrap();
                    }
                }
                Packet::SubAck(_) => self.subscribed = true,
                Packet::Publish(publish) => {
                    let fresh = match publish.qos_pid {
                        QosPid::AtMostOnce => true,
                        QosPid::AtLeastOnce(id) => {
                            Packet::PubAck(Ack::new(id))
                                .encode(ProtocolVersion::V3_1_1, &mut answer)
                                .unwrap();
                            true
                        }
                        QosPid::ExactlyOnce(id) => {
                            Packet::PubRec(Ack::new(id))
                                .encode(ProtocolVersion::V3_1_1, &mut answer)
                                .unwrap();
                            self.awaiting_release.insert(id.get())
                        }
                    };
                    if fresh {
                        let topic = publish
                            .topic
                            .map(|t| t.as_str().to_owned())
                            .unwrap_or_default();
                        let seq = std::str::from_utf8(&publish.payload)
                            .unwrap()
                            .parse()
                            .unwrap();
                        seen.lock().unwrap().messages.push((topic, seq));
                    }
                }
                Packet::PubRel(rel) => {
                    self.awaiting_release.remove(&rel.packet_id.get());
                    Packet::PubComp(Ack::new(rel.packet_id))
                        .encode(ProtocolVersion::V3_1_1, &mut answer)
                        .unwrap();
                }
                _ => {}
            }
            if !answer.is_empty() && stream.write_all(&answer).await.is_err() {
                return connected;
            }
        }
    }
}

fn to_core(qos: QoS) -> CoreQoS {
    match qos {
        QoS::AtMostOnce => CoreQoS::AtMostOnce,
        QoS::AtLeastOnce => CoreQoS::AtLeastOnce,
        QoS::ExactlyOnce => CoreQoS::ExactlyOnce,
    }
}

/// A subscriber for the whole run: connects as its mode says, and stays connected once `back`
/// is set, until `stop`.
fn spawn_subscriber(
    id: &'static str,
    mode: Mode,
    port: u16,
    seen: Arc<Mutex<Seen>>,
    back: watch::Receiver<bool>,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut receiver = Receiver {
            id,
            port,
            awaiting_release: HashSet::new(),
            subscribed: false,
        };
        loop {
            if *stop.borrow() {
                return;
            }
            let here = *back.borrow();
            let (window, pause) = match mode {
                _ if here => (Duration::from_millis(500), Duration::from_millis(20)),
                Mode::Online => (Duration::from_secs(2), Duration::from_millis(20)),
                Mode::Flapping => (Duration::from_millis(300), Duration::from_millis(400)),
                Mode::Away if !receiver.subscribed => (Duration::from_millis(500), Duration::ZERO),
                Mode::Away => (Duration::ZERO, Duration::from_millis(100)),
            };
            if !window.is_zero() {
                receiver.connection(&seen, window, &stop).await;
            }
            tokio::time::sleep(pause).await;
        }
    })
}

/// What a publisher sent and what the broker acknowledged (PUBACK, PUBREC), by sequence number.
#[derive(Default)]
struct Sent {
    sent: u64,
    acked: Vec<u64>,
}

/// A publisher on `topic` at `qos` until `stop`: a fresh clean rumqttc connection after every
/// failure, which does not resend (a message without its PUBACK is simply not counted).
fn spawn_publisher(
    topic: &'static str,
    qos: QoS,
    port: u16,
    sent: Arc<Mutex<Sent>>,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut next = 1u64;
        let mut connection = 0;
        while !*stop.borrow() {
            connection += 1;
            let id = format!("crash-pub-{}-{connection}", &topic[2..4]);
            let (client, mut events) = AsyncClient::new(options(&id, port, true), 64);
            let mut submitted: VecDeque<u64> = VecDeque::new();
            let mut by_pkid: HashMap<u16, u64> = HashMap::new();
            loop {
                if *stop.borrow() {
                    break;
                }
                if submitted.len() < 20
                    && client
                        .try_publish(topic, qos, false, next.to_string())
                        .is_ok()
                {
                    submitted.push_back(next);
                    sent.lock().unwrap().sent = next;
                    next += 1;
                }
                let event =
                    match tokio::time::timeout(Duration::from_millis(50), events.poll()).await {
                        Ok(Ok(event)) => event,
                        Ok(Err(_)) => break,
                        Err(_) => continue,
                    };
                match event {
                    Event::Outgoing(Outgoing::Publish(pkid)) => {
                        if let Some(seq) = submitted.pop_front() {
                            by_pkid.insert(pkid, seq);
                        }
                    }
                    Event::Incoming(RPacket::PubAck(ack)) => {
                        if let Some(seq) = by_pkid.remove(&ack.pkid) {
                            sent.lock().unwrap().acked.push(seq);
                        }
                    }
                    _ => {}
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// A QoS 2 publisher with a persistent session for the whole run, that sends as the spec asks
/// (MQTT 3.1.1 §4.3.3): after a failure it resends each PUBLISH not yet answered by PUBREC
/// with DUP set under its packet identifier, and the PUBREL of each one that was, until the
/// PUBCOMP; the broker must take each message once ([MQTT-4.3.3-10]). Raw MQTT with
/// broker-core's codec, so that every packet identifier maps to its message for certain.
fn spawn_qos2_publisher(
    topic: &'static str,
    port: u16,
    sent: Arc<Mutex<Sent>>,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let version = ProtocolVersion::V3_1_1;
        // Packet identifier -> (sequence number, PUBREC received).
        let mut in_flight: BTreeMap<u16, (u64, bool)> = BTreeMap::new();
        let mut next = 1u64;
        let mut next_id = 1u16;
        while !*stop.borrow() {
            let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let mut connect = Connect::new(version, ClientId::new("crash-pub-q2").unwrap());
            connect.clean_start = false;
            connect.keep_alive = 30;
            let mut out = BytesMut::new();
            Packet::Connect(Box::new(connect))
                .encode(version, &mut out)
                .unwrap();
            // The resends, in order, once connected.
            for (id, (seq, recorded)) in &in_flight {
                let id = PacketId::new(*id).unwrap();
                let packet = if *recorded {
                    Packet::PubRel(Ack::new(id))
                } else {
                    qos2_publish(topic, *seq, id, true)
                };
                packet.encode(version, &mut out).unwrap();
            }
            if stream.write_all(&out).await.is_err() {
                continue;
            }
            let mut decoder = Decoder::with_version(version);
            let mut buf = BytesMut::new();
            'connection: while !*stop.borrow() {
                // Up to 20 in flight.
                let mut out = BytesMut::new();
                while in_flight.len() < 20 {
                    while in_flight.contains_key(&next_id) {
                        next_id = next_id.checked_add(1).unwrap_or(1);
                    }
                    in_flight.insert(next_id, (next, false));
                    qos2_publish(topic, next, PacketId::new(next_id).unwrap(), false)
                        .encode(version, &mut out)
                        .unwrap();
                    sent.lock().unwrap().sent = next;
                    next += 1;
                }
                if !out.is_empty() && stream.write_all(&out).await.is_err() {
                    break;
                }
                let packet = loop {
                    match decoder.decode(&mut buf) {
                        Ok(Some(packet)) => break packet,
                        Ok(None) => {}
                        Err(_) => break 'connection,
                    }
                    match tokio::time::timeout(
                        Duration::from_millis(200),
                        stream.read_buf(&mut buf),
                    )
                    .await
                    {
                        Ok(Ok(n)) if n > 0 => {}
                        Ok(_) => break 'connection,
                        Err(_) => continue 'connection,
                    }
                };
                let mut answer = BytesMut::new();
                match packet {
                    Packet::PubRec(rec) => {
                        if let Some((seq, recorded)) = in_flight.get_mut(&rec.packet_id.get()) {
                            if !*recorded {
                                *recorded = true;
                                sent.lock().unwrap().acked.push(*seq);
                            }
                            Packet::PubRel(Ack::new(rec.packet_id))
                                .encode(version, &mut answer)
                                .unwrap();
                        }
                    }
                    Packet::PubComp(comp)
                        if in_flight
                            .get(&comp.packet_id.get())
                            .is_some_and(|(_, recorded)| *recorded) =>
                    {
                        in_flight.remove(&comp.packet_id.get());
                    }
                    _ => {}
                }
                if !answer.is_empty() && stream.write_all(&answer).await.is_err() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// A QoS 2 PUBLISH of message `seq` under `id`.
fn qos2_publish(topic: &str, seq: u64, id: PacketId, dup: bool) -> Packet {
    let mut publish = Publish::new(
        TopicName::new(topic.to_owned()).unwrap(),
        seq.to_string().into(),
    );
    publish.qos_pid = QosPid::ExactlyOnce(id);
    publish.dup = dup;
    Packet::Publish(publish)
}

/// skein on `port`, its sessions in `data`.
fn start(tag: &str, data: &Path, port: u16) -> ConfiguredSkein {
    ConfiguredSkein::start(tag, |_| {
        let config = format!(
            "[[listener]]\nbind = \"127.0.0.1:{port}\"\n[sys]\ninterval = 0\n\
             [session]\nqueue_max_messages = 1000000\nqueue_max_bytes = \"1GiB\"\n\
             [storage]\ndurability = \"sync\"\ndata_dir = {:?}\n",
            data.display().to_string()
        );
        (config, port)
    })
}

/// A small xorshift: the kill times, reproducible from the printed seed.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_across_20_kills_of_the_broker() {
    let data = scratch_dir("crash-data");
    let port = free_port();
    let mut skein = start("crash-0", &data, port);
    // A retained message, there before the first kill.
    {
        let (client, mut events) = AsyncClient::new(options("crash-retainer", port, true), 8);
        client
            .publish("c/retained", QoS::AtLeastOnce, true, "kept")
            .await
            .unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(5), events.poll()).await {
                Ok(Ok(Event::Incoming(RPacket::PubAck(_)))) => break,
                Ok(Ok(_)) => {}
                other => panic!("no PUBACK for the retained message: {other:?}"),
            }
        }
    }
    let (stop_tx, stop) = watch::channel(false);
    let (back_tx, back) = watch::channel(false);
    let (subscribers_stop, subscribers_stopped) = watch::channel(false);
    let subscribers = [
        ("crash-online", Mode::Online),
        ("crash-flapping", Mode::Flapping),
        ("crash-away", Mode::Away),
    ];
    let mut seen = BTreeMap::new();
    let mut tasks = Vec::new();
    let mut subscriber_tasks = Vec::new();
    for (id, mode) in subscribers {
        let record = Arc::new(Mutex::new(Seen::default()));
        seen.insert(id, Arc::clone(&record));
        subscriber_tasks.push(spawn_subscriber(
            id,
            mode,
            port,
            record,
            back.clone(),
            subscribers_stopped.clone(),
        ));
    }
    // The subscriptions are in place before anything is published.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut sent = BTreeMap::new();
    for (topic, qos) in TOPICS {
        let record = Arc::new(Mutex::new(Sent::default()));
        sent.insert(topic, Arc::clone(&record));
        tasks.push(if qos == QoS::ExactlyOnce {
            spawn_qos2_publisher(topic, port, record, stop.clone())
        } else {
            spawn_publisher(topic, qos, port, record, stop.clone())
        });
    }

    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    for kill in 1..=KILLS {
        let wait = 100 + next_random(&mut seed) % 300;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        // Blocking work (the kill, the start) off the clients' workers' way.
        skein = tokio::task::block_in_place(|| {
            kill_9(&mut skein);
            start(&format!("crash-{kill}"), &data, port)
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The publishers stop; the subscribers all come back and stay.
    stop_tx.send(true).unwrap();
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    back_tx.send(true).unwrap();

    // Everyone back, until each has every acknowledged message or 20 s have passed.
    let acked: BTreeMap<&str, Vec<u64>> = sent
        .iter()
        .map(|(topic, s)| {
            let mut acked = s.lock().unwrap().acked.clone();
            acked.sort_unstable();
            (*topic, acked)
        })
        .collect();
    // One pass over what a subscriber received (a lookup per acknowledged message), so that
    // the check, which holds the subscriber's record, stays short however many there are.
    let complete = |seen: &Seen| {
        let received: HashSet<(&str, u64)> = seen
            .messages
            .iter()
            .map(|(t, s)| (t.as_str(), *s))
            .collect();
        acked
            .iter()
            .all(|(topic, seqs)| seqs.iter().all(|seq| received.contains(&(*topic, *seq))))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen
        .values()
        .all(|record| complete(&record.lock().unwrap()))
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    subscribers_stop.send(true).unwrap();
    for task in subscriber_tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }

    let mut failures = Vec::new();
    for (id, record) in &seen {
        let record = record.lock().unwrap();
        if record.present.iter().any(|present| !present) {
            failures.push(format!("{id}: a CONNACK said Session Present 0"));
        }
        for (topic, qos) in TOPICS {
            let topic_acked = &acked[topic];
            let mut first_seen: Vec<u64> = Vec::new();
            let mut counts: HashMap<u64, usize> = HashMap::new();
            for (t, seq) in &record.messages {
                if t == topic {
                    let count = counts.entry(*seq).or_default();
                    if *count == 0 {
                        first_seen.push(*seq);
                    }
                    *count += 1;
                }
            }
            let lost: Vec<u64> = topic_acked
                .iter()
                .filter(|s| !counts.contains_key(s))
                .copied()
                .collect();
            let duplicates: usize = counts.values().map(|c| c - 1).sum();
            let sent = sent[topic].lock().unwrap().sent;
            println!(
                "{id} {topic} (QoS {}): sent {sent}, acknowledged {}, delivered {}, duplicates {duplicates}, lost {}",
                qos as u8,
                topic_acked.len(),
                counts.len(),
                lost.len()
            );
            if !lost.is_empty() {
                failures.push(format!(
                    "{id}: {} acknowledged messages of {topic} lost, first {:?}",
                    lost.len(),
                    &lost[..lost.len().min(10)]
                ));
            }
            if qos == QoS::ExactlyOnce && duplicates > 0 {
                failures.push(format!("{id}: {duplicates} duplicates of {topic} at QoS 2"));
            }
            if !first_seen.windows(2).all(|w| w[0] < w[1]) {
                failures.push(format!("{id}: {topic} out of order at first delivery"));
            }
        }
    }
    // The retained message is there for a new subscriber.
    let (client, mut events) = AsyncClient::new(options("crash-late", port, true), 8);
    client
        .subscribe("c/retained", QoS::AtLeastOnce)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let retained = loop {
        match tokio::time::timeout_at(deadline, events.poll()).await {
            Ok(Ok(Event::Incoming(RPacket::Publish(p)))) => break Some(p),
            Ok(Ok(_)) => {}
            _ => break None,
        }
    };
    match retained {
        Some(p) if p.retain && &p.payload[..] == b"kept" => {}
        other => failures.push(format!("the retained message: {other:?}")),
    }
    assert!(
        acked.values().all(|a| a.len() > 100),
        "the publishers hardly got anything acknowledged: {:?}",
        acked.iter().map(|(t, a)| (t, a.len())).collect::<Vec<_>>()
    );
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        skein.log_tail()
    );
    drop(skein);
    let _ = std::fs::remove_dir_all(&data);
}
