//! The `p2p` scenario, as mqtt-load's: N publisher / subscriber pairs, each pair on its own
//! topic, QoS 0 or 1. Subscribers are connected and subscribed before any publisher starts;
//! all publishers start at the same instant, send until `duration` or their share of
//! `count`, then wait (at most `drain`) for their acknowledgements; subscribers get `drain`
//! more to receive, and stop early once nothing arrived for a second.
//!
//! A publisher writes its messages in batches of up to 64 KiB (one write and one flush per
//! batch, so over TLS one batch becomes a few full records) and keeps at most `inflight`
//! QoS 1 messages unacknowledged, refilling the window a quarter at a time. A subscriber
//! acknowledges everything one read brought with one write.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use broker_core::codec::{Ack, Packet, QosPid};
use broker_core::types::QoS;
use bytes::BytesMut;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, Instant};

use crate::mqtt::{Client, PublishTemplate, READ_CHUNK, VERSION};
use crate::net::{Connector, TlsInfo};
use crate::stats::{now_ns, read_stamp, stamp, CpuSampler, Histogram};

/// Connections being set up at once.
const CONNECT_CONCURRENCY: usize = 50;
/// How long one connection (and its subscription) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The drain ends early once no delivery arrived for this long.
const QUIET: Duration = Duration::from_secs(1);
/// Bytes a publisher writes at once, at most.
const BATCH_BYTES: usize = 64 * 1024;

/// What the scenario is asked to do.
#[derive(Clone, Debug)]
pub(crate) struct P2pSpec {
    /// Publisher / subscriber pairs.
    pub(crate) pairs: u32,
    /// QoS of publications and subscriptions (0 or 1).
    pub(crate) qos: QoS,
    /// Payload bytes per message (at least the 20-byte stamp).
    pub(crate) payload: usize,
    /// Publishers stop after this long...
    pub(crate) duration: Duration,
    /// ...or after this many messages, all publishers together.
    pub(crate) count: u64,
    /// QoS 1 messages in flight per publisher.
    pub(crate) inflight: u64,
    /// Time left for acknowledgements and deliveries after the publishers stop.
    pub(crate) drain: Duration,
    /// SO_SNDBUF of the publishers' sockets (0: the kernel's autotuning).
    pub(crate) pub_sndbuf: u32,
}

