//! The command line, as Mosquitto users know it: `-c/--config`, `-p/--port`, plus `--listen`,
//! `--log-level`, `--check-config` and `--print-default-config`.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::bail;
use broker_cluster::PeerConfig;
use broker_core::config::ListenerConfig;
use clap::{Parser, Subcommand};

use crate::ctl::{ClusterArgs, CtlArgs};
use crate::logging::LogLevel;
use crate::mosquitto_import::ConfigArgs;
use crate::passwd::PasswdArgs;
use crate::store_check::StoreArgs;

/// Skein, an MQTT 3.1 / 3.1.1 / 5.0 broker.
///
/// Without arguments it runs with the built-in default configuration and listens on
/// 0.0.0.0:1883. Start your own configuration with `skein --print-default-config > skein.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(name = "skein", version, args_conflicts_with_subcommands = true)]
pub(crate) struct Cli {
    /// A tool instead of the broker.
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    /// Read the configuration from this TOML file instead of the built-in default; a
    /// Mosquitto configuration (*.conf, or `key value` lines) is imported, and what
    /// it cannot import is logged.
    #[arg(short = 'c', long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Listen on this IP:PORT (repeatable); replaces the configuration's listeners.
    #[arg(long = "listen", value_name = "IP:PORT")]
    pub(crate) listen: Vec<SocketAddr>,

    /// Listen on 0.0.0.0:PORT (repeatable), like mosquitto -p; replaces the configuration's
    /// listeners.
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub(crate) port: Vec<u16>,

    /// Keep persistent sessions in this directory, overriding the configuration's
    /// `storage.data_dir` (default `skein-data`).
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// A peer node, as NAME=HOST:PORT (its cluster endpoint; repeatable): replaces the
    /// configuration's `cluster.peers`. Needs `[cluster] enabled = true`.
    #[arg(long = "peer", value_name = "NAME=HOST:PORT")]
    pub(crate) peers: Vec<PeerConfig>,

    /// Log level, overriding the configuration's `log.level` and RUST_LOG.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub(crate) log_level: Option<LogLevel>,

    /// Check the configuration (file and command-line listeners), then exit: 0 if valid, 1
    /// with the problems on standard error if not.
    #[arg(long)]
    pub(crate) check_config: bool,

    /// Print the built-in default configuration, with comments, and exit.
    #[arg(long, conflicts_with_all = ["config", "listen", "port", "log_level", "check_config", "data_dir", "peers"])]
    pub(crate) print_default_config: bool,
}

/// The tools `skein` offers besides running the broker.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub(crate) enum Command {
    /// Manage a Mosquitto password file, like mosquitto_passwd.
    Passwd(PasswdArgs),
    /// Look after the session store of a broker that is not running.
    Store(StoreArgs),
    /// Ask a running broker through its admin endpoint: clients, sessions, subscriptions,
    /// retained messages, publish ([admin] in the configuration; docs/admin.md).
    Ctl(CtlArgs),
    /// The cluster as a running node sees it, through its admin endpoint: `skein cluster
    /// status` (the same as `skein ctl cluster status`; docs/cluster.md).
    Cluster(ClusterArgs),
    /// Work with configuration files: `skein config import mosquitto.conf` translates a
    /// Mosquitto configuration into Skein's.
    Config(ConfigArgs),
}

