//! An example Skein plugin: rewrites the topics of publishes and the filters of
//! subscriptions, as EMQX's topic rewrite does.
//!
//! Each `[plugins.config]` key that starts with `publish` or `subscribe` holds one rule,
//! `source | regex | destination`: a topic (or filter) that the filter `source` matches and
//! the regular expression `regex` matches becomes `destination`, with `$1`, `$2`, ... the
//! expression's groups. Rules apply in the order of their keys, the first that matches wins;
//! nothing matches, nothing changes.
//!
//! ```toml
//! [plugins.config]
//! "publish.1" = "x/y/+ | ^x/y/(.+)$ | z/y/$1"
//! "subscribe.1" = "old/# | ^old/(.*)$ | new/$1"
//! ```

use std::cell::RefCell;

use regex::Regex;
use skein_plugin_sdk::matches;

use skein_plugin_sdk::rewrite_plugin::{exports, skein};

use exports::skein::plugin::plugin::{Guest as Plugin, PluginInfo};
use exports::skein::plugin::rewrite::Guest as Rewrite;
use skein::plugin::log::{log, Level};
use skein::plugin::session::Client;

struct TopicRewrite;

/// One rule.
struct Rule {
    source: String,
    regex: Regex,
    destination: String,
}

#[derive(Default)]
struct Rules {
    publish: Vec<Rule>,
    subscribe: Vec<Rule>,
}

thread_local! {
    static RULES: RefCell<Rules> = RefCell::new(Rules::default());
}

fn rule(key: &str, value: &str) -> Result<Rule, String> {
    let parts: Vec<&str> = value.split('|').map(str::trim).collect();
    let [source, regex, destination] = parts[..] else {
        return Err(format!(
            "{key}: expected \"source | regex | destination\", got {value:?}"
        ));
    };
    let regex = Regex::new(regex).map_err(|e| format!("{key}: {e}"))?;
    Ok(Rule {
        source: source.to_owned(),
        regex,
        destination: destination.to_owned(),
    })
}

impl Plugin for TopicRewrite {
    fn init(config: Vec<(String, String)>) -> Result<PluginInfo, String> {
        skein_plugin_sdk::rewrite_plugin::install_panic_hook();
        let mut rules = Rules::default();
        for (key, value) in &config {
            if key.starts_with("publish") {
                rules.publish.push(rule(key, value)?);
            } else if key.starts_with("subscribe") {
                rules.subscribe.push(rule(key, value)?);
            } else {
                return Err(format!("unknown configuration key {key:?}"));
            }
        }
        log(
            Level::Info,
            &format!(
                "{} publish rule(s), {} subscribe rule(s)",
                rules.publish.len(),
                rules.subscribe.len()
            ),
        );
        RULES.with(|r| *r.borrow_mut() = rules);
        Ok(PluginInfo {
            name: "topic-rewrite".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            publish_filters: Vec::new(),
            subscribe_filters: Vec::new(),
            events: Vec::new(),
        })
    }
}

fn rewrite(rules: &[Rule], name: &str) -> Option<String> {
    let rule = rules
        .iter()
        .find(|r| matches(&r.source, name) && r.regex.is_match(name))?;
    let captures = rule.regex.captures(name)?;
    let mut out = String::new();
    captures.expand(&rule.destination, &mut out);
    Some(out)
}

impl Rewrite for TopicRewrite {
    fn rewrite_publish_topic(_client: &Client, topic: String) -> Option<String> {
        RULES.with(|r| rewrite(&r.borrow().publish, &topic))
    }

    fn rewrite_subscribe_filter(_client: &Client, filter: String) -> Option<String> {
        RULES.with(|r| rewrite(&r.borrow().subscribe, &filter))
    }
}

skein_plugin_sdk::rewrite_plugin::export!(TopicRewrite);