/// Runs the scenario, the publishers through `connector` and the subscribers through
/// `sub_connector` (the same broker, or another node of its cluster); the report as JSON.
pub(crate) async fn run(
    connector: &Connector,
    sub_connector: &Connector,
    spec: &P2pSpec,
    run_id: &str,
    broker_pid: Option<u32>,
) -> Result<Value> {
    let pairs = spec.pairs.max(1);
    let topics: Vec<String> = (0..pairs)
        .map(|i| format!("tls-load/{run_id}/p2p/{i}"))
        .collect();
    let sub_ids = (0..pairs).map(|i| format!("tl-{run_id}-s{i}")).collect();
    let (subscribers, tls) = connect_all(sub_connector, sub_ids, Some((&topics, spec.qos)), None)
        .await
        .context("connecting subscribers")?;
    let pub_ids = (0..pairs).map(|i| format!("tl-{run_id}-p{i}")).collect();
    let sndbuf = (spec.pub_sndbuf > 0).then_some(spec.pub_sndbuf);
    let (publishers, _) = connect_all(connector, pub_ids, None, sndbuf)
        .await
        .context("connecting publishers")?;

    let received = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let share = |i: u32| {
        spec.count / u64::from(pairs) + u64::from(u64::from(i) < spec.count % u64::from(pairs))
    };
    let mut sub_tasks = Vec::new();
    for (i, client) in (0..pairs).zip(subscribers) {
        let receiver = Receiver::new(i, share(i));
        let (received, stop) = (received.clone(), stop_rx.clone());
        sub_tasks.push(tokio::spawn(subscribe_loop(
            client, receiver, received, stop,
        )));
    }
    let start = Instant::now() + Duration::from_millis(20);
    let deadline = start + spec.duration;
    let mut pub_tasks = Vec::new();
    for ((i, client), topic) in (0..pairs).zip(publishers).zip(&topics) {
        let template = PublishTemplate::new(topic, spec.qos, spec.payload)?;
        let job = PublishJob {
            id: i,
            count: share(i),
            qos: spec.qos,
            inflight: spec.inflight.max(1),
            start,
            deadline,
            end: deadline + spec.drain,
        };
        pub_tasks.push(tokio::spawn(publish(client, template, job)));
    }
    sleep_until(start).await;
    let start_ns = now_ns();
    let cpu = CpuSampler::start(broker_pid);

    let mut failures = Vec::new();
    let (mut sent, mut acked, mut ack_errors, mut send_end_ns) = (0, 0, 0, start_ns);
    for task in pub_tasks {
        let outcome = task.await?;
        sent += outcome.sent;
        acked += outcome.acked;
        ack_errors += outcome.ack_errors;
        send_end_ns = send_end_ns.max(outcome.send_end_ns);
        failures.extend(outcome.failure);
    }
    let cpu = cpu.finish();

    let drain_end = Instant::now() + spec.drain;
    let (mut last_count, mut last_change) = (received.load(Ordering::Relaxed), Instant::now());
    loop {
        let now_count = received.load(Ordering::Relaxed);
        if now_count != last_count {
            (last_count, last_change) = (now_count, Instant::now());
        }
        if now_count >= sent || Instant::now() >= drain_end || last_change.elapsed() >= QUIET {
            break;
        }
        sleep(Duration::from_millis(5)).await;
    }
    let _ = stop_tx.send(true);
    let mut total = Receiver::new(0, 0);
    for task in sub_tasks {
        match task.await? {
            Ok(receiver) => total.merge(&receiver),
            Err(error) => failures.push(format!("subscriber: {error:#}")),
        }
    }

    let secs = |end_ns: u64| end_ns.saturating_sub(start_ns) as f64 / 1e9;
    let rate = |n: u64, s: f64| if s > 0.0 { (n as f64 / s).round() } else { 0.0 };
    let recv_secs = secs(total.last_recv_ns);
    // QoS 1: acknowledged, then not delivered. QoS 0: written, then not delivered.
    let lost = match spec.qos {
        QoS::AtMostOnce => sent.saturating_sub(total.unique),
        _ => acked
            .saturating_sub(ack_errors)
            .saturating_sub(total.unique),
    };
    let base = match spec.qos {
        QoS::AtMostOnce => sent,
        _ => acked.saturating_sub(ack_errors),
    };
    Ok(json!({
        "scenario": "p2p",
        "transport": if connector.is_tls() { "tls" } else { "tcp" },
        "tls": tls.as_ref().map(TlsInfo::to_json),
        "params": {
            "mqtt": "3.1.1", "qos": spec.qos as u8, "payload": spec.payload,
            "publishers": pairs, "subscribers": pairs,
            "duration_s": spec.duration.as_secs_f64(), "count": spec.count,
            "inflight": spec.inflight, "drain_s": spec.drain.as_secs_f64(),
            "pub_sndbuf": spec.pub_sndbuf,
        },
        "sent": sent, "acked": acked, "ack_errors": ack_errors,
        "received": total.unique, "duplicates": total.duplicates, "foreign": total.foreign,
        "lost": lost,
        "loss_pct": if base > 0 { (lost as f64 * 10_000.0 / base as f64).round() / 100.0 } else { 0.0 },
        "elapsed_s": (recv_secs * 1000.0).round() / 1000.0,
        "msgs_per_sec": rate(total.unique, recv_secs),
        "pub_msgs_per_sec": rate(sent, secs(send_end_ns)),
        "latency_us": total.latency_us.to_json(),
        "cpu_pct": cpu,
        "failures": failures,
    }))
}

/// Connects one client per id, `CONNECT_CONCURRENCY` at a time; subscribes client i to
/// topic i when `subscribe` is given. In the order of `ids`, with the TLS parameters of one
/// of them.
async fn connect_all(
    connector: &Connector,
    ids: Vec<String>,
    subscribe: Option<(&[String], QoS)>,
    send_buffer: Option<u32>,
) -> Result<(Vec<Client>, Option<TlsInfo>)> {
    let semaphore = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for (i, id) in ids.into_iter().enumerate() {
        let (connector, semaphore) = (connector.clone(), semaphore.clone());
        let filter = subscribe.and_then(|(topics, qos)| Some((topics.get(i)?.clone(), qos)));
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await?;
            let connecting = async {
                let (stream, tls) = connector.connect(send_buffer).await?;
                let mut client = Client::connect(stream, &id).await?;
                if let Some((filter, qos)) = filter {
                    client.subscribe(&filter, qos).await?;
                }
                anyhow::Ok((client, tls))
            };
            let (client, tls) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
                .await
                .with_context(|| format!("{id}: not connected within {CONNECT_TIMEOUT:?}"))?
                .with_context(|| format!("client {id}"))?;
            anyhow::Ok((i, client, tls))
        });
    }
    let mut clients: Vec<Option<Client>> = Vec::new();
    clients.resize_with(tasks.len(), || None);
    let mut info = None;
    while let Some(joined) = tasks.join_next().await {
        let (i, client, tls) = joined??;
        if let Some(slot) = clients.get_mut(i) {
            *slot = Some(client);
        }
        info = info.or(tls);
    }
    Ok((clients.into_iter().flatten().collect(), info))
}