impl Cli {
    /// The listeners given by `--listen` and `--port`, in that order; empty when neither was
    /// given. Each is named after its address. The same address twice is an error.
    pub(crate) fn listeners(&self) -> anyhow::Result<Vec<ListenerConfig>> {
        let from_ports = self
            .port
            .iter()
            .map(|port| SocketAddr::from((Ipv4Addr::UNSPECIFIED, *port)));
        let mut seen = HashSet::new();
        let mut listeners = Vec::new();
        for bind in self.listen.iter().copied().chain(from_ports) {
            if !seen.insert(bind) {
                bail!("the listen address {bind} is given twice (--listen / --port)");
            }
            listeners.push(ListenerConfig::tcp(bind.to_string(), bind));
        }
        Ok(listeners)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("skein").chain(args.iter().copied()))
    }

    #[test]
    fn no_arguments_means_defaults() {
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.config, None);
        assert!(cli.listeners().unwrap().is_empty());
        assert_eq!(cli.log_level, None);
        assert!(!cli.check_config && !cli.print_default_config);
    }

    #[test]
    fn listen_and_port_are_repeatable_and_map_to_listeners() {
        let cli = parse(&[
            "--listen",
            "127.0.0.1:1884",
            "-p",
            "1885",
            "--listen",
            "[::1]:1886",
            "--port",
            "1887",
        ])
        .unwrap();
        let listeners = cli.listeners().unwrap();
        let binds: Vec<String> = listeners.iter().map(|l| l.bind.to_string()).collect();
        assert_eq!(
            binds,
            [
                "127.0.0.1:1884",
                "[::1]:1886",
                "0.0.0.0:1885",
                "0.0.0.0:1887"
            ]
        );
        assert_eq!(listeners[0].name, "127.0.0.1:1884");
    }

    #[test]
    fn the_same_address_twice_is_an_error() {
        let cli = parse(&["-p", "1883", "--listen", "0.0.0.0:1883"]).unwrap();
        let error = cli.listeners().unwrap_err();
        assert!(error.to_string().contains("0.0.0.0:1883"), "{error}");
    }

    #[test]
    fn config_and_log_level_and_check() {
        let cli = parse(&["-c", "skein.toml", "--log-level", "debug", "--check-config"]).unwrap();
        assert_eq!(cli.config, Some(PathBuf::from("skein.toml")));
        assert_eq!(cli.log_level, Some(LogLevel::Debug));
        assert!(cli.check_config);
        let long = parse(&["--config", "other.toml"]).unwrap();
        assert_eq!(long.config, Some(PathBuf::from("other.toml")));
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(parse(&["--listen", "localhost:1883"]).is_err());
        assert!(parse(&["--listen", "1883"]).is_err());
        assert!(parse(&["-p", "70000"]).is_err());
        assert!(parse(&["--log-level", "verbose"]).is_err());
        assert!(parse(&["--unknown"]).is_err());
    }

    #[test]
    fn print_default_config_stands_alone() {
        assert!(
            parse(&["--print-default-config"])
                .unwrap()
                .print_default_config
        );
        assert!(parse(&["--print-default-config", "-p", "1884"]).is_err());
    }

    #[test]
    fn help_and_version_are_clap_displays() {
        let help = parse(&["--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        let text = help.to_string();
        for flag in [
            "--config",
            "--listen",
            "--port",
            "--log-level",
            "--check-config",
            "--print-default-config",
        ] {
            assert!(text.contains(flag), "{flag} missing from help:\n{text}");
        }
        let version = parse(&["--version"]).unwrap_err();
        assert_eq!(version.kind(), clap::error::ErrorKind::DisplayVersion);
    }

    #[test]
    fn passwd_is_a_subcommand_with_its_own_options() {
        let cli = parse(&["passwd", "-c", "-b", "pw.txt", "alice", "secret"]).unwrap();
        let Some(Command::Passwd(args)) = cli.command else {
            panic!("not the passwd subcommand: {cli:?}");
        };
        assert!(args.create && args.batch);
        assert_eq!(args.file, PathBuf::from("pw.txt"));
        assert_eq!(cli.config, None, "-c belongs to passwd here");
        assert!(parse(&["-p", "1884", "passwd", "pw.txt", "alice"]).is_err());
        assert_eq!(parse(&[]).unwrap().command, None);
    }

    #[test]
    fn config_import_takes_a_file_an_output_and_strict() {
        let cli = parse(&[
            "config",
            "import",
            "mosquitto.conf",
            "-o",
            "skein.toml",
            "--strict",
        ])
        .unwrap();
        let Some(Command::Config(args)) = cli.command else {
            panic!("not the config subcommand: {cli:?}");
        };
        let crate::mosquitto_import::ConfigCommand::Import(import) = args.command;
        assert_eq!(import.file, PathBuf::from("mosquitto.conf"));
        assert_eq!(import.output, Some(PathBuf::from("skein.toml")));
        assert!(import.strict);
        assert!(parse(&["config", "import"]).is_err());
    }

    #[test]
    fn the_command_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
