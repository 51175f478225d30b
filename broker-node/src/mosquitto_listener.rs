//! One Mosquitto listener on its way to a Skein `[[listener]]` table: the `listener` line
//! (or `port` / `bind_address` for Mosquitto's default listener) and the per-listener keys
//! that follow it.

use std::net::IpAddr;

use toml::{Table, Value};

use crate::mosquitto_conf::{Directive, Origin};

/// The TLS 1.2 suites rustls offers, by OpenSSL's name (Mosquitto's `ciphers`) and by the
/// IANA name Skein's `cipher_suites` takes.
const TLS12_SUITES: [(&str, &str); 6] = [
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

/// The TLS 1.3 suites rustls offers, as Mosquitto's `ciphers_tls1.3` (OpenSSL) names them.
const TLS13_SUITES: [&str; 3] = [
    "TLS_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// The keys a listener takes, besides `listener` itself.
pub(crate) const LISTENER_KEYS: [&str; 12] = [
    "certfile",
    "keyfile",
    "cafile",
    "require_certificate",
    "use_identity_as_username",
    "crlfile",
    "tls_version",
    "ciphers",
    "ciphers_tls1.3",
    "protocol",
    "socket_domain",
    "enable_proxy_protocol",
];

/// A listener being read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListenerDraft {
    /// Where it starts: its `listener` line, or the first line that set it (the default
    /// listener); `None` for a default listener nothing set.
    pub(crate) origin: Option<Origin>,
    /// The port.
    pub(crate) port: u16,
    /// The IP address to bind, if the file says.
    pub(crate) address: Option<IpAddr>,
    /// `socket_domain ipv6`: without an address, bind `[::]` rather than `0.0.0.0`.
    ipv6: bool,
    /// The Skein keys set so far.
    table: Table,
    /// `ciphers`, as IANA names.
    tls12_suites: Option<Vec<String>>,
    /// `ciphers_tls1.3`, as IANA names.
    tls13_suites: Option<Vec<String>>,
    /// Where each key given to the listener was written.
    pub(crate) keys: Vec<(Origin, String)>,
}

impl ListenerDraft {
    /// A listener on `port`, on the address the file may give later.
    pub(crate) fn new(origin: Option<Origin>, port: u16, address: Option<IpAddr>) -> Self {
        ListenerDraft {
            origin,
            port,
            address,
            ipv6: false,
            table: Table::new(),
            tls12_suites: None,
            tls13_suites: None,
            keys: Vec::new(),
        }
    }

    /// Reads `listener PORT [ADDRESS]`.
    ///
    /// # Errors
    ///
    /// Why the listener cannot be imported: a Unix socket, a host name, a bad port.
    pub(crate) fn from_line(directive: &Directive) -> Result<Self, String> {
        let (port, address) = match directive.args.as_slice() {
            [port] => (port, None),
            [port, address] => (port, Some(address)),
            _ => return Err("expected `listener PORT [BIND ADDRESS]`".to_owned()),
        };
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{port:?} is not a port number"))?;
        if port == 0 {
            return Err("a Unix socket (port 0) is not supported: Skein listens on TCP only; give the listener a port".to_owned());
        }
        let address = address.map(|address| parse_address(address)).transpose()?;
        Ok(ListenerDraft::new(
            Some(directive.origin.clone()),
            port,
            address,
        ))
    }

    /// Sets `bind_address` (the default listener's).
    ///
    /// # Errors
    ///
    /// The address is not an IP address.
    pub(crate) fn set_address(&mut self, text: &str) -> Result<(), String> {
        self.address = Some(parse_address(text)?);
        Ok(())
    }

    /// Applies one of [`LISTENER_KEYS`]. `Ok(Some(note))` when it is mapped with a
    /// difference worth saying.
    ///
    /// # Errors
    ///
    /// Why the value cannot be mapped.
    pub(crate) fn apply(&mut self, directive: &Directive) -> Result<Option<String>, String> {
        self.keys
            .push((directive.origin.clone(), directive.key.clone()));
        let value = directive.value();
        let key = directive.key.as_str();
        match key {
            "certfile" | "keyfile" | "cafile" | "crlfile" => {
                self.table.insert(key.to_owned(), Value::String(value));
            }
            "require_certificate" | "use_identity_as_username" => {
                self.table
                    .insert(key.to_owned(), Value::Boolean(parse_bool(&value)?));
            }
            "enable_proxy_protocol" => {
                if value != "1" && value != "2" {
                    return Err(format!("expected 1 or 2, got {value:?}"));
                }
                self.table
                    .insert("proxy_protocol".to_owned(), Value::Boolean(true));
                return Ok(Some(
                    "the listener accepts PROXY protocol v1 and v2 headers alike".to_owned(),
                ));
            }
            "tls_version" => match value.as_str() {
                "tlsv1.2" | "tlsv1.3" => {
                    self.table.insert(key.to_owned(), Value::String(value));
                }
                "tlsv1.1" | "tlsv1" => {
                    return Err(format!(
                        "{value} is not offered: Skein accepts TLS 1.2 and 1.3 (tls_version \"tlsv1.2\" or \"tlsv1.3\")"
                    ))
                }
                _ => return Err(format!("expected tlsv1.2 or tlsv1.3, got {value:?}")),
            },
            "ciphers" => self.tls12_suites = Some(tls12_suites(&value)?),
            "ciphers_tls1.3" => self.tls13_suites = Some(tls13_suites(&value)?),
            "protocol" => match value.as_str() {
                "mqtt" | "websockets" => {
                    self.table.insert(key.to_owned(), Value::String(value));
                }
                _ => return Err(format!("expected mqtt or websockets, got {value:?}")),
            },
            "socket_domain" => match value.as_str() {
                "ipv4" => self.ipv6 = false,
                "ipv6" => self.ipv6 = true,
                _ => return Err(format!("expected ipv4 or ipv6, got {value:?}")),
            },
            _ => return Err(format!("{key} is not a listener setting")),
        }
        Ok(None)
    }

    /// Sets the listener's own `max_connections` (-1: none, Mosquitto's default).
    ///
    /// # Errors
    ///
    /// Not an integer from -1.
    pub(crate) fn set_max_connections(&mut self, directive: &Directive) -> Result<(), String> {
        self.keys
            .push((directive.origin.clone(), directive.key.clone()));
        let max = parse_max_connections(&directive.value())?;
        self.table
            .insert("max_connections".to_owned(), Value::Integer(max));
        Ok(())
    }

    /// Sets the listener's own `password_file` or `acl_file` (`key`, from `directive`;
    /// `per_listener_settings true`).
    pub(crate) fn set_auth_file(&mut self, key: &str, directive: &Directive) {
        self.keys
            .push((directive.origin.clone(), directive.key.clone()));
        self.table
            .insert(key.to_owned(), Value::String(directive.value()));
    }

    /// Sets the listener's `allow_anonymous` (`per_listener_settings true`).
    pub(crate) fn set_allow_anonymous(&mut self, allow: bool) {
        self.table
            .insert("allow_anonymous".to_owned(), Value::Boolean(allow));
    }

    /// The `[[listener]]` table, named `name` if given (else after its address).
    pub(crate) fn finish(mut self, name: Option<&str>) -> Table {
        let address = self.address.unwrap_or(if self.ipv6 {
            IpAddr::from([0u16; 8])
        } else {
            IpAddr::from([0u8; 4])
        });
        let bind = match address {
            IpAddr::V4(v4) => format!("{v4}:{}", self.port),
            IpAddr::V6(v6) => format!("[{v6}]:{}", self.port),
        };
        let suites: Vec<Value> = match (self.tls12_suites, self.tls13_suites) {
            (None, None) => Vec::new(),
            (tls12, tls13) => tls13
                .unwrap_or_else(|| tls13_defaults().collect())
                .into_iter()
                .chain(tls12.unwrap_or_else(|| tls12_defaults().collect()))
                .map(Value::String)
                .collect(),
        };
        if !suites.is_empty() {
            self.table
                .insert("cipher_suites".to_owned(), Value::Array(suites));
        }
        let mut table = Table::new();
        if let Some(name) = name {
            table.insert("name".to_owned(), Value::String(name.to_owned()));
        }
        table.insert("bind".to_owned(), Value::String(bind));
        table.extend(self.table);
        table
    }
}

/// `max_connections`: -1 (no limit) becomes 0.
///
/// # Errors
///
/// Not an integer from -1.
pub(crate) fn parse_max_connections(value: &str) -> Result<i64, String> {
    match value.parse::<i64>() {
        Ok(-1) => Ok(0),
        Ok(max) if max >= 0 => Ok(max),
        _ => Err(format!(
            "expected a number of connections, or -1 for no limit, got {value:?}"
        )),
    }
}

/// `true` or `false`, as Mosquitto writes them.
///
/// # Errors
///
/// Anything else.
pub(crate) fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("expected true or false, got {value:?}")),
    }
}

