//! A Mosquitto configuration mapped onto Skein's: each directive
//! ([`mosquitto_conf`](crate::mosquitto_conf)) becomes the Skein key that means the same, or a
//! [`Finding`] naming its line and what to do instead. Nothing is left out silently.
//!
//! Where Mosquitto's defaults differ from Skein's in what a client sees, the import writes
//! Mosquitto's: anonymous clients are refused once the file opens a listener (Mosquitto 2),
//! a file without listeners listens on 127.0.0.1:1883 only and lets anonymous clients in,
//! and sessions are kept in memory unless the file says `persistence true`.

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::mosquitto_conf::{Directive, Origin};
use crate::mosquitto_listener::{parse_bool, parse_max_connections, ListenerDraft, LISTENER_KEYS};

/// A directive that is not imported, or imported with a difference worth saying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// Where it was written.
    pub(crate) origin: Origin,
    /// The Mosquitto key.
    pub(crate) key: String,
    /// What happened, and what to do instead.
    pub(crate) message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.origin, self.key, self.message)
    }
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Import {
    /// Skein's configuration, as a TOML document.
    pub(crate) document: Table,
    /// The directives that were not imported.
    pub(crate) unsupported: Vec<Finding>,
    /// The directives imported with a difference.
    pub(crate) notes: Vec<Finding>,
}

/// Which listener the per-listener keys apply to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Current {
    /// None yet: Mosquitto's default listener.
    Default,
    /// The listener at this index.
    Listener(usize),
    /// A listener that could not be imported, started at this line.
    Dropped(Origin),
}

/// The mapping under way.
struct Mapper {
    per_listener_settings: bool,
    default_listener: ListenerDraft,
    /// `port` or `bind_address` asked for the default listener.
    default_wanted: bool,
    listeners: Vec<ListenerDraft>,
    current: Current,
    /// Skein's tables (`auth`, `limits`, ...) by name.
    tables: BTreeMap<&'static str, Table>,
    /// The `connection` line of the bridge being read, if any.
    bridge: Option<(Origin, String)>,
    /// The `log_type` levels seen.
    log_types: Vec<&'static str>,
    /// Where `password_file` and `acl_file` were set, to name a second, different one.
    auth_files: BTreeMap<&'static str, (Origin, String)>,
    unsupported: Vec<Finding>,
    notes: Vec<Finding>,
}

/// Maps `directives` onto Skein's configuration.
pub(crate) fn map(directives: &[Directive]) -> Import {
    let per_listener_settings = directives
        .iter()
        .rev()
        .find(|d| d.key == "per_listener_settings")
        .is_some_and(|d| d.value() == "true");
    let mut mapper = Mapper {
        per_listener_settings,
        default_listener: ListenerDraft::new(None, 1883, None),
        default_wanted: false,
        listeners: Vec::new(),
        current: Current::Default,
        tables: BTreeMap::new(),
        bridge: None,
        log_types: Vec::new(),
        auth_files: BTreeMap::new(),
        unsupported: Vec::new(),
        notes: Vec::new(),
    };
    for directive in directives {
        if let Err(message) = mapper.directive(directive) {
            mapper.unsupported.push(Finding {
                origin: directive.origin.clone(),
                key: directive.key.clone(),
                message,
            });
        }
    }
    mapper.finish()
}

impl Mapper {
    /// Sets `key` of `[table]`.
    fn set(&mut self, table: &'static str, key: &str, value: Value) {
        self.tables
            .entry(table)
            .or_default()
            .insert(key.to_owned(), value);
    }

    fn note(&mut self, directive: &Directive, message: String) {
        self.notes.push(Finding {
            origin: directive.origin.clone(),
            key: directive.key.clone(),
            message,
        });
    }

