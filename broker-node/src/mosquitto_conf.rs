//! Reading a Mosquitto configuration file: its lines as directives (`key value...`), with
//! `#` comments and blank lines left out and `include_dir` followed, each directive knowing
//! the file and line it came from. What the directives mean for Skein is
//! [`mosquitto_map`](crate::mosquitto_map)'s business.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Where a directive was written: the file (for an included one) and the line, from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The included file, `None` for the file that was imported.
    pub(crate) file: Option<PathBuf>,
    /// The line number, from 1.
    pub(crate) line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{} line {}", file.display(), self.line),
            None => write!(f, "line {}", self.line),
        }
    }
}

/// One line of the file: its key and the words after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directive {
    /// Where it was written.
    pub(crate) origin: Origin,
    /// The option's name, as written.
    pub(crate) key: String,
    /// The words that follow it, split on white space.
    pub(crate) args: Vec<String>,
}

impl Directive {
    /// The value: the words after the key, joined by single spaces.
    pub(crate) fn value(&self) -> String {
        self.args.join(" ")
    }
}

/// The directives of `text` (the imported file, whose directory `base` is), in order, those of
/// each `include_dir` in place of its line: the directory's `*.conf` files in name order, as
/// Mosquitto reads them. A relative `include_dir` is taken from `base`.
///
/// # Errors
///
/// An `include_dir` that cannot be read, or one that includes itself again.
pub(crate) fn read(text: &str, base: &Path) -> anyhow::Result<Vec<Directive>> {
    let mut directives = Vec::new();
    read_into(text, None, base, &mut directives, 0)?;
    Ok(directives)
}

/// How deep `include_dir`s may nest (a directory that includes itself loops otherwise).
const MAX_INCLUDE_DEPTH: usize = 8;

fn read_into(
    text: &str,
    file: Option<&Path>,
    base: &Path,
    directives: &mut Vec<Directive>,
    depth: usize,
) -> anyhow::Result<()> {
    for directive in parse_lines(text, file) {
        if directive.key != "include_dir" || directive.args.is_empty() {
            directives.push(directive);
            continue;
        }
        if depth >= MAX_INCLUDE_DEPTH {
            anyhow::bail!(
                "{}: include_dir nests more than {MAX_INCLUDE_DEPTH} deep (does a directory include itself?)",
                directive.origin
            );
        }
        let dir = base.join(directive.value());
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("{}: include_dir {}", directive.origin, dir.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "conf"))
            .collect();
        files.sort();
        for path in files {
            let included = std::fs::read_to_string(&path)
                .with_context(|| format!("{}: reading {}", directive.origin, path.display()))?;
            read_into(&included, Some(&path), base, directives, depth + 1)?;
        }
    }
    Ok(())
}

/// The directives of one file's `text`, without following `include_dir`.
pub(crate) fn parse_lines(text: &str, file: Option<&Path>) -> Vec<Directive> {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let mut words = line.split_whitespace().map(str::to_owned);
            let key = words.next()?;
            Some(Directive {
                origin: Origin {
                    file: file.map(Path::to_path_buf),
                    line: index + 1,
                },
                key,
                args: words.collect(),
            })
        })
        .collect()
}

/// Whether the file at `path` holding `text` is a Mosquitto configuration rather than
/// Skein's TOML. A `*.toml` file, or one that is TOML with keys, is Skein's; otherwise a
/// `*.conf` file is Mosquitto's (comments only too: Mosquitto's defaults), and so is a file
/// whose first directive is a `key value` line.
pub(crate) fn looks_like_mosquitto(path: &Path, text: &str) -> bool {
    let extension = path.extension().and_then(|ext| ext.to_str());
    if extension == Some("toml") {
        return false;
    }
    if text
        .parse::<toml::Table>()
        .is_ok_and(|table| !table.is_empty())
    {
        return false;
    }
    if extension == Some("conf") {
        return true;
    }
    parse_lines(text, None).first().is_some_and(|first| {
        first
            .key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
            && first.args.first().is_some_and(|arg| arg != "=")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_directives_with_their_numbers() {
        let text = "# a comment\n\n  listener 1883 127.0.0.1  \nallow_anonymous\ttrue\n\
                    #listener 1884\nlog_type error\n";
        let directives = parse_lines(text, None);
        let keys: Vec<(&str, usize, Vec<&str>)> = directives
            .iter()
            .map(|d| {
                (
                    d.key.as_str(),
                    d.origin.line,
                    d.args.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("listener", 3, vec!["1883", "127.0.0.1"]),
                ("allow_anonymous", 4, vec!["true"]),
                ("log_type", 6, vec!["error"]),
            ]
        );
        assert_eq!(directives[0].origin.to_string(), "line 3");
        assert_eq!(directives[0].value(), "1883 127.0.0.1");
    }

    #[test]
    fn include_dir_reads_the_conf_files_in_name_order_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let conf_d = dir.path().join("conf.d");
        std::fs::create_dir(&conf_d).unwrap();
        std::fs::write(conf_d.join("b.conf"), "max_keepalive 60\n").unwrap();
        std::fs::write(conf_d.join("a.conf"), "\nlistener 1884\n").unwrap();
        std::fs::write(conf_d.join("notes.txt"), "not read\n").unwrap();
        let text = "per_listener_settings false\ninclude_dir conf.d\nsys_interval 5\n";
        let directives = read(text, dir.path()).unwrap();
        let keys: Vec<&str> = directives.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "per_listener_settings",
                "listener",
                "max_keepalive",
                "sys_interval"
            ]
        );
        assert_eq!(
            directives[1].origin,
            Origin {
                file: Some(conf_d.join("a.conf")),
                line: 2
            }
        );
        assert!(directives[1].origin.to_string().ends_with("a.conf line 2"));
        let missing = read("include_dir nowhere\n", dir.path()).unwrap_err();
        assert!(
            format!("{missing:#}").starts_with("line 1: include_dir "),
            "{missing:#}"
        );
    }

    #[test]
    fn an_include_dir_that_includes_itself_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("loop.conf"), "include_dir .\n").unwrap();
        let error = read("include_dir .\n", dir.path()).unwrap_err();
        assert!(error.to_string().contains("nests more than 8"), "{error}");
    }

    #[test]
    fn mosquitto_files_are_told_from_toml() {
        let toml = "[limits]\nmax_connections = 5\n";
        let mosquitto = "# Mosquitto\nlistener 1883\nallow_anonymous true\n";
        assert!(looks_like_mosquitto(Path::new("mosquitto.conf"), mosquitto));
        assert!(looks_like_mosquitto(
            Path::new("mosquitto.conf"),
            "# defaults\n"
        ));
        assert!(looks_like_mosquitto(Path::new("broker.cfg"), mosquitto));
        assert!(!looks_like_mosquitto(Path::new("skein.conf"), toml));
        assert!(!looks_like_mosquitto(Path::new("skein.toml"), toml));
        assert!(!looks_like_mosquitto(Path::new("skein.toml"), mosquitto));
        assert!(!looks_like_mosquitto(Path::new("skein.cfg"), "# nothing\n"));
        assert!(!looks_like_mosquitto(Path::new("skein.cfg"), "[limits\n"));
        assert!(!looks_like_mosquitto(Path::new("skein.cfg"), "max = = 1\n"));
    }
}
