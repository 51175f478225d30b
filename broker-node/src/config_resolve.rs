//! Checks a parsed [`FileConfig`] and turns it into the engine's [`BrokerConfig`].
//!
//! Every problem is collected (not just the first) and names its key the way the file spells
//! it, e.g. `limits.max_packet_size: must be between 2 and 268435460, got 0`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::time::Duration;

use broker_cluster::ClusterConfig;
use broker_core::codec::MAX_PACKET_SIZE;
use broker_core::config::{BrokerConfig, ListenerConfig, RetainedLimits};
use broker_core::session::{QueueLimits, SessionConfig};
use broker_core::types::{ClientId, QoS};

use crate::config_admin::{self, AdminConfig};
use crate::config_auth::{self, AuthConfig, ListenerFiles};
use crate::config_cluster;
use crate::config_file::{FileConfig, LimitsSection, ListenerSection};
use crate::config_listener;
use crate::config_plugins::{self, PluginConfig};
use crate::config_storage::{self, StorageConfig};

/// The smallest `limits.max_connect_size`: below it, common clients could not connect.
const MIN_CONNECT_SIZE: u64 = 64;

/// One thing wrong with a config: the key (`limits.max_qos`, `listener[1].bind`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The key's path in the file.
    pub(crate) key: String,
    /// What is wrong with its value.
    pub(crate) message: String,
}

/// What a config file resolves to: the engine's configuration and the node's own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The engine's configuration.
    pub(crate) broker: BrokerConfig,
    /// Where the Prometheus endpoint listens, if anywhere.
    pub(crate) metrics: Option<SocketAddr>,
    /// The `[auth]` settings.
    pub(crate) auth: AuthConfig,
    /// The `[storage]` settings.
    pub(crate) storage: StorageConfig,
    /// The `[admin]` endpoint, if there is one.
    pub(crate) admin: Option<AdminConfig>,
    /// The `[[plugins]]`.
    pub(crate) plugins: Vec<PluginConfig>,
    /// The `[cluster]`, if the node is in one.
    pub(crate) cluster: Option<ClusterConfig>,
}