    /// Maps one directive; `Err` says why it is not imported.
    fn directive(&mut self, directive: &Directive) -> Result<(), String> {
        let key = directive.key.as_str();
        if key == "connection" {
            self.bridge = Some((directive.origin.clone(), directive.value()));
            return Err(bridge_message());
        }
        if let Some((origin, name)) = &self.bridge {
            if is_bridge_key(key) {
                return Err(format!("part of the bridge `connection {name}` ({origin})"));
            }
        }
        if let Some(reason) = unsupported_reason(key) {
            return Err(reason.to_owned());
        }
        if directive.args.is_empty() {
            return Err("has no value".to_owned());
        }
        let value = directive.value();
        match key {
            "per_listener_settings" => {
                parse_bool(&value)?;
            }
            "listener" => self.listener(directive)?,
            "port" => {
                self.default_listener.port = value
                    .parse()
                    .map_err(|_| format!("{value:?} is not a port number"))?;
                self.want_default(directive);
            }
            "bind_address" => {
                self.default_listener.set_address(&value)?;
                self.want_default(directive);
            }
            "max_connections" => match self.current.clone() {
                Current::Default => {
                    let max = parse_max_connections(&value)?;
                    self.set("limits", "max_connections", Value::Integer(max));
                }
                Current::Listener(_) | Current::Dropped(_) => {
                    self.listener_key(|listener| {
                        listener.set_max_connections(directive).map(|()| None)
                    })?;
                }
            },
            _ if LISTENER_KEYS.contains(&key) => {
                let note = self.listener_key(|listener| listener.apply(directive))?;
                if let Some(note) = note {
                    self.note(directive, note);
                }
            }
            "allow_anonymous" => {
                let allow = parse_bool(&value)?;
                match self.current.clone() {
                    Current::Listener(_) | Current::Dropped(_) if self.per_listener_settings => {
                        self.listener_key(|listener| {
                            listener.set_allow_anonymous(allow);
                            Ok(None)
                        })?;
                    }
                    _ => self.set("auth", "allow_anonymous", Value::Boolean(allow)),
                }
            }
            "password_file" | "acl_file" => self.auth_file(directive)?,
            _ => self.general(directive, &value)?,
        }
        Ok(())
    }

    /// The keys that do not depend on a listener.
    fn general(&mut self, directive: &Directive, value: &str) -> Result<(), String> {
        let key = directive.key.as_str();
        let (table, skein_key, mapped) = match key {
            "max_inflight_messages" => (
                "limits",
                "max_inflight",
                // 0 is "no limit" in Mosquitto; Skein's most is 65535.
                Value::Integer(match int(value, 0, i64::from(u16::MAX))? {
                    0 => i64::from(u16::MAX),
                    n => n,
                }),
            ),
            "max_packet_size" => (
                "limits",
                "max_packet_size",
                Value::Integer(match int(value, 0, 268_435_460)? {
                    0 => 268_435_460,
                    n => n,
                }),
            ),
            "message_size_limit" => {
                let limit = int(value, 0, 268_435_455)?;
                self.note(
                    directive,
                    "Skein limits whole packets (limits.max_packet_size), not payloads: the limit now counts the topic and headers too".to_owned(),
                );
                let size = if limit == 0 { 268_435_460 } else { limit };
                ("limits", "max_packet_size", Value::Integer(size))
            }
            "max_topic_alias" => (
                "limits",
                "topic_alias_maximum",
                Value::Integer(int(value, 0, i64::from(u16::MAX))?),
            ),
            "max_keepalive" => (
                "session",
                "max_keep_alive",
                Value::Integer(int(value, 0, i64::from(u16::MAX))?),
            ),
            "persistent_client_expiration" => {
                self.note(
                    directive,
                    "Skein caps every session's expiry at this (session.max_session_expiry), MQTT 5 clients' too".to_owned(),
                );
                let seconds = expiration_seconds(value)?.min(i64::from(u32::MAX));
                ("session", "max_session_expiry", Value::Integer(seconds))
            }
            "allow_zero_length_clientid" => (
                "session",
                "allow_zero_length_client_id",
                Value::Boolean(parse_bool(value)?),
            ),
            "max_queued_messages" => match int(value, 0, i64::MAX)? {
                0 => return Err(unbounded_queue("queue_max_messages")),
                n => ("session", "queue_max_messages", Value::Integer(n)),
            },
            "max_queued_bytes" => match int(value, 0, i64::MAX)? {
                0 => {
                    self.note(directive, "0 (no byte limit) keeps Skein's session.queue_max_bytes default, 16 MiB: every Skein queue is bounded".to_owned());
                    return Ok(());
                }
                n => ("session", "queue_max_bytes", Value::Integer(n)),
            },
            "queue_qos0_messages" => ("session", "queue_qos0", Value::Boolean(parse_bool(value)?)),
            "retain_available" => (
                "features",
                "retain_available",
                Value::Boolean(parse_bool(value)?),
            ),
            "max_qos" => ("features", "max_qos", Value::Integer(int(value, 0, 2)?)),
            "sys_interval" => ("sys", "interval", Value::Integer(int(value, 0, 86_400)?)),
            "persistence" => (
                "storage",
                "durability",
                Value::String(if parse_bool(value)? { "sync" } else { "memory" }.to_owned()),
            ),
            "persistence_location" => {
                self.note(directive, "Skein keeps its own store in this directory (docs/persistence.md); it does not read mosquitto.db".to_owned());
                ("storage", "data_dir", Value::String(value.to_owned()))
            }
            "log_type" => {
                self.log_types.push(log_level(value)?);
                return Ok(());
            }
            "log_dest" => return log_dest(value, &mut self.log_types),
            "log_timestamp" | "connection_messages" => {
                return match parse_bool(value)? {
                    true => Ok(()),
                    false if key == "log_timestamp" => Err("Skein's text log lines always start with the time; log.format = \"json\" writes it as a field".to_owned()),
                    false => Err("Skein logs connections at info: log.level = \"warn\" leaves them out, with the rest of the info lines".to_owned()),
                };
            }
            _ => return Err(unknown_key()),
        };
        self.set(table, skein_key, mapped);
        Ok(())
    }

