//! `subscribe_race`: how often a broker misses a message published right after another
//! client's SUBSCRIBE, and how long its SUBACK takes.
//!
//! Each round connects a fresh subscriber and publisher; the subscriber sends SUBSCRIBE and
//! the publisher publishes one QoS 0 message to that topic at once, without waiting for the
//! SUBACK (a common pattern in request / response code and client test suites). MQTT does
//! not order packets across connections, so a miss is legal; the rate of misses is what
//! users notice. See `subscribe_race/round.rs` for how a miss is told from a late message
//! without waiting on a clock.
//!
//! Several brokers are probed in one run, round by round in turn, so that they share the
//! machine's conditions. Loopback addresses only; the run stops after `--rounds` rounds per
//! broker or `--max-seconds`, whichever comes first. One JSON line per broker on standard
//! output, one line for people on standard error.
//!
//! ```text
//! cargo build --release -p skein-examples --example subscribe_race
//! target/release/examples/subscribe_race --broker skein=127.0.0.1:1883 \
//!     --broker mosquitto=127.0.0.1:18830 --rounds 200
//! ```

// A command-line tool: its report is what it prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "subscribe_race/client.rs"]
mod client;
#[path = "subscribe_race/round.rs"]
mod round;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use broker_core::types::ProtocolVersion;
use clap::Parser;
use serde_json::json;

/// Misses of a publish that follows another client's SUBSCRIBE, and SUBACK latency.
#[derive(Parser, Debug)]
#[command(name = "subscribe_race", version)]
struct Cli {
    /// A broker to probe, as NAME=ADDRESS or ADDRESS (a loopback address); repeat it to
    /// probe several brokers in turn.
    #[arg(long = "broker", required = true)]
    brokers: Vec<String>,
    /// Rounds per broker (at most 100,000).
    #[arg(long, default_value_t = 200)]
    rounds: u32,
    /// MQTT version: 3 (3.1.1) or 5.
    #[arg(long, default_value_t = 5)]
    mqtt: u8,
    /// The run stops after this many seconds even if rounds are left (at most 3600).
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
}

/// One broker under probe and what its rounds saw.
struct Target {
    name: String,
    addr: SocketAddr,
    missed: u32,
    /// SUBSCRIBE to SUBACK of every round, in microseconds.
    suback_us: Vec<u64>,
}

impl Target {
    fn parse(spec: &str) -> Result<Target> {
        let (name, addr) = spec.split_once('=').unwrap_or((spec, spec));
        let addr: SocketAddr = addr
            .parse()
            .with_context(|| format!("'{addr}' is not an IP address and port"))?;
        if !addr.ip().is_loopback() {
            bail!("{addr} is not a loopback address: the probe runs on this machine only");
        }
        Ok(Target {
            name: name.to_owned(),
            addr,
            missed: 0,
            suback_us: Vec::new(),
        })
    }

    /// The `q` quantile (0..=1) of the SUBACK latencies, in microseconds.
    fn suback_quantile(&self, q: f64) -> u64 {
        let mut sorted = self.suback_us.clone();
        sorted.sort_unstable();
        let last = sorted.len().saturating_sub(1);
        // Rounds are counted in u32: the index is exact in f64.
        let at = (q * last as f64).round() as usize;
        sorted.get(at).copied().unwrap_or(0)
    }

    fn report(&self, version: u8) {
        let rounds = self.suback_us.len();
        let percent = if rounds == 0 {
            0.0
        } else {
            100.0 * f64::from(self.missed) / rounds as f64
        };
        let (p50, p99, max) = (
            self.suback_quantile(0.5),
            self.suback_quantile(0.99),
            self.suback_quantile(1.0),
        );
        println!(
            "{}",
            json!({
                "broker": self.name,
                "address": self.addr.to_string(),
                "mqtt": version,
                "rounds": rounds,
                "missed": self.missed,
                "missed_percent": (percent * 10.0).round() / 10.0,
                "suback_us": { "p50": p50, "p99": p99, "max": max },
            })
        );
        eprintln!(
            "{}: missed {} of {rounds} ({percent:.1} %), SUBSCRIBE -> SUBACK p50 {p50} µs, p99 {p99} µs, max {max} µs",
            self.name, self.missed
        );
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let version = match cli.mqtt {
        3 => ProtocolVersion::V3_1_1,
        5 => ProtocolVersion::V5,
        other => bail!("--mqtt {other}: 3 or 5"),
    };
    if cli.rounds > 100_000 || cli.max_seconds > 3600 {
        bail!("at most 100,000 rounds and 3600 seconds");
    }
    let mut targets = cli
        .brokers
        .iter()
        .map(|spec| Target::parse(spec))
        .collect::<Result<Vec<_>>>()?;
    let deadline = Instant::now() + Duration::from_secs(cli.max_seconds);
    let run = std::process::id() % 0x1_0000;
    'rounds: for round in 0..cli.rounds {
        for (index, target) in targets.iter_mut().enumerate() {
            if Instant::now() >= deadline {
                eprintln!("--max-seconds reached after {round} rounds");
                break 'rounds;
            }
            let tag = format!("sr{run:04x}-{index}-{round}");
            let outcome = round::play(target.addr, version, &tag)
                .with_context(|| format!("round {round} against {}", target.name))?;
            target.missed += u32::from(outcome.missed);
            let micros = u64::try_from(outcome.suback.as_micros()).unwrap_or(u64::MAX);
            target.suback_us.push(micros);
        }
    }
    for target in &targets {
        target.report(cli.mqtt);
    }
    Ok(())
}