/// One publisher's instructions.
struct PublishJob {
    id: u32,
    count: u64,
    qos: QoS,
    inflight: u64,
    start: Instant,
    deadline: Instant,
    /// Everything, acknowledgements included, is over by then.
    end: Instant,
}

/// What one publisher did.
struct Published {
    sent: u64,
    acked: u64,
    ack_errors: u64,
    /// [`now_ns`] when the last batch was stamped.
    send_end_ns: u64,
    failure: Option<String>,
}

/// The state a publisher's writing and reading halves share.
#[derive(Default)]
struct Shared {
    sent: AtomicU64,
    acked: AtomicU64,
    ack_errors: AtomicU64,
    send_end_ns: AtomicU64,
    writer_done: AtomicBool,
    wake_writer: Notify,
    wake_reader: Notify,
}

/// Publishes `job` on `client`, then closes it.
async fn publish(client: Client, template: PublishTemplate, job: PublishJob) -> Published {
    let Client {
        stream,
        mut decoder,
        mut rbuf,
    } = client;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let shared = Shared::default();
    sleep_until(job.start).await;
    let work = async {
        tokio::try_join!(
            write_loop(&shared, &mut writer, &template, &job),
            read_acks(&shared, &mut reader, &mut decoder, &mut rbuf, job.qos),
        )
    };
    let failure = match tokio::time::timeout_at(job.end, work).await {
        Ok(Ok(_)) => None,
        Ok(Err(error)) => Some(format!("publisher {}: {error:#}", job.id)),
        // The drain ran out: what was not acknowledged stays so.
        Err(_) => None,
    };
    Client {
        stream: reader.unsplit(writer),
        decoder,
        rbuf,
    }
    .close()
    .await;
    Published {
        sent: shared.sent.load(Ordering::Relaxed),
        acked: shared.acked.load(Ordering::Relaxed),
        ack_errors: shared.ack_errors.load(Ordering::Relaxed),
        send_end_ns: shared.send_end_ns.load(Ordering::Relaxed),
        failure,
    }
}

/// Writes batches of messages until the deadline or the job's count, within the window.
async fn write_loop(
    shared: &Shared,
    writer: &mut (impl AsyncWrite + Unpin),
    template: &PublishTemplate,
    job: &PublishJob,
) -> Result<()> {
    let qos1 = job.qos == QoS::AtLeastOnce;
    let window = if qos1 { job.inflight } else { u64::MAX };
    let refill = if qos1 { (window / 4).max(1) } else { 1 };
    let batch = (BATCH_BYTES / template.len()).max(1) as u64;
    let mut out = BytesMut::with_capacity(BATCH_BYTES + template.len());
    let mut packet_id: u16 = 0;
    loop {
        let sent = shared.sent.load(Ordering::Relaxed);
        if sent >= job.count || Instant::now() >= job.deadline {
            break;
        }
        let inflight = sent.saturating_sub(shared.acked.load(Ordering::Relaxed));
        let free = window.saturating_sub(inflight);
        if free < refill && inflight > 0 {
            tokio::select! {
                _ = shared.wake_writer.notified() => {}
                _ = sleep_until(job.deadline) => {}
            }
            continue;
        }
        let n = free.min(batch).min(job.count - sent);
        let now = now_ns();
        for k in 0..n {
            packet_id = packet_id.checked_add(1).unwrap_or(1);
            template.write(&mut out, packet_id, &stamp(job.id, sent + k, now));
        }
        if qos1 {
            // In flight from now: an acknowledgement may come back before the write returns.
            shared.sent.fetch_add(n, Ordering::Relaxed);
        }
        writer.write_all(&out).await?;
        writer.flush().await?;
        out.clear();
        if !qos1 {
            shared.sent.fetch_add(n, Ordering::Relaxed);
        }
        shared.send_end_ns.store(now, Ordering::Relaxed);
    }
    shared.writer_done.store(true, Ordering::Relaxed);
    shared.wake_reader.notify_one();
    Ok(())
}