    /// `listener PORT [ADDRESS]`.
    fn listener(&mut self, directive: &Directive) -> Result<(), String> {
        match ListenerDraft::from_line(directive) {
            Ok(listener) => {
                self.listeners.push(listener);
                self.current = Current::Listener(self.listeners.len() - 1);
                Ok(())
            }
            Err(message) => {
                self.current = Current::Dropped(directive.origin.clone());
                Err(format!(
                    "{message} (the keys of this listener's block are not imported either)"
                ))
            }
        }
    }

    /// Marks the default listener as asked for (`port`, `bind_address`).
    fn want_default(&mut self, directive: &Directive) {
        self.default_wanted = true;
        if self.default_listener.origin.is_none() {
            self.default_listener.origin = Some(directive.origin.clone());
        }
    }

    /// Applies `apply` to the current listener.
    fn listener_key(
        &mut self,
        apply: impl FnOnce(&mut ListenerDraft) -> Result<Option<String>, String>,
    ) -> Result<Option<String>, String> {
        let listener = match &self.current {
            Current::Default => &mut self.default_listener,
            Current::Listener(index) => self
                .listeners
                .get_mut(*index)
                .ok_or_else(|| "no listener".to_owned())?,
            Current::Dropped(origin) => {
                return Err(format!(
                    "belongs to the listener at {origin}, which is not imported"
                ))
            }
        };
        apply(listener)
    }

    /// `password_file`, `acl_file`: with `per_listener_settings true`, in a listener block,
    /// the listener's own; else `[auth]`'s, one of each for every listener.
    fn auth_file(&mut self, directive: &Directive) -> Result<(), String> {
        let key: &'static str = if directive.key == "password_file" {
            "password_file"
        } else {
            "acl_file"
        };
        if self.per_listener_settings && self.current != Current::Default {
            return self
                .listener_key(|listener| {
                    listener.set_auth_file(key, directive);
                    Ok(None)
                })
                .map(|_| ());
        }
        let value = directive.value();
        if let Some((origin, first)) = self.auth_files.get(key) {
            if *first != value {
                return Err(format!(
                    "Skein checks one {key} on every listener ([auth] {key}), the one of {origin}; merge the two files into one, or set per_listener_settings true to give each listener its own"
                ));
            }
            return Ok(());
        }
        self.auth_files
            .insert(key, (directive.origin.clone(), value.clone()));
        self.set("auth", key, Value::String(value));
        Ok(())
    }

    /// The document, with the listeners and Mosquitto's defaults.
    fn finish(mut self) -> Import {
        let mut listeners: Vec<Value> = Vec::new();
        let local_only = self.listeners.is_empty() && !self.default_wanted;
        if local_only {
            let mut local = self.default_listener.clone();
            local.address = Some(std::net::IpAddr::from([127, 0, 0, 1]));
            listeners.push(Value::Table(local.finish(Some("default"))));
        } else if self.default_wanted {
            listeners.push(Value::Table(
                self.default_listener.clone().finish(Some("default")),
            ));
        } else {
            for (origin, key) in &self.default_listener.keys {
                self.unsupported.push(Finding {
                    origin: origin.clone(),
                    key: key.clone(),
                    message: "before any `listener` line it sets Mosquitto's default listener, which this file does not open (no `port`): move it into a `listener` block".to_owned(),
                });
            }
        }
        listeners.extend(
            self.listeners
                .into_iter()
                .map(|listener| Value::Table(listener.finish(None))),
        );
        let auth = self.tables.entry("auth").or_default();
        auth.entry("allow_anonymous")
            .or_insert(Value::Boolean(local_only));
        let storage = self.tables.entry("storage").or_default();
        storage
            .entry("durability")
            .or_insert_with(|| Value::String("memory".to_owned()));
        if let Some(level) = self.log_types.iter().min_by_key(|level| verbosity(level)) {
            let level = if self.log_types.contains(&"off") {
                "off"
            } else {
                level
            };
            self.tables
                .entry("log")
                .or_default()
                .insert("level".to_owned(), Value::String(level.to_owned()));
        }
        let mut document = Table::new();
        document.insert("listener".to_owned(), Value::Array(listeners));
        for (name, table) in self.tables {
            document.insert(name.to_owned(), Value::Table(table));
        }
        Import {
            document,
            unsupported: self.unsupported,
            notes: self.notes,
        }
    }
}

