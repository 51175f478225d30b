//! The `$SYS/broker/...` topics: every `sys_interval` the broker publishes its figures as
//! retained QoS 0 messages, under the names Mosquitto uses, so that dashboards and scripts
//! written for Mosquitto read Skein's. A figure is published when it changed (uptime every
//! time); `$SYS` topics are never matched by a filter starting with a wildcard
//! ([MQTT-4.7.2-1]), and they are not written to the session store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::broker_stats::BrokerStats;
use crate::router::RetainedMessage;
use crate::runtime::clock::now;
use crate::runtime::routing;
use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::snapshot;
use crate::runtime::tasks::TaskGuard;
use crate::types::{QoS, TopicName};

/// The broker's version, as `$SYS/broker/version` says it.
const VERSION: &str = concat!("skein version ", env!("CARGO_PKG_VERSION"));

/// The windows of the load averages, in minutes, as Mosquitto has them.
const LOAD_WINDOWS: [u64; 3] = [1, 5, 15];

/// Publishes the `$SYS` topics every `interval` until the broker stops.
pub(crate) async fn run(shared: Arc<Shared>, interval: Duration, _guard: TaskGuard) {
    let mut run_state = shared.watch_run_state();
    let mut tree = SysTree::new();
    publish(&shared, "$SYS/broker/version", VERSION.to_owned());
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let figures = snapshot::snapshot(&shared);
                for (topic, value) in tree.update(&figures, now()) {
                    publish(&shared, &topic, value);
                }
            }
            changed = run_state.changed() => {
                if changed.is_err() || *run_state.borrow() != RunState::Running {
                    return;
                }
            }
        }
    }
}

/// Sets `topic`'s retained message to `value` and sends it to the subscribers.
fn publish(shared: &Shared, topic: &str, value: String) {
    let Ok(topic) = TopicName::new(topic) else {
        tracing::warn!(topic, "Not a valid $SYS topic name.");
        return;
    };
    let now = now();
    let message = routing::local_message(topic, Bytes::from(value), QoS::AtMostOnce, true, now);
    shared.retained().set_unstored(RetainedMessage::new(
        message.topic.clone(),
        message.payload.clone(),
        QoS::AtMostOnce,
        message.properties.clone(),
        shared.retained().secs(now),
    ));
    let mut scratch = Vec::new();
    routing::route(shared, &message, None, &mut scratch, None, now);
}

/// What was published last, to publish only what changed, and the load averages.
struct SysTree {
    last: std::collections::HashMap<&'static str, String>,
    loads: Vec<Load>,
    at: Option<Instant>,
}

/// One exponentially damped moving average of a counter's rate per minute.
struct Load {
    counter: fn(&BrokerStats) -> u64,
    /// The counter's name under `$SYS/broker/load/`.
    name: &'static str,
    previous: Option<u64>,
    averages: [f64; 3],
}

impl SysTree {
    fn new() -> Self {
        let load = |name, counter| Load {
            counter,
            name,
            previous: None,
            averages: [0.0; 3],
        };
        SysTree {
            last: std::collections::HashMap::new(),
            loads: vec![
                load("messages/received", |s: &BrokerStats| s.packets_received),
                load("messages/sent", |s| s.packets_sent),
                load("publish/received", |s| s.messages_received()),
                load("publish/sent", |s| s.messages_sent()),
                load("publish/dropped", |s| s.messages_dropped()),
                load("bytes/received", |s| s.bytes_received),
                load("bytes/sent", |s| s.bytes_sent),
                load("connections", |s| s.connections_accepted),
            ],
            at: None,
        }
    }

