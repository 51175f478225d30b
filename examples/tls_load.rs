//! `tls_load`: a small MQTT load tool with TLS, for comparing Skein's TLS listener with
//! another broker's (Mosquitto's) in the same run. mqtt-load, the project's neutral load
//! generator, speaks plain TCP only; this tool speaks MQTT 3.1.1 through Skein's own codec
//! over rustls (or plain TCP with `--plain`, to show what TLS costs).
//!
//! Two scenarios, each bounded in count and in time, stopping by itself:
//!
//! - `handshake`: open `--connections` connections, `--concurrency` at a time (TCP, TLS
//!   handshake, CONNECT, CONNACK), hold them until all are done, then close them. Reports
//!   connections per second and the TLS handshake and CONNACK latencies.
//! - `p2p`: `--pairs` publisher / subscriber pairs, each pair on its own topic, QoS 0 or 1,
//!   for `--duration` seconds or `--count` messages, then a drain. Reports delivered
//!   messages per second, losses and end-to-end latency, as mqtt-load's `p2p` does.
//!
//! Each run prints one JSON line on standard output and one line for people on standard
//! error. Pin the broker and the tool to different cores and pass `--broker-pid` to get the
//! broker's CPU use:
//!
//! ```text
//! cargo build --release -p skein-examples --example tls_load
//! taskset -c 1 target/release/examples/tls_load handshake --port 8883 --cafile ca.pem
//! taskset -c 1 target/release/examples/tls_load p2p --port 8883 --cafile ca.pem --qos 1
//! taskset -c 1 target/release/examples/tls_load p2p --port 1883 --plain --qos 1
//! ```

// A command-line tool: its report is what it prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "tls_load/handshake.rs"]
mod handshake;
#[path = "tls_load/mqtt.rs"]
mod mqtt;
#[path = "tls_load/net.rs"]
mod net;
#[path = "tls_load/p2p.rs"]
mod p2p;
#[path = "tls_load/stats.rs"]
mod stats;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use broker_core::types::QoS;
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use crate::handshake::HandshakeSpec;
use crate::net::{Connector, TlsOptions, TlsVersion};
use crate::p2p::P2pSpec;

/// MQTT 3.1.1 load over TLS (or plain TCP): handshake rate and point-to-point throughput.
#[derive(Parser, Debug)]
#[command(name = "tls_load", version)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// Open connections (TCP + TLS + CONNECT/CONNACK), report the rate and latencies.
    Handshake {
        #[command(flatten)]
        common: Common,
        /// Connections to open (at most 15000).
        #[arg(long, default_value_t = 2000)]
        connections: u32,
        /// Connections being opened at once.
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        /// Seconds the connect phase may last at most (at most 300).
        #[arg(long, default_value_t = 120)]
        time_limit: u64,
    },
    /// Publisher/subscriber pairs, each pair on its own topic.
    P2p {
        #[command(flatten)]
        common: Common,
        /// Publisher / subscriber pairs (at most 1000).
        #[arg(long, default_value_t = 20)]
        pairs: u32,
        /// QoS of publications and subscriptions: 0 or 1.
        #[arg(long, default_value_t = 0)]
        qos: u8,
        /// Payload bytes, at least 20.
        #[arg(long, default_value_t = 64)]
        payload: usize,
        /// Seconds publishers send for (at most 60).
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Messages in total, all publishers together (at most 100000000).
        #[arg(long, default_value_t = 5_000_000)]
        count: u64,
        /// QoS 1 messages in flight per publisher.
        #[arg(long, default_value_t = 100)]
        inflight: u64,
        /// Seconds left for acknowledgements and deliveries after publishing (at most 30).
        #[arg(long, default_value_t = 5)]
        drain: u64,
        /// SO_SNDBUF of publisher sockets, bytes (0: the kernel's autotuning), as mqtt-load.
        #[arg(long, default_value_t = 65536)]
        pub_sndbuf: u32,
        /// Port the subscribers connect to (default: `--port`, the publishers'): another node
        /// of a cluster, to measure messages crossing between nodes (docs/cluster.md).
        #[arg(long)]
        sub_port: Option<u16>,
    },
}

/// Options of every scenario.
#[derive(Args, Debug, Clone)]
struct Common {
    /// Broker address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Broker port.
    #[arg(long, default_value_t = 8883)]
    port: u16,
    /// Plain TCP instead of TLS.
    #[arg(long)]
    plain: bool,
    /// PEM file with the CA certificate that signed the server's certificate (TLS).
    #[arg(long, required_unless_present = "plain")]
    cafile: Option<PathBuf>,
    /// Name the server's certificate must carry (also sent as SNI).
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// TLS versions offered.
    #[arg(long, value_enum, default_value = "1.3")]
    tls_version: TlsVersion,
    /// Offer only this cipher suite (rustls name, e.g. TLS13_AES_128_GCM_SHA256).
    #[arg(long)]
    cipher_suite: Option<String>,
    /// Resume TLS sessions instead of doing a full handshake each time.
    #[arg(long)]
    resume: bool,
    /// The broker's PID: its CPU use is read from /proc.
    #[arg(long)]
    broker_pid: Option<u32>,
    /// Free text copied into the JSON line (broker name, run).
    #[arg(long)]
    label: Option<String>,
    /// Runtime threads; 0 = the CPUs this process may use (1: a single-threaded runtime).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

impl Common {
    fn connector(&self) -> Result<Connector> {
        self.connector_to(self.port)
    }