/// An IP address to bind; `localhost` is 127.0.0.1.
fn parse_address(text: &str) -> Result<IpAddr, String> {
    if text == "localhost" {
        return Ok(IpAddr::from([127, 0, 0, 1]));
    }
    text.parse().map_err(|_| {
        format!("{text:?} is not an IP address: Skein binds IP addresses only; write the address the name stands for")
    })
}

/// `ciphers` (OpenSSL's names, `:`-separated) as IANA names.
fn tls12_suites(value: &str) -> Result<Vec<String>, String> {
    value
        .split(':')
        .map(|name| {
            TLS12_SUITES
                .iter()
                .find(|(openssl, _)| *openssl == name)
                .map(|(_, iana)| (*iana).to_owned())
                .ok_or_else(|| {
                    format!(
                        "{name:?} is not a suite Skein offers (TLS 1.2: {}); OpenSSL's cipher strings (HIGH, !aNULL, ...) are not understood",
                        TLS12_SUITES.map(|(openssl, _)| openssl).join(", ")
                    )
                })
        })
        .collect()
}

/// `ciphers_tls1.3` (`:`-separated) as the names rustls spells them.
fn tls13_suites(value: &str) -> Result<Vec<String>, String> {
    value
        .split(':')
        .map(|name| {
            TLS13_SUITES
                .contains(&name)
                .then(|| name.replacen("TLS_", "TLS13_", 1))
                .ok_or_else(|| {
                    format!(
                        "{name:?} is not a suite Skein offers (TLS 1.3: {})",
                        TLS13_SUITES.join(", ")
                    )
                })
        })
        .collect()
}

fn tls12_defaults() -> impl Iterator<Item = String> {
    TLS12_SUITES.iter().map(|(_, iana)| (*iana).to_owned())
}

fn tls13_defaults() -> impl Iterator<Item = String> {
    TLS13_SUITES
        .iter()
        .map(|name| name.replacen("TLS_", "TLS13_", 1))
}