/// Resolves `file` into the engine's configuration and the node's settings, or every
/// problem found.
pub(crate) fn resolve(file: &FileConfig) -> Result<Resolved, Vec<Problem>> {
    let mut check = Checker::default();
    let defaults = SessionConfig::default();
    let limits = &file.limits;
    let session = &file.session;
    let features = &file.features;

    // Checked in the order the keys appear in the file, so problems are listed that way.
    let (listeners, listener_files) = listeners(&mut check, &file.listener, limits);
    let mut auth = config_auth::resolve(&mut check, &file.auth);
    auth.listeners = listener_files;
    let storage = config_storage::resolve(&mut check, &file.storage);
    let admin = config_admin::resolve(&mut check, &file.admin);
    let plugins = config_plugins::resolve(&mut check, &file.plugins);
    let cluster = config_cluster::resolve(&mut check, &file.cluster);
    let max_connections = match limits.max_connections {
        0 => None,
        n => Some(check.range("limits.max_connections", n, 1, usize::MAX, 1)),
    };
    let mut retained = RetainedLimits::default();
    retained.max_messages = match limits.retained_max_messages {
        0 => None,
        n => Some(check.range("limits.retained_max_messages", n, 1, usize::MAX, 1)),
    };
    retained.max_payload = match limits.retained_max_payload.0 {
        0 => None,
        n => Some(check.range("limits.retained_max_payload", n, 1, usize::MAX, 1)),
    };
    // The listeners took these as the rates of their clients, unless they set their own.
    config_listener::per_second(
        &mut check,
        "limits.client_message_rate",
        limits.client_message_rate,
    );
    config_listener::per_second(
        &mut check,
        "limits.client_byte_rate",
        limits.client_byte_rate.0,
    );
    let max_packet_size = check.range(
        "limits.max_packet_size",
        limits.max_packet_size.0,
        2,
        MAX_PACKET_SIZE,
        defaults.max_packet_size,
    );
    let max_connect_size = check.range(
        "limits.max_connect_size",
        limits.max_connect_size.0,
        MIN_CONNECT_SIZE,
        MAX_PACKET_SIZE,
        BrokerConfig::DEFAULT_MAX_CONNECT_SIZE,
    );
    let receive_budget = match limits.receive_budget.0 {
        0 => None,
        bytes if bytes < u64::from(max_packet_size) => {
            check.problem(
                "limits.receive_budget",
                format!(
                    "must be 0 (no limit) or at least limits.max_packet_size ({max_packet_size}), \
                     got {bytes}: a larger packet could never be received"
                ),
            );
            None
        }
        bytes => Some(check.range(
            "limits.receive_budget",
            bytes,
            1,
            usize::MAX,
            BrokerConfig::DEFAULT_RECEIVE_BUDGET,
        )),
    };
    let max_client_id_len = check.range(
        "limits.max_client_id_len",
        limits.max_client_id_len,
        1,
        u16::MAX,
        1,
    );
    let max_topic_len = check.range("limits.max_topic_len", limits.max_topic_len, 1, u16::MAX, 1);
    let max_topic_levels = check.range(
        "limits.max_topic_levels",
        limits.max_topic_levels,
        1,
        u16::MAX,
        1,
    );
    let receive_maximum = check.non_zero_u16("limits.receive_maximum", limits.receive_maximum);
    let max_inflight_v3 = check.non_zero_u16("limits.max_inflight", limits.max_inflight);
    let topic_alias_maximum = check.range(
        "limits.topic_alias_maximum",
        limits.topic_alias_maximum,
        0,
        u16::MAX,
        0,
    );
    let max_session_expiry = check.range(
        "session.max_session_expiry",
        session.max_session_expiry.0,
        0,
        u32::MAX,
        0,
    );
    let max_keep_alive = match session.max_keep_alive.0 {
        0 => None,
        n => Some(check.range("session.max_keep_alive", n, 1, u16::MAX, 1)),
    };
    let connect_timeout = check.range(
        "session.connect_timeout",
        session.connect_timeout.0,
        1,
        u16::MAX,
        1u64,
    );
    let mut queue = QueueLimits::default();
    queue.max_messages = check.range(
        "session.queue_max_messages",
        session.queue_max_messages,
        0,
        usize::MAX,
        0,
    );
    queue.max_bytes = check.range(
        "session.queue_max_bytes",
        session.queue_max_bytes.0,
        0,
        usize::MAX,
        0,
    );
    queue.queue_qos0 = session.queue_qos0;
    queue.overflow = session.queue_overflow.into();
    let queue_full_wait_ms = check.range(
        "session.queue_full_wait_ms",
        session.queue_full_wait_ms.0,
        0,
        3_600_000u64,
        1000,
    );
    let park_idle_after = match session.park_idle_after_ms.0 {
        0 => None,
        ms => Some(Duration::from_millis(check.range(
            "session.park_idle_after_ms",
            ms,
            1,
            86_400_000u64,
            2000,
        ))),
    };
    let max_qos_bits = check.range("features.max_qos", features.max_qos, 0, 2, 2u8);
    let sys_interval = match file.sys.interval.0 {
        0 => None,
        n => Some(Duration::from_secs(check.range(
            "sys.interval",
            n,
            1,
            86_400u64,
            10,
        ))),
    };
    let metrics = file.metrics.bind.as_deref().and_then(|bind| {
        bind.parse::<SocketAddr>()
            .map_err(|_| {
                check.problem(
                    "metrics.bind",
                    format!("must be IP:PORT, such as 127.0.0.1:9883, got {bind:?}"),
                );
            })
            .ok()
    });
    let mut engine_session = SessionConfig::default();
    engine_session.max_packet_size = max_packet_size;
    engine_session.receive_maximum = receive_maximum;
    engine_session.max_inflight_v3 = max_inflight_v3;
    engine_session.topic_alias_maximum = topic_alias_maximum;
    engine_session.outbound_topic_aliases = features.outbound_topic_aliases;
    engine_session.max_keep_alive = max_keep_alive;
    engine_session.max_session_expiry = max_session_expiry;
    engine_session.connect_timeout = Duration::from_secs(connect_timeout);
    engine_session.max_qos = QoS::try_from(max_qos_bits).unwrap_or(QoS::ExactlyOnce);
    engine_session.retain_available = features.retain_available;
    engine_session.wildcard_subscriptions = features.wildcard_subscriptions;
    engine_session.shared_subscriptions = features.shared_subscriptions;
    engine_session.subscription_identifiers = features.subscription_identifiers;
    engine_session.max_client_id_len = max_client_id_len;
    engine_session.allow_zero_length_client_id = session.allow_zero_length_client_id;
    engine_session.allow_control_characters = features.allow_control_characters;
    engine_session.max_topic_len = max_topic_len;
    engine_session.max_topic_levels = max_topic_levels;
    engine_session.queue = queue;
    engine_session.response_information = session.response_information.clone();
    let trace_clients = file
        .log
        .trace_clients
        .iter()
        .enumerate()
        .filter_map(|(n, id)| {
            ClientId::new(id.as_str())
                .map_err(|error| {
                    check.problem(&format!("log.trace_clients[{n}]"), error.to_string())
                })
                .ok()
        })
        .collect();
    let mut broker = BrokerConfig::default();
    broker.listeners = listeners;
    broker.max_connections = max_connections;
    broker.queue_full_wait = Duration::from_millis(queue_full_wait_ms);
    broker.max_connect_size = max_connect_size;
    broker.receive_budget = receive_budget;
    broker.session = engine_session;
    broker.sys_interval = sys_interval;
    broker.trace_clients = trace_clients;
    broker.park_idle_after = park_idle_after;
    broker.retained = retained;
    check.finish(Resolved {
        broker,
        metrics,
        auth,
        storage,
        admin,
        plugins,
        cluster,
    })
}

