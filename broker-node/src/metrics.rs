//! The Prometheus endpoint, `GET /metrics` on the configured address, and beside it the
//! health checks a load balancer or Kubernetes probes: `GET /healthz` (the process answers)
//! and `GET /readyz` (the broker serves: its listeners are bound and its store open, which
//! holds from the moment this endpoint is bound; 503 once a shutdown has begun).
//!
//! Metrics go through the `metrics` facade. The engine records what is measured per event
//! (hook latency histograms, hook failures) straight into it; the broker's counters and
//! gauges ([`BrokerStats`]) are copied into it on every scrape, just before the Prometheus
//! recorder renders, so a scrape reads exact counters without the publish path paying for a
//! metrics call per packet. Names and labels are listed in `docs/metrics.md`.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::Context as _;
use broker_cluster::ClusterView;
use broker_core::codec::PacketType;
use broker_core::{BrokerHandle, BrokerStats, ListenerStats, PerQos, TrafficStats};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tracing_appender::non_blocking::ErrorCounter;

/// The path Prometheus scrapes.
const PATH: &str = "/metrics";
/// The liveness check.
const HEALTHZ: &str = "/healthz";
/// The readiness check.
const READYZ: &str = "/readyz";

/// Bucket bounds of the hook latency histograms, in seconds: 10 µs to 5 s.
const HOOK_BUCKETS: [f64; 14] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05,
    0.25, 1.0, 5.0,
];

/// Installs the Prometheus recorder as the process's `metrics` recorder. Call it before the
/// broker starts, so that the engine's first hook calls are recorded.
pub(crate) fn install() -> anyhow::Result<PrometheusHandle> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("skein_hook_duration_seconds".to_owned()),
            &HOOK_BUCKETS,
        )
        .context("configuring the Prometheus histogram buckets")?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|error| anyhow::anyhow!("installing the metrics recorder: {error}"))?;
    describe();
    metrics_process::Collector::default().describe();
    gauge!("skein_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}

/// Binds `addr` and serves `/metrics` until the task is dropped.
pub(crate) async fn bind(
    addr: SocketAddr,
    prometheus: PrometheusHandle,
    broker: BrokerHandle,
    cluster: Option<ClusterView>,
    log_dropped: ErrorCounter,
) -> anyhow::Result<(SocketAddr, impl std::future::Future<Output = ()>)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics endpoint on {addr}"))?;
    let bound = listener
        .local_addr()
        .context("reading the metrics address")?;
    let sources = Sources { broker, cluster };
    Ok((bound, serve(listener, prometheus, sources, log_dropped)))
}

/// Where a scrape's figures come from: the broker, and its cluster link if it has one.
#[derive(Debug, Clone)]
struct Sources {
    broker: BrokerHandle,
    cluster: Option<ClusterView>,
}

async fn serve(
    listener: TcpListener,
    prometheus: PrometheusHandle,
    sources: Sources,
    log_dropped: ErrorCounter,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "Metrics endpoint: accept failed.");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let prometheus = prometheus.clone();
        let sources = sources.clone();
        let log_dropped = log_dropped.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = respond(&request, &prometheus, &sources, &log_dropped);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "Metrics endpoint: connection error.");
            }
        });
    }
}

/// Answers one request: the metrics for `GET /metrics`, the health checks, 404 or 405
/// otherwise.
fn respond(
    request: &Request<Incoming>,
    prometheus: &PrometheusHandle,
    sources: &Sources,
    log_dropped: &ErrorCounter,
) -> Response<Full<Bytes>> {
    let broker = &sources.broker;
    let path = request.uri().path();
    if ![PATH, HEALTHZ, READYZ].contains(&path) {
        return status_only(StatusCode::NOT_FOUND);
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return status_only(StatusCode::METHOD_NOT_ALLOWED);
    }
    match path {
        HEALTHZ => text(StatusCode::OK, "ok\n"),
        READYZ if broker.is_running() => text(StatusCode::OK, "ready\n"),
        READYZ => text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
        _ => {
            record(&broker.stats());
            record_listeners(&broker.listener_stats());
            if let Some(cluster) = &sources.cluster {
                // skein_cluster_peers, skein_cluster_peer_route_lag, ... (docs/cluster.md)
                cluster.record_metrics();
            }
            // process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, ...
            metrics_process::Collector::default().collect();
            let dropped = u64::try_from(log_dropped.dropped_lines()).unwrap_or(u64::MAX);
            counter!("skein_log_lines_dropped_total").absolute(dropped);
            Response::builder()
                .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
                .body(Full::new(Bytes::from(prometheus.render())))
                .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
        }
    }
}