    /// A connector to `port` on the broker's host, with the TLS options.
    fn connector_to(&self, port: u16) -> Result<Connector> {
        let addr: SocketAddr = (self.host.as_str(), port)
            .to_socket_addrs()?
            .next()
            .with_context(|| format!("cannot resolve {}", self.host))?;
        let tls = match (&self.cafile, self.plain) {
            (_, true) => None,
            (Some(cafile), false) => Some(TlsOptions {
                cafile: cafile.clone(),
                server_name: self.server_name.clone(),
                version: self.tls_version,
                cipher_suite: self.cipher_suite.clone(),
                resume: self.resume,
            }),
            (None, false) => bail!("--cafile is needed for TLS (or --plain)"),
        };
        Connector::new(addr, tls.as_ref())
    }

    fn threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        }
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let common = match &cli.scenario {
        Scenario::Handshake { common, .. } | Scenario::P2p { common, .. } => common.clone(),
    };
    let threads = common.threads();
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    let mut report = runtime.block_on(run(cli.scenario, &common))?;
    if let Some(fields) = report.as_object_mut() {
        fields.insert("tool".into(), json!("tls_load"));
        fields.insert("label".into(), json!(common.label));
        fields.insert("threads".into(), json!(threads));
    }
    eprintln!("{}", human(&report));
    println!("{report}");
    Ok(())
}

async fn run(scenario: Scenario, common: &Common) -> Result<Value> {
    let connector = common.connector()?;
    let run_id = run_id();
    match scenario {
        Scenario::Handshake {
            connections,
            concurrency,
            time_limit,
            ..
        } => {
            if connections == 0 || connections > 15_000 {
                bail!("--connections must be 1 to 15000");
            }
            if concurrency == 0 || time_limit == 0 || time_limit > 300 {
                bail!("--concurrency must be at least 1, --time-limit 1 to 300");
            }
            let spec = HandshakeSpec {
                connections,
                concurrency,
                time_limit: Duration::from_secs(time_limit),
            };
            handshake::run(&connector, &spec, &run_id, common.broker_pid).await
        }
        Scenario::P2p {
            pairs,
            qos,
            payload,
            duration,
            count,
            inflight,
            drain,
            pub_sndbuf,
            sub_port,
            ..
        } => {
            let qos = match qos {
                0 => QoS::AtMostOnce,
                1 => QoS::AtLeastOnce,
                _ => bail!("--qos must be 0 or 1"),
            };
            if pairs == 0 || pairs > 1000 {
                bail!("--pairs must be 1 to 1000");
            }
            if duration == 0 || duration > 60 || drain > 30 {
                bail!("--duration must be 1 to 60, --drain at most 30");
            }
            if count == 0 || count > 100_000_000 || payload > 1 << 20 {
                bail!("--count must be 1 to 100000000, --payload at most 1 MiB");
            }
            let spec = P2pSpec {
                pairs,
                qos,
                payload,
                duration: Duration::from_secs(duration),
                count,
                inflight,
                drain: Duration::from_secs(drain),
                pub_sndbuf,
            };
            let sub_connector = match sub_port {
                Some(port) => common.connector_to(port)?,
                None => connector.clone(),
            };
            p2p::run(
                &connector,
                &sub_connector,
                &spec,
                &run_id,
                common.broker_pid,
            )
            .await
        }
    }
}

/// 8 hex digits that differ between runs; client ids stay within the 23 characters every
/// broker accepts (`tl-XXXXXXXX-c14999`).
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{:08x}", nanos ^ std::process::id().rotate_left(16))
}

/// The report in one line for people.
fn human(report: &Value) -> String {
    // Index into the report without panicking: a missing field shows as "-".
    let get = |path: &str| match report.pointer(path) {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let ms = |path: &str| {
        report
            .pointer(path)
            .and_then(Value::as_u64)
            .map_or_else(|| "-".to_owned(), |us| format!("{:.2}", us as f64 / 1000.0))
    };
    let tls = if report.pointer("/tls").is_some_and(Value::is_object) {
        format!(
            " [{} {} {}]",
            get("/tls/version"),
            get("/tls/cipher_suite"),
            get("/tls/key_exchange")
        )
    } else {
        String::new()
    };
    let cpu = format!(
        "CPU broker {}% tool {}% other {}%",
        get("/cpu_pct/broker_pct"),
        get("/cpu_pct/loadgen_pct"),
        get("/cpu_pct/other_pct")
    );
    let head = format!(
        "{}: {} over {}{tls}",
        get("/label"),
        get("/scenario"),
        get("/transport")
    );
    match report.pointer("/scenario").and_then(Value::as_str) {
        Some("handshake") => format!(
            "{head}: {} connected ({} resumed), {} failed in {} s = {} conn/s; {} p50 {} ms, \
             p99 {} ms; CONNACK p50 {} ms, p99 {} ms; {cpu}",
            get("/connected"),
            get("/resumed"),
            get("/failed"),
            get("/elapsed_s"),
            get("/conn_per_sec"),
            if tls.is_empty() {
                "TCP connect"
            } else {
                "TCP + TLS handshake"
            },
            ms("/handshake_us/p50"),
            ms("/handshake_us/p99"),
            ms("/connack_us/p50"),
            ms("/connack_us/p99"),
        ),
        _ => format!(
            "{head} QoS {}: {} msg/s delivered ({} published/s); sent {} acked {} received {} \
             lost {} ({}%); latency p50 {} ms, p99 {} ms; {cpu}",
            get("/params/qos"),
            get("/msgs_per_sec"),
            get("/pub_msgs_per_sec"),
            get("/sent"),
            get("/acked"),
            get("/received"),
            get("/lost"),
            get("/loss_pct"),
            ms("/latency_us/p50"),
            ms("/latency_us/p99"),
        ),
    }
}