    /// The topics to publish for `figures`: uptime, and every other figure that changed.
    fn update(&mut self, figures: &BrokerStats, now: Instant) -> Vec<(String, String)> {
        let mut out = vec![(
            "$SYS/broker/uptime".to_owned(),
            format!("{} seconds", figures.uptime.as_secs()),
        )];
        let connected = figures.clients_connected as u64;
        let disconnected = figures.sessions_offline as u64;
        let mut values: Vec<(&'static str, String)> = vec![
            ("$SYS/broker/clients/connected", connected.to_string()),
            ("$SYS/broker/clients/disconnected", disconnected.to_string()),
            (
                "$SYS/broker/clients/total",
                (connected + disconnected).to_string(),
            ),
            (
                "$SYS/broker/clients/maximum",
                figures.clients_maximum.to_string(),
            ),
            (
                "$SYS/broker/clients/expired",
                figures.sessions_expired.to_string(),
            ),
            (
                "$SYS/broker/messages/received",
                figures.packets_received.to_string(),
            ),
            (
                "$SYS/broker/messages/sent",
                figures.packets_sent.to_string(),
            ),
            (
                "$SYS/broker/messages/stored",
                figures.queued_messages.to_string(),
            ),
            (
                "$SYS/broker/store/messages/count",
                figures.queued_messages.to_string(),
            ),
            (
                "$SYS/broker/store/messages/bytes",
                figures.queued_bytes.to_string(),
            ),
            (
                "$SYS/broker/bytes/received",
                figures.bytes_received.to_string(),
            ),
            ("$SYS/broker/bytes/sent", figures.bytes_sent.to_string()),
            (
                "$SYS/broker/publish/messages/received",
                figures.messages_received().to_string(),
            ),
            (
                "$SYS/broker/publish/messages/sent",
                figures.messages_sent().to_string(),
            ),
            (
                "$SYS/broker/publish/messages/dropped",
                figures.messages_dropped().to_string(),
            ),
            (
                "$SYS/broker/publish/bytes/received",
                figures.publish_bytes_received.total().to_string(),
            ),
            (
                "$SYS/broker/publish/bytes/sent",
                figures.publish_bytes_sent.total().to_string(),
            ),
            (
                "$SYS/broker/subscriptions/count",
                figures.subscriptions.to_string(),
            ),
            (
                "$SYS/broker/retained messages/count",
                figures.retained_messages.to_string(),
            ),
        ];
        if let Some(rss) = resident_set_bytes() {
            values.push(("$SYS/broker/memory/rss", rss.to_string()));
        }
        for (topic, value) in values {
            if self.last.get(topic) != Some(&value) {
                self.last.insert(topic, value.clone());
                out.push((topic.to_owned(), value));
            }
        }
        let elapsed = self.at.map(|at| now.saturating_duration_since(at));
        self.at = Some(now);
        if let Some(elapsed) = elapsed.filter(|e| !e.is_zero()) {
            for load in &mut self.loads {
                out.extend(load.update(figures, elapsed));
            }
        }
        out
    }
}

impl Load {
    /// Folds the counter's increase over `elapsed` into the averages; the topics to publish.
    fn update(&mut self, figures: &BrokerStats, elapsed: Duration) -> Vec<(String, String)> {
        let value = (self.counter)(figures);
        let Some(previous) = self.previous.replace(value) else {
            return Vec::new();
        };
        let secs = elapsed.as_secs_f64();
        let per_minute = value.saturating_sub(previous) as f64 * 60.0 / secs;
        let mut out = Vec::with_capacity(LOAD_WINDOWS.len());
        for (average, minutes) in self.averages.iter_mut().zip(LOAD_WINDOWS) {
            let decay = (-secs / (minutes as f64 * 60.0)).exp();
            *average = *average * decay + per_minute * (1.0 - decay);
            out.push((
                format!("$SYS/broker/load/{}/{minutes}min", self.name),
                format!("{average:.2}"),
            ));
        }
        out
    }
}

/// The process's resident set size, in bytes (Linux: `/proc/self/statm`).
fn resident_set_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(received: u64) -> BrokerStats {
        BrokerStats {
            packets_received: received,
            clients_connected: 2,
            sessions_offline: 1,
            ..BrokerStats::default()
        }
    }

    fn value<'a>(out: &'a [(String, String)], topic: &str) -> Option<&'a str> {
        out.iter()
            .find(|(t, _)| t == topic)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn publishes_changed_figures_only_and_uptime_always() {
        let mut tree = SysTree::new();
        let start = Instant::now();
        let first = tree.update(&figures(10), start);
        assert_eq!(value(&first, "$SYS/broker/clients/total"), Some("3"));
        assert_eq!(value(&first, "$SYS/broker/messages/received"), Some("10"));
        let second = tree.update(&figures(10), start + Duration::from_secs(10));
        assert!(value(&second, "$SYS/broker/uptime").is_some());
        assert_eq!(value(&second, "$SYS/broker/clients/total"), None);
        let third = tree.update(&figures(70), start + Duration::from_secs(20));
        assert_eq!(value(&third, "$SYS/broker/messages/received"), Some("70"));
    }

    #[test]
    fn load_average_tends_to_the_rate_per_minute() {
        let mut tree = SysTree::new();
        let start = Instant::now();
        // 10 packets a second = 600 a minute, for two hours (eight 15-minute windows).
        let mut out = Vec::new();
        for step in 0..=720u64 {
            out = tree.update(&figures(step * 100), start + Duration::from_secs(step * 10));
        }
        let one = value(&out, "$SYS/broker/load/messages/received/1min").map(str::parse::<f64>);
        assert!(
            matches!(one, Some(Ok(v)) if (v - 600.0).abs() < 1.0),
            "{one:?}"
        );
        let fifteen =
            value(&out, "$SYS/broker/load/messages/received/15min").map(str::parse::<f64>);
        assert!(
            matches!(fifteen, Some(Ok(v)) if (v - 600.0).abs() < 1.0),
            "{fifteen:?}"
        );
    }
}
