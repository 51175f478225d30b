//! The `[[plugins]]` tables: WASM plugins for the hook chain (docs/plugins.md).
//!
//! ```toml
//! [[plugins]]
//! name = "acl"                      # in logs and errors
//! path = "plugins/acl.wasm"         # a component, or a module built for wasm32-unknown-unknown
//! grants = ["log"]                  # capabilities linked for it (log, kv, metrics, http)
//! http_allow = []                   # with "http": the origins it may reach
//! http_timeout_ms = 2000            # with "http": the longest request (< auth_deadline_ms)
//! memory_mb = 16                    # the most memory one instance may grow to
//! deadline_ms = 5                   # the longest one authorization or rewrite call may run
//! auth_deadline_ms = 100            # the same for authentication, and for init
//! pool = 16                         # warm instances kept at most
//! required = true                   # false: the broker starts without it if it fails to load
//! on_failure = "deny"               # a failed authentication or authorization call: deny, or next
//! [plugins.config]                  # handed to the plugin's init, as text
//! publish = "sensors/%c/#"
//! secret = "${env:ACL_SECRET}"      # ${env:NAME} and ${file:PATH} are resolved by the broker
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use skein_plugin_wasm::{HttpOrigin, PluginSpec};

use crate::config_duration::Millis;
use crate::config_resolve::Checker;

/// A `[plugins.config]` value: text, or a number or boolean (handed over as text).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum ConfigValue {
    Text(String),
    Integer(i64),
    Flag(bool),
}

impl ConfigValue {
    fn to_text(&self) -> String {
        match self {
            ConfigValue::Text(text) => text.clone(),
            ConfigValue::Integer(n) => n.to_string(),
            ConfigValue::Flag(b) => b.to_string(),
        }
    }
}

fn default_grants() -> Vec<String> {
    vec!["log".to_owned()]
}

fn default_true() -> bool {
    true
}

/// One `[[plugins]]` table, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PluginSection {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    #[serde(default = "default_grants")]
    pub(crate) grants: Vec<String>,
    #[serde(default)]
    pub(crate) http_allow: Vec<String>,
    #[serde(default)]
    pub(crate) http_timeout_ms: Option<Millis>,
    #[serde(default)]
    pub(crate) memory_mb: Option<u64>,
    #[serde(default)]
    pub(crate) deadline_ms: Option<Millis>,
    #[serde(default)]
    pub(crate) auth_deadline_ms: Option<Millis>,
    #[serde(default)]
    pub(crate) pool: Option<u64>,
    #[serde(default = "default_true")]
    pub(crate) required: bool,
    #[serde(default)]
    pub(crate) on_failure: OnFailure,
    #[serde(default)]
    pub(crate) config: BTreeMap<String, ConfigValue>,
}

/// What a failed authentication or authorization call of a plugin means (a trap, a deadline
/// passed, an open circuit): rewrites and events fail open whatever it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OnFailure {
    /// Refused (fail closed).
    #[default]
    Deny,
    /// The next hook decides, then the broker's default (fail open).
    Next,
}

/// One plugin, checked: its file and what [`PluginSpec`] takes besides the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PluginConfig {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    pub(crate) grants: Vec<String>,
    /// The origins `http` may reach (checked: each is an origin).
    pub(crate) http_allow: Vec<String>,
    pub(crate) http_timeout: Duration,
    pub(crate) memory_bytes: usize,
    pub(crate) deadline: Duration,
    pub(crate) auth_deadline: Duration,
    pub(crate) pool: usize,
    /// Whether the broker refuses to start without it.
    pub(crate) required: bool,
    /// What a failed authentication or authorization call means.
    pub(crate) on_failure: OnFailure,
    /// `[plugins.config]`, in key order, its `${...}` references not yet resolved.
    pub(crate) config: Vec<(String, String)>,
}

/// The capabilities this build provides.
const PROVIDED: &[&str] = &["log", "kv", "metrics", "http"];

