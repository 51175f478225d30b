//! Environment overrides of the configuration, as container deployments set them:
//! `SKEIN_<TABLE>__<KEY>=value` sets `<key>` of `[<table>]` (`SKEIN_LIMITS__MAX_CONNECTIONS=
//! 5000`), `SKEIN_LISTENER__0__BIND=0.0.0.0:1884` a key of the first `[[listener]]`. Names are
//! matched in lower case; `__` separates the levels. A value is read as TOML when it is one
//! (`5000`, `true`, `["log", "kv"]`) and as text otherwise (`64KiB`, `0.0.0.0:1884`).
//! Variables without `__` (`SKEIN_LOG`, say) are not overrides. The overrides apply on top of
//! the file (or the embedded default), before it is checked, so a bad value is reported as
//! a bad key of the file would be, with the variable named.

use toml::{Table, Value};

/// The prefix of an override.
const PREFIX: &str = "SKEIN_";

/// The overrides among the process's environment variables, sorted by name.
pub(crate) fn from_environment() -> Vec<(String, String)> {
    let mut overrides: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| is_override(name))
        .collect();
    overrides.sort();
    overrides
}

/// Whether `name` is an override's: the prefix, then at least two levels.
fn is_override(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .is_some_and(|path| path.contains("__"))
}

/// `text` (a TOML document) with `overrides` applied, as TOML again.
///
/// # Errors
///
/// The variable that cannot be applied, and why: the file is not TOML, a level is not a
/// table, or an index names no entry of an array of tables.
pub(crate) fn apply(text: &str, overrides: &[(String, String)]) -> Result<String, String> {
    let mut document: Table = text.parse().map_err(|e| format!("{e}"))?;
    for (name, value) in overrides {
        set(&mut document, name, value).map_err(|problem| format!("{name}: {problem}"))?;
    }
    toml::to_string(&document).map_err(|e| format!("{e}"))
}

fn set(document: &mut Table, name: &str, value: &str) -> Result<(), String> {
    let path: Vec<String> = name
        .strip_prefix(PREFIX)
        .unwrap_or(name)
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect();
    let mut root = Value::Table(std::mem::take(document));
    let set = set_path(&mut root, "the file", &path, parse_value(value));
    if let Value::Table(table) = root {
        *document = table;
    }
    set
}

/// Sets `path` below `value` (named `name`, for errors) to `new`: a table's key (made with
/// the tables on the way when missing), or through an index, an entry of an array of
/// tables.
fn set_path(value: &mut Value, name: &str, path: &[String], new: Value) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return Err("names no key".to_owned());
    };
    match value {
        Value::Table(table) if rest.is_empty() => {
            table.insert(first.clone(), new);
            Ok(())
        }
        Value::Table(table) => {
            let next = table
                .entry(first.clone())
                .or_insert_with(|| Value::Table(Table::new()));
            set_path(next, first, rest, new)
        }
        Value::Array(entries) => {
            let index: usize = first.parse().map_err(|_| {
                format!(
                    "{name} is an array of tables: the next level must be an index, not {first:?}"
                )
            })?;
            let count = entries.len();
            let entry = entries
                .get_mut(index)
                .ok_or_else(|| format!("{name} has {count} entries, none at index {index}"))?;
            if rest.is_empty() {
                return Err(format!("{name}.{index} is a table: name one of its keys"));
            }
            set_path(entry, &format!("{name}.{index}"), rest, new)
        }
        _ => Err(format!("{name} is not a table")),
    }
}

/// `value` as a TOML value when it is one, as text otherwise.
fn parse_value(value: &str) -> Value {
    format!("v = {value}")
        .parse::<Table>()
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| Value::String(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn overrides_set_keys_of_tables_and_of_arrays_of_tables_typed_as_toml() {
        let text = "[[listener]]\nbind = \"0.0.0.0:1883\"\n[limits]\nmax_connections = 10\n";
        let applied = apply(
            text,
            &overrides(&[
                ("SKEIN_LIMITS__MAX_CONNECTIONS", "5000"),
                ("SKEIN_LISTENER__0__BIND", "127.0.0.1:1884"),
                ("SKEIN_SESSION__QUEUE_MAX_BYTES", "64KiB"),
                ("SKEIN_FEATURES__RETAIN_AVAILABLE", "false"),
            ]),
        )
        .unwrap();
        let table: Table = applied.parse().unwrap();
        assert_eq!(table["limits"]["max_connections"].as_integer(), Some(5000));
        assert_eq!(
            table["listener"][0]["bind"].as_str(),
            Some("127.0.0.1:1884")
        );
        assert_eq!(table["session"]["queue_max_bytes"].as_str(), Some("64KiB"));
        assert_eq!(table["features"]["retain_available"].as_bool(), Some(false));
    }

    #[test]
    fn an_override_that_cannot_apply_is_named() {
        let text = "[[listener]]\nbind = \"0.0.0.0:1883\"\n[limits]\nmax_connections = 10\n";
        let error = apply(text, &overrides(&[("SKEIN_LISTENER__3__BIND", "x")])).unwrap_err();
        assert!(error.starts_with("SKEIN_LISTENER__3__BIND: "), "{error}");
        assert!(error.contains("none at index 3"), "{error}");
        let error = apply(
            text,
            &overrides(&[("SKEIN_LIMITS__MAX_CONNECTIONS__X", "1")]),
        )
        .unwrap_err();
        assert!(error.contains("max_connections is not a table"), "{error}");
        assert!(!is_override("SKEIN_IT_BROKER"));
        assert!(is_override("SKEIN_LOG__LEVEL"));
    }
}
