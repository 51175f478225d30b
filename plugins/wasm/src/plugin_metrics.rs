//! The `metrics` capability: a plugin's own counters and histograms, exported with the
//! broker's, named `skein_plugin_<name>` and labelled with the plugin.

use ::metrics::{counter, histogram};

use crate::bindings::skein::plugin::metrics as wit;
use crate::state::InstanceState;

/// The longest name a plugin may give.
const MAX_NAME: usize = 64;

/// `skein_plugin_<name>`, when `name` is lower-case letters, digits and `_`; else `None`.
fn metric_name(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    valid.then(|| format!("skein_plugin_{name}"))
}

impl wit::Host for InstanceState {
    fn counter_add(&mut self, name: String, value: u64) -> wasmtime::Result<()> {
        match metric_name(&name) {
            Some(name) => counter!(name, "plugin" => self.plugin.to_string()).increment(value),
            None => {
                tracing::debug!(plugin = %self.plugin, "A plugin metric with an invalid name ({name:?}) was ignored.")
            }
        }
        Ok(())
    }

    fn histogram_record(&mut self, name: String, value: f64) -> wasmtime::Result<()> {
        match metric_name(&name) {
            Some(name) => histogram!(name, "plugin" => self.plugin.to_string()).record(value),
            None => {
                tracing::debug!(plugin = %self.plugin, "A plugin metric with an invalid name ({name:?}) was ignored.")
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::metric_name;

    #[test]
    fn plugin_metric_names_are_prefixed_and_checked() {
        assert_eq!(
            metric_name("tokens_checked").as_deref(),
            Some("skein_plugin_tokens_checked")
        );
        assert_eq!(metric_name("Bad-Name"), None);
        assert_eq!(metric_name(""), None);
        assert_eq!(metric_name(&"a".repeat(65)), None);
    }
}
