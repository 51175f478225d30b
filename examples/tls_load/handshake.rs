//! The `handshake` scenario: open C connections, `concurrency` at a time (TCP connect, TLS
//! handshake, CONNECT, CONNACK), hold every one until all are done, report the rate and
//! the latencies, then close them all.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::mqtt::Client;
use crate::net::{Connector, TlsInfo};
use crate::stats::{CpuSampler, Histogram};

/// How long one connection may take, from TCP connect to CONNACK.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Errors kept for the report.
const ERRORS_KEPT: usize = 5;

/// What the scenario is asked to do.
#[derive(Clone, Debug)]
pub(crate) struct HandshakeSpec {
    /// Connections to open.
    pub(crate) connections: u32,
    /// Connections being opened at once.
    pub(crate) concurrency: usize,
    /// The whole connect phase ends after this, whatever is still open.
    pub(crate) time_limit: Duration,
}

/// What the connecting tasks write down.
struct Tally {
    /// TCP connect + TLS handshake, µs.
    handshake_us: Histogram,
    /// TCP connect to CONNACK, µs.
    connack_us: Histogram,
    connected: u64,
    /// Connections whose TLS handshake resumed a session (only with `--resume`).
    resumed: u64,
    failed: u64,
    errors: Vec<String>,
    tls: Option<TlsInfo>,
    last_connack: Option<Instant>,
}

/// Runs the scenario; the report as JSON.
pub(crate) async fn run(
    connector: &Connector,
    spec: &HandshakeSpec,
    run_id: &str,
    broker_pid: Option<u32>,
) -> Result<Value> {
    let tally = Arc::new(Mutex::new(Tally {
        handshake_us: Histogram::new(),
        connack_us: Histogram::new(),
        connected: 0,
        resumed: 0,
        failed: 0,
        errors: Vec::new(),
        tls: None,
        last_connack: None,
    }));
    let semaphore = Arc::new(Semaphore::new(spec.concurrency.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = watch::channel(0u32);
    let done_tx = Arc::new(done_tx);
    let cpu = CpuSampler::start(broker_pid);
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..spec.connections {
        let (connector, semaphore, tally) = (connector.clone(), semaphore.clone(), tally.clone());
        let (mut stop, done) = (stop_rx.clone(), done_tx.clone());
        let client_id = format!("tl-{run_id}-c{i}");
        tasks.spawn(async move {
            let opened = match semaphore.acquire_owned().await {
                Ok(_permit) => open(&connector, &client_id, &tally).await,
                Err(_) => None,
            };
            done.send_modify(|n| *n += 1);
            if let Some(client) = opened {
                // Held open until every connection is done, then closed.
                let _ = stop.wait_for(|stop| *stop).await;
                client.close().await;
            }
        });
    }
    let limit = start + spec.time_limit;
    let all_done = done_rx.wait_for(|n| *n >= spec.connections);
    let timed_out = tokio::time::timeout_at(limit, all_done).await.is_err();
    let cpu = cpu.finish();
    let _ = stop_tx.send(true);
    // Closing is bounded by each client's close wait; tasks still connecting are cut off.
    let close_limit = Instant::now() + Duration::from_secs(15);
    while let Ok(Some(_)) = tokio::time::timeout_at(close_limit, tasks.join_next()).await {}
    tasks.abort_all();

    let tally = match tally.lock() {
        Ok(tally) => tally,
        Err(poisoned) => poisoned.into_inner(),
    };
    let elapsed = tally
        .last_connack
        .map_or(0.0, |last| (last - start).as_secs_f64());
    let rate = if elapsed > 0.0 {
        (tally.connected as f64 / elapsed).round()
    } else {
        0.0
    };
    let not_done = u64::from(spec.connections)
        .saturating_sub(tally.connected)
        .saturating_sub(tally.failed);
    Ok(json!({
        "scenario": "handshake",
        "transport": if connector.is_tls() { "tls" } else { "tcp" },
        "tls": tally.tls.as_ref().map(TlsInfo::to_json),
        "params": {
            "connections": spec.connections,
            "concurrency": spec.concurrency,
            "time_limit_s": spec.time_limit.as_secs(),
        },
        "connected": tally.connected,
        "resumed": tally.resumed,
        "failed": tally.failed,
        "unfinished": not_done,
        "timed_out": timed_out,
        "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
        "conn_per_sec": rate,
        "handshake_us": tally.handshake_us.to_json(),
        "connack_us": tally.connack_us.to_json(),
        "cpu_pct": cpu,
        "failures": tally.errors,
    }))
}

/// Opens one connection and records how long it took; `None` (and the error noted) when it
/// failed.
async fn open(connector: &Connector, client_id: &str, tally: &Mutex<Tally>) -> Option<Client> {
    let start = Instant::now();
    let attempt = tokio::time::timeout(CONNECT_TIMEOUT, async {
        let (stream, tls) = connector.connect(None).await?;
        let handshake = start.elapsed();
        let client = Client::connect(stream, client_id).await?;
        anyhow::Ok((client, tls, handshake, start.elapsed()))
    })
    .await
    .unwrap_or_else(|_| Err(anyhow::anyhow!("no CONNACK within {CONNECT_TIMEOUT:?}")));
    let mut tally = match tally.lock() {
        Ok(tally) => tally,
        Err(poisoned) => poisoned.into_inner(),
    };
    match attempt {
        Ok((client, tls, handshake, connack)) => {
            tally.connected += 1;
            tally.handshake_us.record(micros(handshake));
            tally.connack_us.record(micros(connack));
            tally.last_connack = Some(Instant::now());
            tally.resumed += u64::from(tls.as_ref().is_some_and(TlsInfo::resumed));
            if tally.tls.is_none() {
                tally.tls = tls;
            }
            Some(client)
        }
        Err(error) => {
            tally.failed += 1;
            if tally.errors.len() < ERRORS_KEPT {
                tally.errors.push(format!("{client_id}: {error:#}"));
            }
            None
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