/// Reads PUBACKs until the writer is done and (QoS 1) every message is acknowledged.
async fn read_acks(
    shared: &Shared,
    reader: &mut (impl AsyncRead + Unpin),
    decoder: &mut broker_core::codec::Decoder,
    rbuf: &mut BytesMut,
    qos: QoS,
) -> Result<()> {
    loop {
        let done = shared.writer_done.load(Ordering::Relaxed);
        if done
            && (qos == QoS::AtMostOnce
                || shared.acked.load(Ordering::Relaxed) >= shared.sent.load(Ordering::Relaxed))
        {
            return Ok(());
        }
        if rbuf.capacity() - rbuf.len() < 4096 {
            rbuf.reserve(16 * 1024);
        }
        tokio::select! {
            biased;
            _ = shared.wake_reader.notified() => continue,
            read = reader.read_buf(rbuf) => {
                if read? == 0 {
                    bail!("the broker closed the connection");
                }
            }
        }
        let (mut acks, mut errors) = (0, 0);
        while let Some(packet) = decoder.decode(rbuf)? {
            match packet {
                Packet::PubAck(ack) => {
                    acks += 1;
                    errors += u64::from(ack.code.is_error());
                }
                Packet::Disconnect(d) => bail!("the broker sent DISCONNECT {:?}", d.code),
                _ => {}
            }
        }
        if acks > 0 {
            shared.ack_errors.fetch_add(errors, Ordering::Relaxed);
            shared.acked.fetch_add(acks, Ordering::Relaxed);
            shared.wake_writer.notify_one();
        }
    }
}

/// What one subscriber received: unique, duplicate and foreign messages (a bitmap of
/// sequence numbers), latencies, the time of the last delivery.
struct Receiver {
    publisher: u32,
    max_seq: u64,
    seen: Vec<u64>,
    unique: u64,
    duplicates: u64,
    foreign: u64,
    latency_us: Histogram,
    last_recv_ns: u64,
}

impl Receiver {
    fn new(publisher: u32, max_seq: u64) -> Receiver {
        Receiver {
            publisher,
            max_seq,
            seen: vec![0; max_seq.div_ceil(64) as usize],
            unique: 0,
            duplicates: 0,
            foreign: 0,
            latency_us: Histogram::new(),
            last_recv_ns: 0,
        }
    }

    fn record(&mut self, payload: &[u8], now: u64) {
        let Some((publisher, seq, sent_ns)) = read_stamp(payload) else {
            self.foreign += 1;
            return;
        };
        let word = self.seen.get_mut((seq / 64) as usize);
        let (Some(word), true) = (word, publisher == self.publisher && seq < self.max_seq) else {
            self.foreign += 1;
            return;
        };
        let bit = 1u64 << (seq % 64);
        if *word & bit != 0 {
            self.duplicates += 1;
            return;
        }
        *word |= bit;
        self.unique += 1;
        self.last_recv_ns = now;
        self.latency_us.record(now.saturating_sub(sent_ns) / 1000);
    }

    fn merge(&mut self, other: &Receiver) {
        self.unique += other.unique;
        self.duplicates += other.duplicates;
        self.foreign += other.foreign;
        self.latency_us.merge(&other.latency_us);
        self.last_recv_ns = self.last_recv_ns.max(other.last_recv_ns);
    }
}

/// Receives (and acknowledges QoS 1) until `stop`, then closes the client.
async fn subscribe_loop(
    mut client: Client,
    mut receiver: Receiver,
    received: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Result<Receiver> {
    let mut acks = BytesMut::new();
    loop {
        let now = now_ns();
        let before = receiver.unique + receiver.duplicates;
        while let Some(packet) = client.decoder.decode(&mut client.rbuf)? {
            match packet {
                Packet::Publish(publish) => {
                    receiver.record(&publish.payload, now);
                    if let QosPid::AtLeastOnce(id) = publish.qos_pid {
                        Packet::PubAck(Ack::new(id)).encode(VERSION, &mut acks)?;
                    }
                }
                Packet::Disconnect(d) => bail!("the broker sent DISCONNECT {:?}", d.code),
                _ => {}
            }
        }
        let delta = receiver.unique + receiver.duplicates - before;
        if delta > 0 {
            received.fetch_add(delta, Ordering::Relaxed);
        }
        if !acks.is_empty() {
            client.stream.write_all(&acks).await?;
            client.stream.flush().await?;
            acks.clear();
        }
        if client.rbuf.capacity() - client.rbuf.len() < READ_CHUNK / 2 {
            client.rbuf.reserve(READ_CHUNK);
        }
        tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            read = client.stream.read_buf(&mut client.rbuf) => {
                if read? == 0 {
                    bail!("the broker closed the connection");
                }
            }
        }
    }
    client.close().await;
    Ok(receiver)
}