/// Checks the `[[plugins]]` tables.
pub(crate) fn resolve(check: &mut Checker, sections: &[PluginSection]) -> Vec<PluginConfig> {
    let mut plugins: Vec<PluginConfig> = Vec::new();
    for (n, section) in sections.iter().enumerate() {
        let key = |name: &str| format!("plugins[{n}].{name}");
        if section.name.trim().is_empty() {
            check.problem(&key("name"), "must not be empty".to_owned());
        } else if plugins.iter().any(|p| p.name == section.name) {
            check.problem(
                &key("name"),
                format!("{:?} names another plugin already", section.name),
            );
        }
        if section.path.as_os_str().is_empty() {
            check.problem(&key("path"), "must not be empty".to_owned());
        }
        for grant in &section.grants {
            if !PROVIDED.contains(&grant.as_str()) {
                check.problem(
                    &key("grants"),
                    format!(
                        "{grant:?} is not a capability this build provides ({})",
                        PROVIDED.join(", ")
                    ),
                );
            }
        }
        let ms = |check: &mut Checker, name: &str, value: Option<u64>, default: Duration| {
            let default_ms = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
            Duration::from_millis(check.range(
                &key(name),
                value.unwrap_or(default_ms),
                1,
                60_000u64,
                default_ms,
            ))
        };
        let deadline = ms(
            check,
            "deadline_ms",
            section.deadline_ms.map(|ms| ms.0),
            PluginSpec::DEFAULT_DEADLINE,
        );
        let auth_deadline = ms(
            check,
            "auth_deadline_ms",
            section.auth_deadline_ms.map(|ms| ms.0),
            PluginSpec::DEFAULT_AUTH_DEADLINE,
        );
        let http_timeout = ms(
            check,
            "http_timeout_ms",
            section.http_timeout_ms.map(|ms| ms.0),
            PluginSpec::DEFAULT_HTTP_TIMEOUT,
        );
        check_http(check, &key, section, http_timeout, auth_deadline);
        let default_mb = (PluginSpec::DEFAULT_MEMORY_BYTES / (1024 * 1024)) as u64;
        let memory_mb: u64 = check.range(
            &key("memory_mb"),
            section.memory_mb.unwrap_or(default_mb),
            1,
            4096u64,
            default_mb,
        );
        let pool = check.range(
            &key("pool"),
            section.pool.unwrap_or(PluginSpec::DEFAULT_POOL as u64),
            1,
            1024u64,
            PluginSpec::DEFAULT_POOL,
        );
        plugins.push(PluginConfig {
            name: section.name.clone(),
            path: section.path.clone(),
            grants: section.grants.clone(),
            http_allow: section.http_allow.clone(),
            http_timeout,
            memory_bytes: usize::try_from(memory_mb * 1024 * 1024).unwrap_or(usize::MAX),
            deadline,
            auth_deadline,
            pool,
            required: section.required,
            on_failure: section.on_failure,
            config: section
                .config
                .iter()
                .map(|(k, v)| (k.clone(), v.to_text()))
                .collect(),
        });
    }
    plugins
}

/// Checks the `http` settings of one `[[plugins]]` table: an allow-list of origins exactly
/// when `http` is granted, and a request timeout the authentication deadline covers (the
/// deadline keeps counting while the plugin waits for an answer: a request as long as the
/// deadline would leave the plugin no time to answer, and the call would fail instead).
fn check_http(
    check: &mut Checker,
    key: &dyn Fn(&str) -> String,
    section: &PluginSection,
    http_timeout: Duration,
    auth_deadline: Duration,
) {
    for entry in &section.http_allow {
        if let Err(why) = entry.parse::<HttpOrigin>() {
            check.problem(&key("http_allow"), why);
        }
    }
    let granted = section.grants.iter().any(|g| g == "http");
    if granted && section.http_allow.is_empty() {
        check.problem(
            &key("http_allow"),
            "the plugin is granted \"http\" but may reach no origin: list them, as [\"https://auth.example.com\"]"
                .to_owned(),
        );
    }
    if !granted && !section.http_allow.is_empty() {
        check.problem(
            &key("http_allow"),
            "set, but the plugin is not granted \"http\" (grants)".to_owned(),
        );
    }
    if granted && http_timeout >= auth_deadline {
        check.problem(
            &key("http_timeout_ms"),
            format!(
                "{} ms must be less than auth_deadline_ms ({} ms): an authentication call's deadline keeps counting while the plugin waits for HTTP, so raise auth_deadline_ms above http_timeout_ms or lower http_timeout_ms",
                http_timeout.as_millis(),
                auth_deadline.as_millis()
            ),
        );
    }
}

