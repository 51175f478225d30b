//! A plugin written with the SDK (`skein-plugin-sdk`, feature `authz-plugin`): its bindings,
//! its export macro and its panic hook. `authorize-publish` panics for the topic `panic`,
//! allows `sdk/<client id>/...` (with the SDK's `expand` and `matches`) and denies the rest.

use skein_plugin_sdk::authz_plugin::exports::skein::plugin::authz::Guest as Authz;
use skein_plugin_sdk::authz_plugin::exports::skein::plugin::plugin::{Guest as Plugin, PluginInfo};
use skein_plugin_sdk::authz_plugin::skein::plugin::session::Client;
use skein_plugin_sdk::authz_plugin::skein::plugin::types::{Decision, Qos, ReasonCode, Refusal};
use skein_plugin_sdk::{expand, matches};

struct SdkGuest;

impl Plugin for SdkGuest {
    fn init(_config: Vec<(String, String)>) -> Result<PluginInfo, String> {
        skein_plugin_sdk::authz_plugin::install_panic_hook();
        Ok(PluginInfo {
            name: "sdk-guest".to_owned(),
            version: "0.1.0".to_owned(),
            publish_filters: Vec::new(),
            subscribe_filters: Vec::new(),
            events: Vec::new(),
        })
    }
}

impl Authz for SdkGuest {
    fn authorize_publish(client: &Client, topic: String, _qos: Qos, _retain: bool) -> Decision {
        if topic == "panic" {
            panic!("told to panic");
        }
        let own = expand("sdk/%c/#", &client.client_id(), None).unwrap_or_default();
        if matches(&own, &topic) {
            Decision::Allow(0)
        } else {
            Decision::Deny(Refusal {
                code: ReasonCode::NotAuthorized,
                reason: None,
                cache: 0,
            })
        }
    }

    fn authorize_subscribe(_client: &Client, _filter: String, _qos: Qos) -> Decision {
        Decision::Next
    }
}

skein_plugin_sdk::authz_plugin::export!(SdkGuest);
