//! One `[[listener]]`'s protocol and TLS keys, checked and turned into the engine's
//! [`ListenerConfig`]; and the check of the TLS files themselves (read at start and by
//! `--check-config`).
//!
//! The keys are Mosquitto's: `protocol = "mqtt" | "websockets"`, `certfile`, `keyfile`,
//! `cafile`, `require_certificate`, `use_identity_as_username`, plus `websocket_path`; and
//! `allow_anonymous`, which overrides `[auth]`'s for the listener, `proxy_protocol`, and the
//! limits `max_connections` (Mosquitto's) and `max_connection_rate`, and the client rates
//! `client_message_rate` and `client_byte_rate` (overriding `[limits]`'s).
//! Relative paths are relative to the working directory, as in Mosquitto.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;

use broker_core::config::{
    ClientRate, KeyPassword, ListenerConfig, TlsConfig, TlsVersion, Transport,
};
use broker_core::TlsError;

use crate::config_file::{LimitsSection, ListenerSection, ProtocolSetting, TlsVersionSetting};
use crate::config_resolve::{Checker, Problem};

/// The listener `section` (the `index`-th) describes, named `name` and bound to `bind`;
/// every inconsistency among its keys is a problem. `limits` gives the client rate its
/// section does not set (checked with `[limits]`).
pub(crate) fn resolve(
    check: &mut Checker,
    index: usize,
    section: &ListenerSection,
    limits: &LimitsSection,
    name: String,
    bind: SocketAddr,
) -> ListenerConfig {
    let key = |name: &str| format!("listener[{index}].{name}");
    let transport = match section.protocol {
        ProtocolSetting::Mqtt => {
            if section.websocket_path.is_some() {
                check.problem(
                    &key("websocket_path"),
                    "only for protocol = \"websockets\"".to_owned(),
                );
            }
            Transport::Mqtt
        }
        ProtocolSetting::Websockets => match &section.websocket_path {
            None => Transport::websocket(),
            Some(path) => {
                if !path.starts_with('/') || path.contains(char::is_whitespace) {
                    check.problem(
                        &key("websocket_path"),
                        format!("{path:?} is not an HTTP path (it starts with /, e.g. \"/mqtt\")"),
                    );
                }
                Transport::WebSocket { path: path.clone() }
            }
        },
    };
    let key_password = key_password(
        check,
        &key(""),
        section.keyfile.is_some(),
        section.keyfile_password_file.as_ref(),
        section.keyfile_password_env.as_ref(),
    );
    let tls = match (&section.certfile, &section.keyfile) {
        (Some(cert), Some(key_file)) => {
            let mut tls = TlsConfig::new(cert, key_file)
                .use_identity_as_username(section.use_identity_as_username);
            tls.key_password = key_password;
            tls.client_ca.clone_from(&section.cafile);
            tls.require_certificate = section.require_certificate;
            tls.crl.clone_from(&section.crlfile);
            tls.min_version = match section.tls_version {
                TlsVersionSetting::Tls12 => TlsVersion::Tls12,
                TlsVersionSetting::Tls13 => TlsVersion::Tls13,
            };
            tls.cipher_suites.clone_from(&section.cipher_suites);
            Some(tls)
        }
        (Some(_), None) => {
            check.problem(&key("keyfile"), "is required with certfile".to_owned());
            None
        }
        (None, Some(_)) => {
            check.problem(&key("certfile"), "is required with keyfile".to_owned());
            None
        }
        (None, None) => {
            for (set, name) in [
                (section.cafile.is_some(), "cafile"),
                (section.require_certificate, "require_certificate"),
                (section.use_identity_as_username, "use_identity_as_username"),
                (section.crlfile.is_some(), "crlfile"),
                (
                    section.tls_version != TlsVersionSetting::default(),
                    "tls_version",
                ),
                (!section.cipher_suites.is_empty(), "cipher_suites"),
            ] {
                if set {
                    check.problem(
                        &key(name),
                        "needs TLS on the listener: set certfile and keyfile".to_owned(),
                    );
                }
            }
            None
        }
    };
    if let Some(tls) = &tls {
        if tls.client_ca.is_none() {
            for (set, name) in [
                (tls.require_certificate, "require_certificate"),
                (tls.use_identity_as_username, "use_identity_as_username"),
                (tls.crl.is_some(), "crlfile"),
            ] {
                if set {
                    check.problem(
                        &key(name),
                        "needs cafile: the CA certificates client certificates are verified \
                         against"
                            .to_owned(),
                    );
                }
            }
        }
    }
    let mut listener = ListenerConfig::tcp(name, bind).with_transport(transport);
    // A password file of its own refuses anonymous clients unless the listener lets them
    // in, as `[auth]`'s does.
    listener.allow_anonymous = section
        .allow_anonymous
        .or(section.password_file.is_some().then_some(false));
    listener.proxy_protocol = section.proxy_protocol;
    let max = check.range(
        &key("max_connections"),
        section.max_connections,
        0,
        10_000_000u64,
        0u64,
    );
    listener.max_connections = usize::try_from(max).ok().filter(|max| *max > 0);
    let rate = check.range(
        &key("max_connection_rate"),
        section.max_connection_rate,
        0,
        1_000_000u64,
        0u64,
    );
    listener.max_connection_rate = u32::try_from(rate).ok().filter(|rate| *rate > 0);
    let messages = match section.client_message_rate {
        Some(rate) => per_second(check, &key("client_message_rate"), rate),
        None => unchecked(limits.client_message_rate),
    };
    let bytes = match section.client_byte_rate {
        Some(rate) => per_second(check, &key("client_byte_rate"), rate.0),
        None => unchecked(limits.client_byte_rate.0),
    };
    listener.client_rate = ClientRate::new(messages, bytes);
    match tls {
        Some(tls) => listener.with_tls(tls),
        None => listener,
    }
}