/// An integer from `min` to `max`.
fn int(value: &str, min: i64, max: i64) -> Result<i64, String> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("expected an integer from {min} to {max}, got {value:?}"))
}

/// `persistent_client_expiration`: a number and `h`, `d`, `w`, `m` (30 days) or `y`.
fn expiration_seconds(value: &str) -> Result<i64, String> {
    let invalid = || format!("expected a number and h, d, w, m or y (\"14d\"), got {value:?}");
    let unit = value.chars().last().ok_or_else(invalid)?;
    let seconds = match unit {
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'm' => 30 * 86_400,
        'y' => 365 * 86_400,
        _ => return Err(invalid()),
    };
    let number: i64 = value
        .get(..value.len() - 1)
        .and_then(|number| number.parse().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(invalid)?;
    number.checked_mul(seconds).ok_or_else(invalid)
}

/// Skein's `log.level` for a `log_type`.
fn log_level(value: &str) -> Result<&'static str, String> {
    match value {
        "none" => Ok("off"),
        "error" => Ok("error"),
        "warning" => Ok("warn"),
        "notice" | "information" | "subscribe" | "unsubscribe" | "websockets" => Ok("info"),
        "debug" | "all" => Ok("debug"),
        _ => Err(format!("{value:?} is not a Mosquitto log type")),
    }
}

/// Orders levels, the most verbose first.
fn verbosity(level: &str) -> u8 {
    match level {
        "debug" => 0,
        "info" => 1,
        "warn" => 2,
        "error" => 3,
        _ => 4,
    }
}

/// `log_dest`: Skein logs to standard error.
fn log_dest(value: &str, log_types: &mut Vec<&'static str>) -> Result<(), String> {
    let mut words = value.split_whitespace();
    match words.next().unwrap_or_default() {
        "stderr" => Ok(()),
        "none" => {
            log_types.push("off");
            Ok(())
        }
        "stdout" => Err("Skein logs to standard error: redirect it (`skein -c FILE 2>&1`)".to_owned()),
        "file" => Err(format!(
            "Skein logs to standard error: redirect it (`skein -c FILE 2>>{}`) or run it under systemd, whose journal keeps it",
            words.next().unwrap_or("FILE")
        )),
        "syslog" => Err("Skein logs to standard error: under systemd (deploy/skein.service) the journal keeps it, and forwards it to syslog".to_owned()),
        "topic" => Err("the log is not published on $SYS/broker/log; the $SYS statistics are ([sys] interval)".to_owned()),
        "dlt" => Err("Skein logs to standard error only".to_owned()),
        other => Err(format!("{other:?} is not a Mosquitto log destination")),
    }
}

/// Why an unbounded queue is not imported.
fn unbounded_queue(skein_key: &str) -> String {
    format!("0 (no limit) is not supported: every Skein queue is bounded; set session.{skein_key} to a large value")
}

fn bridge_message() -> String {
    "bridges are not supported: run Mosquitto as the bridge next to Skein and point it at Skein's listener (Skein accepts bridge connections)".to_owned()
}

/// Whether `key` is one of a bridge's (after `connection`).
fn is_bridge_key(key: &str) -> bool {
    const BRIDGE_KEYS: [&str; 15] = [
        "address",
        "addresses",
        "topic",
        "cleansession",
        "clientid",
        "idle_timeout",
        "keepalive_interval",
        "notifications",
        "notification_topic",
        "restart_timeout",
        "round_robin",
        "start_type",
        "threshold",
        "try_private",
        "local_cleansession",
    ];
    BRIDGE_KEYS.contains(&key)
        || ["bridge_", "remote_", "local_", "notifications_"]
            .iter()
            .any(|prefix| key.starts_with(prefix))
}

