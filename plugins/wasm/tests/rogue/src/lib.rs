//! A plugin that misbehaves on request, for the host's sandbox tests. `authorize-publish`
//! looks at the topic: `loop` spins forever, `panic` panics, `bomb` allocates until the
//! memory cap stops it, `deny` denies, `count` counts its calls in `kv` (and in its
//! `counted` metric) and denies with the count as the reason, anything else is allowed. `init` fails when its configuration holds
//! `fail`.

wit_bindgen::generate!({
    path: "../../../wit",
    world: "auth-plugin",
});

use exports::skein::plugin::authn::{AuthResult, Guest as Authn};
use exports::skein::plugin::authz::Guest as Authz;
use skein::plugin::kv::{self, Scope};
use skein::plugin::metrics;
use exports::skein::plugin::plugin::{Guest as Plugin, PluginInfo};
use skein::plugin::session::Client;
use skein::plugin::types::{Decision, Qos, ReasonCode, Refusal};

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
            "count" => {
                let n = match kv::get(Scope::Local, "n") {
                    Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).parse::<u64>().unwrap_or(0),
                    _ => 0,
                } + 1;
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

    fn authorize_subscribe(_client: &Client, _filter: String, _qos: Qos) -> Decision {
        Decision::Next
    }
}

impl Authn for Rogue {
    fn authenticate(_client: &Client, _password: Option<Vec<u8>>, _now_ms: u64) -> AuthResult {
        AuthResult::Next
    }
}

export!(Rogue);
