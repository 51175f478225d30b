//! An example Skein plugin: a CONNECT's credentials checked by an HTTP backend, with the
//! semantics of EMQX's HTTP authentication.
//!
//! For each plain CONNECT (no MQTT 5 enhanced authentication, which is left to the next hook)
//! the plugin POSTs to `url` the JSON object
//! `{"clientid": ..., "username": ..., "password": ..., "peerhost": ...}` (an absent user name
//! or password is sent as "", `peerhost` is the client's IP address) and reads the answer:
//!
//! - `200` with `{"result": "allow"}`: the client is accepted; string values of an optional
//!   `"client_attrs"` object are attached to the connection (`client.attribute(name)` for the
//!   hooks that decide its requests later);
//! - `200` with `{"result": "deny"}`: refused, "bad user name or password";
//! - `200` with `{"result": "ignore"}`: no opinion, the next hook decides;
//! - any other status, a body that is not such an object, a transport error or a timeout:
//!   `on-error` decides: `deny` (the default: refused, "server unavailable") or `next`.
//!
//! Answers of the backend are kept in the plugin's `kv` (local scope) for `cache-ms`, keyed
//! by a SHA-256 of the client identifier, user name and password (the password is never
//! stored): the same credentials again within that time are answered without a request.
//!
//! ```toml
//! [[plugins]]
//! name = "http-auth"
//! path = "http_auth.wasm"
//! grants = ["log", "kv", "http"]
//! http_allow = ["https://auth.example.com"]
//! http_timeout_ms = 1000
//! auth_deadline_ms = 1500                 # covers the request: the deadline counts the wait
//! [plugins.config]
//! url = "https://auth.example.com/mqtt/auth"
//! timeout-ms = "1000"                     # per request (default 1000), capped by the host
//! cache-ms = "60000"                      # how long an answer is reused (default 60000; 0: never)
//! on-error = "deny"                       # or "next"
//! "header.authorization" = "Bearer ${env:AUTH_TOKEN}"   # extra request headers
//! ```

use std::cell::RefCell;

use sha2::{Digest, Sha256};

use skein_plugin_sdk::http_auth_plugin::{exports, skein};

use exports::skein::plugin::authn::{Accepted, AuthRequest, AuthResult, Guest as Authn, Purpose};
use exports::skein::plugin::plugin::{Guest as Plugin, PluginInfo};
use skein::plugin::http::{self, Error as HttpError, Request};
use skein::plugin::kv::{self, Scope};
use skein::plugin::log::{log, Level};
use skein::plugin::session::Client;
use skein::plugin::types::{ReasonCode, Refusal};

struct HttpAuth;

/// What a failed exchange with the backend means.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnError {
    /// The client is refused.
    Deny,
    /// The next hook decides.
    Next,
}

struct Settings {
    url: String,
    timeout_ms: u32,
    cache_ms: u32,
    on_error: OnError,
    headers: Vec<(String, String)>,
}

thread_local! {
    static SETTINGS: RefCell<Option<Settings>> = const { RefCell::new(None) };
}

/// The prefix of the cache's keys in `kv`.
const CACHE_PREFIX: &str = "answer/";

impl Plugin for HttpAuth {
    fn init(config: Vec<(String, String)>) -> Result<PluginInfo, String> {
        skein_plugin_sdk::http_auth_plugin::install_panic_hook();
        let mut settings = Settings {
            url: String::new(),
            timeout_ms: 1000,
            cache_ms: 60_000,
            on_error: OnError::Deny,
            headers: Vec::new(),
        };
        let number = |key: &str, value: &str| {
            value
                .parse::<u32>()
                .map_err(|_| format!("{key}: {value:?} is not a number of milliseconds"))
        };
        for (key, value) in config {
            match key.as_str() {
                "url" => settings.url = value,
                "timeout-ms" => settings.timeout_ms = number(&key, &value)?,
                "cache-ms" => settings.cache_ms = number(&key, &value)?,
                "on-error" => {
                    settings.on_error = match value.as_str() {
                        "deny" => OnError::Deny,
                        "next" => OnError::Next,
                        _ => return Err(format!("on-error: {value:?} is neither deny nor next")),
                    }
                }
                other => match other.strip_prefix("header.") {
                    Some(name) if !name.is_empty() => {
                        settings.headers.push((name.to_owned(), value))
                    }
                    _ => return Err(format!("unknown configuration key {other:?}")),
                },
            }
        }
        if !(settings.url.starts_with("http://") || settings.url.starts_with("https://")) {
            return Err(format!(
                "url: {:?} is not an http:// or https:// URL (it is required)",
                settings.url
            ));
        }
        SETTINGS.with(|s| *s.borrow_mut() = Some(settings));
        Ok(PluginInfo {
            name: "http-auth".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            publish_filters: Vec::new(),
            subscribe_filters: Vec::new(),
            events: Vec::new(),
        })
    }
}

/// What the backend said.
enum Verdict {
    /// Accept, with these attributes.
    Allow(Vec<(String, String)>),
    Deny,
    Ignore,
}