/// A client rate (`client_message_rate`, `client_byte_rate`) of `key`: 0 is no limit, the
/// most is 4294967295 a second.
pub(crate) fn per_second(check: &mut Checker, key: &str, rate: u64) -> Option<NonZeroU32> {
    NonZeroU32::new(check.range(key, rate, 0, u32::MAX, 0))
}

/// The `[limits]` default of a listener's client rate, as it is: its range is checked with
/// `[limits]` ([`per_second`]), and out of it the configuration is refused anyway.
fn unchecked(rate: u64) -> Option<NonZeroU32> {
    u32::try_from(rate).ok().and_then(NonZeroU32::new)
}

/// The password source of an encrypted `keyfile` (`keyfile_password_file` or
/// `keyfile_password_env`, at most one, and only with a `keyfile`); `prefix` starts the
/// keys' names in problems (`listener[0].`, `admin.`).
pub(crate) fn key_password(
    check: &mut Checker,
    prefix: &str,
    has_keyfile: bool,
    file: Option<&PathBuf>,
    env: Option<&String>,
) -> Option<KeyPassword> {
    let password = match (file, env) {
        (Some(_), Some(_)) => {
            check.problem(
                &format!("{prefix}keyfile_password_env"),
                "set keyfile_password_file or keyfile_password_env, not both".to_owned(),
            );
            return None;
        }
        (Some(path), None) => KeyPassword::File(path.clone()),
        (None, Some(name)) => {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                check.problem(
                    &format!("{prefix}keyfile_password_env"),
                    format!("{name:?} is not the name of an environment variable"),
                );
            }
            KeyPassword::Env(name.clone())
        }
        (None, None) => return None,
    };
    if !has_keyfile {
        check.problem(
            &format!("{prefix}{}", password.setting()),
            "needs keyfile: it is the password of the private key".to_owned(),
        );
    }
    Some(password)
}

/// Reads every listener's TLS files as the broker will at start: each problem names the
/// listener's key and the file (`listener[1].certfile: cannot read /x: No such file ...`).
pub(crate) fn check_files(listeners: &[ListenerConfig]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (index, listener) in listeners.iter().enumerate() {
        let Some(tls) = &listener.tls else { continue };
        if let Err(error) = tls.check() {
            let key = match &error {
                TlsError::Setting { setting, .. } => setting,
                TlsError::KeyPassword { password, .. } => password.setting(),
                _ => error.file().map_or("cafile", |file| file.mosquitto_key()),
            };
            problems.push(Problem {
                key: format!("listener[{index}].{key}"),
                message: error.to_string(),
            });
        }
    }
    problems
}

#[cfg(test)]
#[path = "config_listener_test.rs"]
mod tests;