/// A Mosquitto key Skein knows of but has no equivalent for, and what to do instead.
fn unsupported_reason(key: &str) -> Option<&'static str> {
    if key.starts_with("auth_opt_") || key.starts_with("plugin_opt_") {
        return Some(
            "Mosquitto's plugins are not loaded: use [[plugins]], WASM plugins (docs/plugins.md)",
        );
    }
    if is_bridge_key(key) {
        return Some("a bridge setting outside a bridge (`connection`): bridges are not supported");
    }
    Some(match key {
        "plugin" | "auth_plugin" | "global_plugin" | "plugin_load" | "plugin_use_for" => {
            "Mosquitto's plugins are not loaded: use [[plugins]], WASM plugins (docs/plugins.md)"
        }
        "capath" => "concatenate the CA certificates into one PEM file and name it with cafile",
        "use_subject_as_username" => "use use_identity_as_username (the certificate's Common Name)",
        "psk_hint" | "psk_file" => "TLS pre-shared keys are not supported: use certificates (certfile, keyfile, cafile)",
        "dhparamfile" => "not needed: Skein's TLS uses ECDHE key exchange only",
        "tls_engine" | "tls_engine_kpass_sha1" | "tls_keyform" => "hardware engines are not supported: keyfile must be a PEM private key",
        "bind_interface" => "bind the interface's IP address instead (`listener PORT ADDRESS`)",
        "http_dir" => "Skein does not serve files over HTTP: serve them with a web server",
        "mount_point" => "topic mount points are not supported: prefix the topics in the clients, or with a plugin's topic rewrite (docs/plugins.md)",
        "websockets_log_level" | "websockets_headers_size" | "websockets_origin" => "not configurable: Skein's WebSocket listener needs no tuning",
        "autosave_interval" | "autosave_on_changes" => "Skein writes each change to its store as it happens ([storage] durability \"sync\", or \"batched\" within batch_window_ms)",
        "persistence_file" => "Skein's store is the directory [storage] data_dir; it does not read or write mosquitto.db",
        "pid_file" => "no PID file: systemd tracks the process (deploy/skein.service), or write $! from the init script",
        "user" => "Skein does not change user: start it as that user (systemd User=, as in deploy/skein.service)",
        "clientid_prefixes" => "refuse other client identifiers with an ACL pattern (%c) or a plugin (docs/plugins.md)",
        "auto_id_prefix" => "assigned client identifiers have Skein's own form",
        "check_retain_source" => "not supported: a retained message stays until replaced or deleted",
        "upgrade_outgoing_qos" => "not supported: messages are delivered at the lower of the published and the subscribed QoS, as MQTT says",
        "max_inflight_bytes" => "not supported: limits.max_inflight bounds the messages in flight by count",
        "memory_limit" => "not supported as such: limits.receive_budget bounds what large incoming packets hold, and each session's queue is bounded (session.queue_max_bytes)",
        "set_tcp_nodelay" => "not configurable",
        "use_username_as_clientid" => "not supported: a plugin can check client identifiers against user names (docs/plugins.md)",
        "allow_duplicate_messages" | "retry_interval" | "store_clean_interval" => "obsolete in Mosquitto too: leave it out",
        "log_timestamp_format" => "Skein's text log lines start with UNIX seconds, as Mosquitto's default; log.format = \"json\" for structured time",
        "log_facility" => "Skein logs to standard error: the journal or syslog sets the facility",
        "include_dir" => "has no directory",
        "accept_protocol_versions" => "not supported: Skein accepts MQTT 3.1, 3.1.1 and 5.0 on every listener",
        "disable_client_cert_date_checks" => "not supported: client certificates are checked in full",
        "ocsp_enable" | "ocsp_uri" => "OCSP is not supported: revoke client certificates with crlfile",
        _ => return None,
    })
}

/// The message for a key Mosquitto does not have either.
fn unknown_key() -> String {
    "not a Mosquitto option Skein knows of: check its spelling (docs/configuration.md, \"Coming from Mosquitto\")".to_owned()
}

#[cfg(test)]
#[path = "mosquitto_map_test.rs"]
mod tests;