impl Verdict {
    /// The verdict in a backend's answer body (or a cached one).
    fn parse(body: &[u8]) -> Result<Verdict, String> {
        let answer: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_owned())?;
        match answer.get("result").and_then(serde_json::Value::as_str) {
            Some("allow") => {
                let attributes = answer
                    .get("client_attrs")
                    .and_then(serde_json::Value::as_object)
                    .map(|attrs| {
                        attrs
                            .iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Verdict::Allow(attributes))
            }
            Some("deny") => Ok(Verdict::Deny),
            Some("ignore") => Ok(Verdict::Ignore),
            _ => Err("the answer has no result allow, deny or ignore".to_owned()),
        }
    }

    /// The verdict as the cache keeps it: what [`Verdict::parse`] reads.
    fn to_json(&self) -> Vec<u8> {
        let value = match self {
            Verdict::Allow(attributes) => {
                let attrs: serde_json::Map<String, serde_json::Value> = attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect();
                serde_json::json!({ "result": "allow", "client_attrs": attrs })
            }
            Verdict::Deny => serde_json::json!({ "result": "deny" }),
            Verdict::Ignore => serde_json::json!({ "result": "ignore" }),
        };
        value.to_string().into_bytes()
    }

    fn answer(self) -> AuthResult {
        match self {
            Verdict::Allow(attributes) => AuthResult::Accept(Accepted {
                data: None,
                reason: None,
                attributes,
            }),
            Verdict::Deny => AuthResult::Deny(Refusal {
                code: ReasonCode::BadUserNameOrPassword,
                reason: None,
                cache: 0,
            }),
            Verdict::Ignore => AuthResult::Next,
        }
    }
}

/// The cache key of these credentials: each part length-prefixed (the user name's presence
/// marked), hashed, so neither the password nor a way to tell parts apart is stored.
fn cache_key(client_id: &str, username: Option<&str>, password: Option<&[u8]>) -> String {
    let mut hash = Sha256::new();
    let mut part = |tag: u8, bytes: &[u8]| {
        hash.update([tag]);
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    part(b'c', client_id.as_bytes());
    match username {
        Some(user) => part(b'u', user.as_bytes()),
        None => part(b'U', b""),
    }
    match password {
        Some(password) => part(b'p', password),
        None => part(b'P', b""),
    }
    let digest = hash.finalize();
    let mut key = String::with_capacity(CACHE_PREFIX.len() + 64);
    key.push_str(CACHE_PREFIX);
    for byte in digest {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

/// The IP address of "ip:port" ("[v6]:port" too); empty when unknown.
fn peer_host(peer: &str) -> &str {
    if let Some(v6) = peer.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    peer.rsplit_once(':').map_or(peer, |(host, _)| host)
}

/// Asks the backend about the client.
fn ask(settings: &Settings, client: &Client, password: Option<&[u8]>) -> Result<Verdict, String> {
    let peer = client.peer_addr();
    let body = serde_json::json!({
        "clientid": client.client_id(),
        "username": client.username().unwrap_or_default(),
        "password": String::from_utf8_lossy(password.unwrap_or_default()),
        "peerhost": peer_host(&peer),
    });
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    headers.extend(settings.headers.iter().cloned());
    let response = http::send(&Request {
        method: "POST".to_owned(),
        url: settings.url.clone(),
        headers,
        body: Some(body.to_string().into_bytes()),
        timeout_ms: settings.timeout_ms,
    })
    .map_err(|e| match e {
        HttpError::NotAllowed => "the url's origin is not on the plugin's allow-list".to_owned(),
        HttpError::Timeout => "the backend did not answer in time".to_owned(),
        HttpError::Transport(why) => why,
    })?;
    if response.status != 200 {
        return Err(format!("the backend answered {}", response.status));
    }
    Verdict::parse(&response.body)
}

impl Authn for HttpAuth {
    fn authenticate(client: &Client, request: AuthRequest) -> AuthResult {
        // Plain CONNECTs only: enhanced authentication and re-authentication are another
        // hook's.
        if request.purpose != Purpose::Connect || request.enhanced.is_some() {
            return AuthResult::Next;
        }
        SETTINGS.with(|settings| {
            let settings = settings.borrow();
            let Some(settings) = settings.as_ref() else {
                return AuthResult::Next;
            };
            let client_id = client.client_id();
            let username = client.username();
            let password = request.password.as_deref();
            let key = cache_key(&client_id, username.as_deref(), password);
            if settings.cache_ms > 0 {
                if let Ok(Some(cached)) = kv::get(Scope::Local, &key) {
                    if let Ok(verdict) = Verdict::parse(&cached) {
                        return verdict.answer();
                    }
                }
            }
            match ask(settings, client, password) {
                Ok(verdict) => {
                    if settings.cache_ms > 0 {
                        // A full cache only means the next CONNECT asks again.
                        let _ = kv::set(
                            Scope::Local,
                            &key,
                            &verdict.to_json(),
                            Some(settings.cache_ms),
                        );
                    }
                    verdict.answer()
                }
                Err(why) => {
                    log(
                        Level::Warn,
                        &format!("authenticating {client_id} over HTTP failed: {why}"),
                    );
                    match settings.on_error {
                        OnError::Deny => AuthResult::Deny(Refusal {
                            code: ReasonCode::ServerUnavailable,
                            reason: Some("the authentication service did not answer".to_owned()),
                            cache: 0,
                        }),
                        OnError::Next => AuthResult::Next,
                    }
                }
            }
        })
    }
}

skein_plugin_sdk::http_auth_plugin::export!(HttpAuth);
