//! An example Skein plugin: topic rules in the manner of a Mosquitto ACL file, deny by default.
//!
//! Configuration (`[plugins.config]` in the broker's configuration, handed to `init`):
//!
//! ```toml
//! publish = "sensors/%c/#, public/#"   # filters a client may publish to
//! subscribe = "public/#, alerts/%u"    # filters a client may subscribe with
//! cache-ms = "60000"                   # how long the broker may reuse a decision
//! ```
//!
//! `%c` stands for the client identifier and `%u` for the user name (a client without one
//! matches no rule that names `%u`; one whose identifier or user name holds `+` or `#`
//! matches no rule that names it, as in Mosquitto). A publish is allowed when its topic
//! matches one of the `publish` filters; a subscription when its filter is covered by one of
//! the `subscribe` filters (a subscription to `public/+/x` under a rule `public/#`).
//! Everything else is denied with "not authorized".

use std::cell::RefCell;

use skein_plugin_sdk::matches_pattern;

use skein_plugin_sdk::authz_plugin::{exports, skein};

use exports::skein::plugin::authz::Guest as Authz;
use exports::skein::plugin::plugin::{Guest as Plugin, PluginInfo};
use skein::plugin::log::{log, Level};
use skein::plugin::session::Client;
use skein::plugin::types::{Decision, Qos, ReasonCode, Refusal};

struct Acl;

/// The rules `init` read. Each instance of the plugin has its own copy.
#[derive(Default)]
struct Rules {
    publish: RuleSet,
    subscribe: RuleSet,
    cache_ms: u32,
}

/// The filters of one action, and whether any names the user name.
#[derive(Default)]
struct RuleSet {
    filters: Vec<String>,
    needs_username: bool,
}

thread_local! {
    static RULES: RefCell<Rules> = RefCell::new(Rules::default());
}

fn rule_set(value: &str) -> RuleSet {
    let filters: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    RuleSet {
        needs_username: filters.iter().any(|f| f.contains("%u")),
        filters,
    }
}

impl Plugin for Acl {
    fn init(config: Vec<(String, String)>) -> Result<PluginInfo, String> {
        skein_plugin_sdk::authz_plugin::install_panic_hook();
        let mut rules = Rules {
            cache_ms: 60_000,
            ..Rules::default()
        };
        for (key, value) in config {
            match key.as_str() {
                "publish" => rules.publish = rule_set(&value),
                "subscribe" => rules.subscribe = rule_set(&value),
                "cache-ms" => {
                    rules.cache_ms = value.parse().map_err(|_| {
                        format!("cache-ms: {value:?} is not a number of milliseconds")
                    })?;
                }
                other => return Err(format!("unknown configuration key {other:?}")),
            }
        }
        log(
            Level::Info,
            &format!(
                "{} publish rule(s), {} subscribe rule(s)",
                rules.publish.filters.len(),
                rules.subscribe.filters.len()
            ),
        );
        RULES.with(|r| *r.borrow_mut() = rules);
        Ok(PluginInfo {
            name: "acl".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            publish_filters: Vec::new(),
            subscribe_filters: Vec::new(),
            events: Vec::new(),
        })
    }
}

fn decide(rules: &RuleSet, client: &Client, name: &str, cache_ms: u32) -> Decision {
    // Pulled from the host once per call, and the user name only when a rule needs it.
    let client_id = client.client_id();
    let username = rules.needs_username.then(|| client.username()).flatten();
    if rules
        .filters
        .iter()
        .any(|rule| matches_pattern(rule, name, &client_id, username.as_deref()))
    {
        Decision::Allow(cache_ms)
    } else {
        Decision::Deny(Refusal {
            code: ReasonCode::NotAuthorized,
            reason: None,
            cache: cache_ms,
        })
    }
}

impl Authz for Acl {
    fn authorize_publish(client: &Client, topic: String, _qos: Qos, _retain: bool) -> Decision {
        RULES.with(|r| {
            let r = r.borrow();
            decide(&r.publish, client, &topic, r.cache_ms)
        })
    }

    fn authorize_subscribe(client: &Client, filter: String, _qos: Qos) -> Decision {
        RULES.with(|r| {
            let r = r.borrow();
            decide(&r.subscribe, client, &filter, r.cache_ms)
        })
    }
}

skein_plugin_sdk::authz_plugin::export!(Acl);