/// `status` with its reason phrase as the body.
fn status_only(status: StatusCode) -> Response<Full<Bytes>> {
    text(status, status.canonical_reason().unwrap_or("error"))
}

/// `status` with `body` as plain text.
fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

/// Copies the broker's figures into the recorder.
fn record(stats: &BrokerStats) {
    gauge!("skein_uptime_seconds").set(stats.uptime.as_secs_f64());
    counter!("skein_connections_refused_total").absolute(stats.connections_refused);
    counter!("skein_auth_failures_total").absolute(stats.auth_failures);
    gauge!("skein_clients_connected").set(stats.clients_connected as f64);
    gauge!("skein_clients_maximum").set(stats.clients_maximum as f64);
    gauge!("skein_clients_parked").set(stats.clients_parked as f64);
    gauge!("skein_sessions_offline").set(stats.sessions_offline as f64);
    counter!("skein_sessions_expired_total").absolute(stats.sessions_expired);
    counter!("skein_takeovers_total").absolute(stats.takeovers);
    counter!("skein_publishes_held_for_subscribe_total")
        .absolute(stats.publishes_held_for_subscribe);
    counter!("skein_messages_queued_total").absolute(stats.messages_queued);
    for (reason, count) in stats.dropped.by_reason() {
        counter!("skein_messages_dropped_total", "reason" => reason).absolute(count);
    }
    counter!("skein_wills_published_total").absolute(stats.wills_published);
    gauge!("skein_subscriptions").set(stats.subscriptions as f64);
    gauge!("skein_retained_messages").set(stats.retained_messages as f64);
    gauge!("skein_queued_messages").set(stats.queued_messages as f64);
    gauge!("skein_queued_bytes").set(stats.queued_bytes as f64);
}

/// Copies each listener's figures into the recorder, with its name as the `listener` label
/// (the broker's totals are the sums over it).
fn record_listeners(listeners: &[ListenerStats]) {
    for stats in listeners {
        let listener = stats.name.clone();
        gauge!("skein_connections_open", "listener" => listener.clone())
            .set(stats.connections_open as f64);
        counter!("skein_connections_accepted_total", "listener" => listener.clone())
            .absolute(stats.connections_accepted);
        counter!("skein_throttled_total", "listener" => listener.clone()).absolute(stats.throttled);
        traffic(&listener, "received", &stats.received);
        traffic(&listener, "sent", &stats.sent);
    }
}

/// One listener's traffic one way (`received` or `sent`).
fn traffic(listener: &str, way: &'static str, stats: &TrafficStats) {
    let name = |what: &str| format!("skein_{what}_{way}_total");
    // Only the types that can flow this way (MQTT 5.0 §2.1.2, Table 2-1).
    let flows = |kind: PacketType| match way {
        "received" => !kind.is_server_to_client(),
        _ => !matches!(
            kind,
            PacketType::Connect
                | PacketType::Subscribe
                | PacketType::Unsubscribe
                | PacketType::PingReq
        ),
    };
    for (kind, count) in stats.packets.iter().filter(|(kind, _)| flows(*kind)) {
        let kind = kind.name().to_ascii_lowercase();
        counter!(name("packets"), "listener" => listener.to_owned(), "type" => kind)
            .absolute(count);
    }
    counter!(name("bytes"), "listener" => listener.to_owned()).absolute(stats.bytes);
    per_qos(name("messages"), listener, &stats.publishes);
    per_qos(name("message_bytes"), listener, &stats.publish_bytes);
}

