//! A plugin that misbehaves on request, for the host's sandbox tests. `authorize-publish`
//! looks at the topic: `loop` spins forever, `panic` panics, `bomb` allocates until the
//! memory cap stops it, `deny` denies, `count` counts its calls in `kv` (and in its
//! `counted` metric) and denies with the count as the reason, anything else is allowed. `init` fails when its configuration holds
//! `fail`.
//!
//! It also takes part in everything else the host calls, for the host's tests:
//! - `authenticate`: an MQTT 5 exchange with method `echo`: round 0 challenges with the data
//!   `nonce` (kept as the state), round 1 accepts when the client answers with the state
//!   reversed, and attaches `prefix = <client id>/`; a plain CONNECT with the password `deny`
//!   is refused, any other is left to the next hook.
//! - `authorize-subscribe`: allows a filter under the client's `prefix` attribute, denies
//!   the rest when there is one, no opinion otherwise.
//! - `on-event`: counts `connected` and `disconnected` events in `kv`; `authorize-publish`
//!   of the topic `events` denies with the counts as the reason
//!   (`connected=1 disconnected=0`).

wit_bindgen::generate!({
    path: "../../../wit",
    world: "plugin-host",
});

use exports::skein::plugin::authn::{Accepted, AuthRequest, AuthResult, Challenge, Guest as Authn};
use exports::skein::plugin::events::{Event, Guest as Events};
use exports::skein::plugin::rewrite::Guest as Rewrite;
use exports::skein::plugin::authz::Guest as Authz;
use skein::plugin::kv::{self, Scope};
use skein::plugin::metrics;
use exports::skein::plugin::plugin::{Guest as Plugin, PluginInfo};
use skein::plugin::session::Client;
use skein::plugin::types::{Decision, EventKind, Qos, ReasonCode, Refusal};

struct Rogue;

impl Plugin for Rogue {
    fn init(config: Vec<(String, String)>) -> Result<PluginInfo, String> {
        if config.iter().any(|(key, _)| key == "fail") {
            return Err("told to fail".to_owned());
        }
        Ok(PluginInfo {
            name: "rogue".to_owned(),
            version: "0.1.0".to_owned(),
            publish_filters: Vec::new(),
            subscribe_filters: Vec::new(),
            events: vec![EventKind::Connected, EventKind::Disconnected],
        })
    }
}

impl Authz for Rogue {
    fn authorize_publish(_client: &Client, topic: String, _qos: Qos, _retain: bool) -> Decision {
        match topic.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "panic" => panic!("told to panic"),
            "bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "events" => Decision::Deny(Refusal {
                code: ReasonCode::NotAuthorized,
                reason: Some(format!(
                    "connected={} disconnected={}",
                    stored_count("connected"),
                    stored_count("disconnected")
                )),
                cache: 0,
            }),
            "count" => {
                let n = stored_count("n") + 1;
                let stored = kv::set(Scope::Local, "n", n.to_string().as_bytes(), None);
                metrics::counter_add("counted", 1);
                let cluster = kv::get(Scope::Cluster, "n").is_err();
                Decision::Deny(Refusal {
                    code: ReasonCode::NotAuthorized,
                    reason: Some(format!("{n} stored={} cluster-refused={cluster}", stored.is_ok())),
                    cache: 0,
                })
            }
            "deny" => Decision::Deny(Refusal {
                code: ReasonCode::NotAuthorized,
                reason: Some("told to deny".to_owned()),
                cache: 0,
            }),
            _ => Decision::Allow(0),
        }
    }

    fn authorize_subscribe(client: &Client, filter: String, _qos: Qos) -> Decision {
        match client.attribute("prefix") {
            Some(prefix) if filter.starts_with(&prefix) => Decision::Allow(0),
            Some(_) => Decision::Deny(Refusal {
                code: ReasonCode::NotAuthorized,
                reason: None,
                cache: 0,
            }),
            None => Decision::Next,
        }
    }
}

fn refused() -> AuthResult {
    AuthResult::Deny(Refusal {
        code: ReasonCode::NotAuthorized,
        reason: None,
        cache: 0,
    })
}

impl Authn for Rogue {
    fn authenticate(client: &Client, request: AuthRequest) -> AuthResult {
        let Some(step) = request.enhanced else {
            return match request.password.as_deref() {
                Some(b"deny") => refused(),
                _ => AuthResult::Next,
            };
        };
        if step.method != "echo" {
            return AuthResult::Next;
        }
        match (step.round, step.state) {
            (0, _) => AuthResult::Challenge(Challenge {
                data: b"nonce".to_vec(),
                state: Some(b"nonce".to_vec()),
                reason: None,
            }),
            (_, Some(state)) => {
                let expected: Vec<u8> = state.iter().rev().copied().collect();
                if step.data.as_deref() == Some(expected.as_slice()) {
                    AuthResult::Accept(Accepted {
                        data: Some(b"welcome".to_vec()),
                        reason: None,
                        attributes: vec![("prefix".to_owned(), format!("{}/", client.client_id()))],
                    })
                } else {
                    refused()
                }
            }
            (_, None) => refused(),
        }
    }
}

impl Rewrite for Rogue {
    fn rewrite_publish_topic(_client: &Client, _topic: String) -> Option<String> {
        None
    }

    fn rewrite_subscribe_filter(_client: &Client, _filter: String) -> Option<String> {
        None
    }
}

fn stored_count(key: &str) -> u64 {
    match kv::get(Scope::Local, key) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).parse::<u64>().unwrap_or(0),
        _ => 0,
    }
}

impl Events for Rogue {
    fn on_event(event: Event) {
        let key = match event {
            Event::Connected(_) => "connected",
            Event::Disconnected(_) => "disconnected",
            _ => return,
        };
        let n = stored_count(key) + 1;
        let _ = kv::set(Scope::Local, key, n.to_string().as_bytes(), None);
    }
}

export!(Rogue);
