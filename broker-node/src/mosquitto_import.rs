//! `skein config import mosquitto.conf`, and `skein -c mosquitto.conf`: a Mosquitto
//! configuration read ([`mosquitto_conf`](crate::mosquitto_conf)), mapped
//! ([`mosquitto_map`](crate::mosquitto_map)) and written as Skein's TOML, with every
//! directive that was not imported named by its line.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use crate::config::NodeConfig;
use crate::config_env;
use crate::mosquitto_conf::{self, looks_like_mosquitto};
use crate::mosquitto_map::{self, Finding, Import};

/// `skein config ...`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub(crate) struct ConfigArgs {
    /// What to do with a configuration.
    #[command(subcommand)]
    pub(crate) command: ConfigCommand,
}

/// The `skein config` tools.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Translate a Mosquitto configuration (mosquitto.conf) into Skein's TOML; every setting
    /// that is not imported is listed at the top with its line and what to do instead.
    Import(ImportArgs),
}

/// `skein config import`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub(crate) struct ImportArgs {
    /// The Mosquitto configuration file.
    #[arg(value_name = "MOSQUITTO_CONF")]
    pub(crate) file: PathBuf,
    /// Write the TOML to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Exit with 1 when any setting could not be imported.
    #[arg(long)]
    pub(crate) strict: bool,
}

/// Runs `skein config`.
///
/// # Errors
///
/// The file cannot be read or written.
pub(crate) fn run(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Import(args) = &args.command;
    let import = import_file(&args.file)?;
    let text = render(&import, &args.file)?;
    match &args.output {
        Some(output) => std::fs::write(output, &text)
            .with_context(|| format!("writing {}", output.display()))?,
        None => io::stdout()
            .write_all(text.as_bytes())
            .context("writing to standard output")?,
    }
    if !import.unsupported.is_empty() {
        let _ = writeln!(
            io::stderr(),
            "skein: {} setting(s) of {} not imported; the header of the output lists them",
            import.unsupported.len(),
            args.file.display()
        );
    }
    Ok(if args.strict && !import.unsupported.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads and maps the Mosquitto configuration at `path`; `include_dir`s are taken from its
/// directory.
///
/// # Errors
///
/// The file, or a directory it includes, cannot be read.
pub(crate) fn import_file(path: &Path) -> anyhow::Result<Import> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    let directives =
        mosquitto_conf::read(&text, base).with_context(|| format!("{}", path.display()))?;
    Ok(mosquitto_map::map(&directives))
}

/// `import` as a Skein config file: a comment header naming the source and listing what was
/// not imported and what was imported with a difference, then the TOML.
///
/// # Errors
///
/// The document cannot be written as TOML (it always can).
pub(crate) fn render(import: &Import, source: &Path) -> anyhow::Result<String> {
    let mut text = format!(
        "# Skein configuration imported from the Mosquitto configuration {} by\n\
         # `skein config import`. docs/configuration.md describes every key.\n",
        source.display()
    );
    let sections = [
        ("Not imported", &import.unsupported),
        ("Imported with a difference", &import.notes),
    ];
    for (title, findings) in sections {
        if findings.is_empty() {
            continue;
        }
        text.push_str(&format!("#\n# {title} ({}):\n", findings.len()));
        for finding in findings.iter() {
            text.push_str(&format!("#   {}\n", located(source, finding)));
        }
    }
    text.push('\n');
    text.push_str(&toml::to_string(&import.document).context("writing the TOML")?);
    Ok(text)
}

/// `finding` with the file it is in: `mosquitto.conf line 3: ...`.
fn located(source: &Path, finding: &Finding) -> String {
    if finding.origin.file.is_some() {
        finding.to_string()
    } else {
        format!("{} {finding}", source.display())
    }
}

/// The configuration `-c FILE` names: Skein's TOML, or a Mosquitto configuration (named
/// `*.conf`, or not TOML but `key value` lines), imported, with what was not imported.
/// Environment overrides apply to either.
///
/// # Errors
///
/// The file cannot be read, or its configuration is invalid.
pub(crate) fn load_config(path: &Path) -> anyhow::Result<(NodeConfig, Option<Import>)> {
    let text = std::fs::read_to_string(path).ok();
    if !text.is_some_and(|text| looks_like_mosquitto(path, &text)) {
        return Ok((NodeConfig::load(path)?, None));
    }
    let import = import_file(path)?;
    let toml = toml::to_string(&import.document).context("writing the TOML")?;
    let source = format!("{} (imported from Mosquitto's format)", path.display());
    let node = NodeConfig::parse_with(&source, &toml, &config_env::from_environment())?;
    Ok((node, Some(import)))
}

/// Logs what an import left out (warnings) or changed (info), after logging started.
pub(crate) fn log_findings(source: &Path, import: &Import) {
    for finding in &import.unsupported {
        tracing::warn!("Not imported: {}", located(source, finding));
    }
    for finding in &import.notes {
        tracing::info!("{}", located(source, finding));
    }
}

/// Writes what an import left out to standard error (`--check-config`).
pub(crate) fn print_findings(source: &Path, import: &Import) {
    let mut stderr = io::stderr();
    for finding in &import.unsupported {
        let _ = writeln!(stderr, "skein: not imported: {}", located(source, finding));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mosquitto_conf::parse_lines;

    #[test]
    fn the_header_lists_findings_and_the_rest_is_skein_toml() {
        let import = mosquitto_map::map(&parse_lines(
            "listener 1883\npid_file /run/m.pid\nmax_queued_bytes 0\n",
            None,
        ));
        let text = render(&import, Path::new("m.conf")).unwrap();
        let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
        assert!(header.contains(&"# Not imported (1):"), "{text}");
        assert!(
            header
                .iter()
                .any(|l| l.starts_with("#   m.conf line 2: pid_file: ")),
            "{text}"
        );
        assert!(
            header.contains(&"# Imported with a difference (1):"),
            "{text}"
        );
        assert!(
            header
                .iter()
                .any(|l| l.starts_with("#   m.conf line 3: max_queued_bytes: ")),
            "{text}"
        );
        let config = NodeConfig::parse("imported", &text).unwrap();
        assert_eq!(config.broker.listeners.len(), 1);
    }

    #[test]
    fn load_config_imports_mosquitto_files_and_reads_toml_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(&conf, "listener 1884 127.0.0.1\nuser mosquitto\n").unwrap();
        let (node, import) = load_config(&conf).unwrap();
        assert_eq!(node.broker.listeners[0].bind.to_string(), "127.0.0.1:1884");
        assert_eq!(import.map(|i| i.unsupported.len()), Some(1));
        let toml = dir.path().join("skein.toml");
        std::fs::write(&toml, "[[listener]]\nbind = \"127.0.0.1:1885\"\n").unwrap();
        let (node, import) = load_config(&toml).unwrap();
        assert_eq!(node.broker.listeners[0].bind.to_string(), "127.0.0.1:1885");
        assert_eq!(import, None);
        let bad = dir.path().join("bad.conf");
        std::fs::write(
            &bad,
            "listener 1886\nmax_keepalive 65535\nmax_packet_size 1\n",
        )
        .unwrap();
        let error = load_config(&bad).map(|_| ()).unwrap_err().to_string();
        assert!(error.contains("imported from Mosquitto"), "{error}");
        assert!(error.contains("limits.max_packet_size"), "{error}");
    }
}