/// `value` with its `${env:NAME}` and `${file:PATH}` references replaced by the variable's
/// value and the file's content (a final newline cut), so that secrets live outside the
/// plugin and the config file. The error says which reference failed.
pub(crate) fn expand(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("an unclosed \"${{\" in {value:?}"));
        };
        let reference = &after[..end];
        if let Some(name) = reference.strip_prefix("env:") {
            let found = std::env::var(name)
                .map_err(|_| format!("the environment variable {name} is not set"))?;
            out.push_str(&found);
        } else if let Some(path) = reference.strip_prefix("file:") {
            let found =
                std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
            out.push_str(found.strip_suffix('\n').unwrap_or(&found));
        } else {
            return Err(format!(
                "\"${{{reference}}}\" is neither ${{env:NAME}} nor ${{file:PATH}}"
            ));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NodeConfig;

    #[test]
    fn plugins_tables_are_checked_and_bad_keys_named() {
        let node = NodeConfig::parse(
            "test",
            "[[plugins]]\nname = \"acl\"\npath = \"acl.wasm\"\ndeadline_ms = 20\n\
             [plugins.config]\npublish = \"a/#\"\ncache-ms = 5000\nstrict = true\n",
        )
        .unwrap();
        let acl = &node.plugins[0];
        assert_eq!(acl.grants, vec!["log".to_owned()]);
        assert_eq!(acl.deadline, Duration::from_millis(20));
        assert_eq!(acl.memory_bytes, PluginSpec::DEFAULT_MEMORY_BYTES);
        assert!(acl.required);
        assert_eq!(acl.on_failure, OnFailure::Deny, "fail closed by default");
        assert_eq!(
            acl.config,
            vec![
                ("cache-ms".to_owned(), "5000".to_owned()),
                ("publish".to_owned(), "a/#".to_owned()),
                ("strict".to_owned(), "true".to_owned()),
            ]
        );
        let error = NodeConfig::parse(
            "test",
            "[[plugins]]\nname = \"a\"\npath = \"a.wasm\"\ngrants = [\"log\", \"files\"]\n\
             deadline_ms = 0\n[[plugins]]\nname = \"a\"\npath = \"\"\n",
        )
        .unwrap_err()
        .to_string();
        for part in [
            "plugins[0].grants: \"files\" is not a capability this build provides (log, kv, metrics, http)",
            "plugins[0].deadline_ms: must be between 1 and 60000, got 0",
            "plugins[1].name: \"a\" names another plugin already",
            "plugins[1].path: must not be empty",
        ] {
            assert!(error.contains(part), "{part} in {error}");
        }
        let error = NodeConfig::parse(
            "test",
            "[[plugins]]\nname = \"a\"\npath = \"a\"\nbogus = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("bogus"), "{error}");
        let open = NodeConfig::parse(
            "test",
            "[[plugins]]\nname = \"a\"\npath = \"a\"\non_failure = \"next\"\n",
        )
        .unwrap();
        assert_eq!(open.plugins[0].on_failure, OnFailure::Next);
        let error = NodeConfig::parse(
            "test",
            "[[plugins]]\nname = \"a\"\npath = \"a\"\non_failure = \"maybe\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("plugins[0].on_failure")
                && error.contains("unknown variant `maybe`, expected `deny` or `next`"),
            "{error}"
        );
    }

    #[test]
    fn http_needs_origins_and_a_timeout_below_the_authentication_deadline() {
        let table = |rest: &str| format!("[[plugins]]\nname = \"h\"\npath = \"h.wasm\"\n{rest}\n");
        let node = NodeConfig::parse(
            "test",
            &table(
                "grants = [\"log\", \"kv\", \"http\"]\nhttp_allow = [\"http://127.0.0.1:8080\"]\n\
                 http_timeout_ms = 500\nauth_deadline_ms = 1000",
            ),
        )
        .unwrap();
        let h = &node.plugins[0];
        assert_eq!(h.http_allow, vec!["http://127.0.0.1:8080".to_owned()]);
        assert_eq!(h.http_timeout, Duration::from_millis(500));
        // Without http, the timeout is not compared with anything.
        let node = NodeConfig::parse("test", &table("")).unwrap();
        assert_eq!(
            node.plugins[0].http_timeout,
            PluginSpec::DEFAULT_HTTP_TIMEOUT
        );
        let problems = |rest: &str| {
            NodeConfig::parse("test", &table(rest))
                .unwrap_err()
                .to_string()
        };
        // The default timeout (2 s) is longer than the default authentication deadline.
        let error = problems("grants = [\"http\"]\nhttp_allow = [\"https://auth.example.com\"]");
        assert!(
            error.contains(
                "plugins[0].http_timeout_ms: 2000 ms must be less than auth_deadline_ms (100 ms)"
            ),
            "{error}"
        );
        let error = problems("grants = [\"http\"]\nauth_deadline_ms = 5000");
        assert!(
            error.contains(
                "plugins[0].http_allow: the plugin is granted \"http\" but may reach no origin"
            ),
            "{error}"
        );
        let error = problems(
            "grants = [\"http\"]\nauth_deadline_ms = 5000\nhttp_allow = [\"https://a.example.com/path\"]",
        );
        assert!(
            error
                .contains("plugins[0].http_allow: \"https://a.example.com/path\" is not an origin"),
            "{error}"
        );
        let error = problems("http_allow = [\"https://a.example.com\"]");
        assert!(
            error.contains("plugins[0].http_allow: set, but the plugin is not granted \"http\""),
            "{error}"
        );
    }

    #[test]
    fn references_to_the_environment_and_to_files_are_put_in_and_bad_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "s3cret\n").unwrap();
        std::env::set_var("SKEIN_PLUGIN_TEST_VALUE", "from-env");
        let value = format!(
            "a-${{env:SKEIN_PLUGIN_TEST_VALUE}}-${{file:{}}}-z",
            file.display()
        );
        assert_eq!(expand(&value).unwrap(), "a-from-env-s3cret-z");
        assert_eq!(expand("plain").unwrap(), "plain");
        let missing = expand("${env:SKEIN_PLUGIN_TEST_UNSET_VARIABLE}").unwrap_err();
        assert!(
            missing.contains("SKEIN_PLUGIN_TEST_UNSET_VARIABLE"),
            "{missing}"
        );
        assert!(expand("${vault:x}").unwrap_err().contains("neither"));
        assert!(expand("${env:X").unwrap_err().contains("unclosed"));
    }
}