/// Checks the `[[listener]]` entries: at least one, addresses that parse, no name or address
/// used twice, then each one's protocol and TLS keys (`config_listener`); and the password
/// and ACL files of the listeners that have their own.
fn listeners(
    check: &mut Checker,
    sections: &[ListenerSection],
    limits: &LimitsSection,
) -> (Vec<ListenerConfig>, Vec<ListenerFiles>) {
    if sections.is_empty() {
        check.problem(
            "listener",
            "at least one [[listener]] is required".to_owned(),
        );
    }
    let mut names = HashSet::new();
    let mut binds = HashSet::new();
    let mut listeners = Vec::with_capacity(sections.len());
    let mut files = Vec::new();
    for (index, section) in sections.iter().enumerate() {
        let Ok(bind) = section.bind.trim().parse::<SocketAddr>() else {
            check.problem(
                &format!("listener[{index}].bind"),
                format!(
                    "{:?} is not an IP:PORT socket address (for example \"0.0.0.0:1883\" or \
                     \"[::]:1883\"; host names are not resolved)",
                    section.bind
                ),
            );
            continue;
        };
        if !binds.insert(bind) {
            check.problem(
                &format!("listener[{index}].bind"),
                format!("{bind} is used by another listener"),
            );
        }
        // A name derived from a duplicate address is reported once, as the address.
        let name = match &section.name {
            Some(name) if name.trim().is_empty() => {
                check.problem(
                    &format!("listener[{index}].name"),
                    "must not be empty".to_owned(),
                );
                name.clone()
            }
            Some(name) => {
                if !names.insert(name.clone()) {
                    check.problem(
                        &format!("listener[{index}].name"),
                        format!("{name:?} is used by another listener"),
                    );
                }
                name.clone()
            }
            None => {
                let name = bind.to_string();
                names.insert(name.clone());
                name
            }
        };
        files.extend(config_auth::listener_files(check, index, &name, section));
        listeners.push(config_listener::resolve(
            check, index, section, limits, name, bind,
        ));
    }
    (listeners, files)
}

/// Collects problems while the config is built; values that fail a check are replaced by a
/// placeholder, and the result is thrown away if anything failed.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    pub(crate) fn problem(&mut self, key: &str, message: String) {
        self.problems.push(Problem {
            key: key.to_owned(),
            message,
        });
    }

    /// `value` converted to `T` if it lies in `min..=max`; else a problem and `fallback`.
    pub(crate) fn range<T, B>(&mut self, key: &str, value: u64, min: u64, max: B, fallback: T) -> T
    where
        T: TryFrom<u64>,
        B: TryInto<u64>,
    {
        let max = max.try_into().unwrap_or(u64::MAX);
        if (min..=max).contains(&value) {
            if let Ok(converted) = T::try_from(value) {
                return converted;
            }
        }
        self.problem(key, format!("must be between {min} and {max}, got {value}"));
        fallback
    }

    fn non_zero_u16(&mut self, key: &str, value: u64) -> NonZeroU16 {
        let raw: u16 = self.range(key, value, 1, u16::MAX, 1);
        NonZeroU16::new(raw).unwrap_or(NonZeroU16::MIN)
    }

    /// `value` if nothing failed, else every problem.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, Vec<Problem>> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(self.problems)
        }
    }
}