fn per_qos(name: String, listener: &str, counts: &PerQos) {
    for (qos, count) in [("0", counts.qos0), ("1", counts.qos1), ("2", counts.qos2)] {
        counter!(name.clone(), "listener" => listener.to_owned(), "qos" => qos).absolute(count);
    }
}

/// The `# HELP` lines.
fn describe() {
    describe_gauge!(
        "skein_build_info",
        "Always 1; the label version is the running build's."
    );
    describe_gauge!(
        "skein_uptime_seconds",
        Unit::Seconds,
        "Time since the broker started."
    );
    describe_gauge!(
        "skein_connections_open",
        "Network connections open now, with or without an accepted CONNECT."
    );
    describe_counter!(
        "skein_connections_accepted_total",
        "Network connections accepted."
    );
    describe_counter!(
        "skein_throttled_total",
        "Times a connection paused reading because its client went past its rate limit."
    );
    describe_counter!(
        "skein_connections_refused_total",
        "CONNECTs refused for the connection limit."
    );
    describe_counter!(
        "skein_auth_failures_total",
        "CONNECTs and re-authentications refused by authentication."
    );
    describe_gauge!(
        "skein_clients_connected",
        "Clients connected now (CONNECT accepted)."
    );
    describe_gauge!("skein_clients_maximum", "Most clients connected at once.");
    describe_gauge!(
        "skein_clients_parked",
        "Connected clients whose idle connection is parked (no task of its own)."
    );
    describe_gauge!(
        "skein_sessions_offline",
        "Persistent sessions whose client is not connected."
    );
    describe_counter!(
        "skein_sessions_expired_total",
        "Sessions ended by their Session Expiry Interval."
    );
    describe_counter!(
        "skein_takeovers_total",
        "Client identifiers taken over by a new connection."
    );
    describe_counter!(
        "skein_publishes_held_for_subscribe_total",
        "Publishes that matched nobody and were matched again once another client's SUBSCRIBE under way was in."
    );
    describe_counter!(
        "skein_packets_received_total",
        "MQTT packets received from clients, every type."
    );
    describe_counter!(
        "skein_packets_sent_total",
        "MQTT packets sent to clients, every type."
    );
    describe_counter!(
        "skein_bytes_received_total",
        Unit::Bytes,
        "Bytes read from client connections."
    );
    describe_counter!(
        "skein_bytes_sent_total",
        Unit::Bytes,
        "Bytes written to client connections."
    );
    describe_counter!(
        "skein_messages_received_total",
        "PUBLISH packets received from clients, by QoS."
    );
    describe_counter!(
        "skein_messages_sent_total",
        "PUBLISH packets sent to clients, by QoS (retransmissions included)."
    );
    describe_counter!(
        "skein_message_bytes_received_total",
        Unit::Bytes,
        "Payload bytes of the PUBLISH packets received, by QoS."
    );
    describe_counter!(
        "skein_message_bytes_sent_total",
        Unit::Bytes,
        "Payload bytes of the PUBLISH packets sent, by QoS."
    );
    describe_counter!(
        "skein_messages_queued_total",
        "Copies of messages queued for subscribers."
    );
    describe_counter!(
        "skein_messages_dropped_total",
        "Copies of messages dropped, by reason."
    );
    describe_counter!("skein_wills_published_total", "Wills published.");
    describe_gauge!(
        "skein_subscriptions",
        "Subscriptions in the router (one per session and filter)."
    );
    describe_gauge!("skein_retained_messages", "Retained messages held.");
    describe_gauge!(
        "skein_queued_messages",
        "Messages waiting in sessions' queues."
    );
    describe_gauge!(
        "skein_queued_bytes",
        Unit::Bytes,
        "Bytes of the messages waiting in sessions' queues."
    );
    describe_histogram!(
        "skein_hook_duration_seconds",
        Unit::Seconds,
        "Time a hook took to answer, by hook and hook point."
    );
    describe_counter!(
        "skein_log_lines_dropped_total",
        "Log lines dropped because standard error did not take them in time."
    );
    describe_counter!(
        "skein_hook_failures_total",
        "Hook calls that failed (error or timeout), by hook, hook point and kind."
    );
}
