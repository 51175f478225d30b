//! `skein`: one Skein broker node.
//!
//! This binary composes the engine (`broker-core`) with what only a process has: the command
//! line, the config file, the log subscriber and the stop signals. It reads configuration
//! nowhere else than here, and the engine reads none of it.
//!
//! Start-up order: parse the command line, load and check the config and the files it names
//! (TLS, password and ACL files; `--check-config` stops here), install logging, start a tokio
//! runtime (`runtime.rs`), install the signal handlers, start the broker (binding its
//! listeners) with the auth hooks, then reload the auth files on SIGHUP until SIGTERM /
//! SIGINT, and drain gracefully.

mod admin;
mod admin_cluster;
mod admin_json;
mod admin_query;
mod admin_routes;
mod allocator;
mod auth;
mod auth_identity;
mod cli;
mod config;
mod config_admin;
mod config_auth;
mod config_cluster;
mod config_duration;
mod config_env;
mod config_file;
mod config_listener;
mod config_plugins;
mod config_resolve;
mod config_size;
mod config_storage;
mod ctl;
mod ctl_output;
mod logging;
mod metrics;
mod mosquitto_conf;
mod mosquitto_import;
mod mosquitto_listener;
mod mosquitto_map;
mod passwd;
mod plugins;
mod runtime;
mod signals;
mod store_check;
mod systemd;

use std::io::{self, Write as _};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use broker_cluster::{ClusterNode, GrpcLink};
use broker_core::cluster::ClusterLink;
use broker_core::Broker;
use clap::Parser as _;
use tracing::{debug, info, warn};
use tracing_appender::non_blocking::ErrorCounter;

use crate::auth::Auth;
use crate::cli::{Cli, Command};
use crate::config::{NodeConfig, DEFAULT_CONFIG, DEFAULT_CONFIG_NAME};
use crate::config_admin::AdminToken;
use crate::signals::{Reloads, Signals};

/// The version `--version` and the start-up log line show.
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() -> ExitCode {
    // Before anything grows the heap; a refusal only leaves the kernel's default.
    let huge_pages = allocator::no_huge_pages();
    let cli = Cli::parse();
    match run(&cli, huge_pages) {
        Ok(code) => code,
        Err(error) => {
            // Logging may not be installed yet (config errors come first): write directly.
            let _ = writeln!(io::stderr(), "skein: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// `error` and its causes joined by `: `, leaving out a cause whose text the previous message
/// already ends with (errors that print their source themselves).
fn error_chain(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !message.ends_with(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message
}

/// Everything after argument parsing; an error is printed by `main` and exits with 1.
fn run(cli: &Cli, huge_pages: io::Result<()>) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Some(Command::Passwd(args)) => {
            passwd::run(args)?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Store(args)) => return store_check::run(args),
        Some(Command::Ctl(args)) => return ctl::run(args),
        Some(Command::Cluster(args)) => return ctl::run_cluster(args),
        Some(Command::Config(args)) => return mosquitto_import::run(args),
        None => {}
    }
    if cli.print_default_config {
        io::stdout()
            .write_all(DEFAULT_CONFIG.as_bytes())
            .context("writing to standard output")?;
        return Ok(ExitCode::SUCCESS);
    }
    let (mut node, import) = match &cli.config {
        Some(path) => mosquitto_import::load_config(path)?,
        None => (NodeConfig::embedded_default()?, None),
    };
    node.override_listeners(cli.listeners()?);
    node.storage.override_dir(cli.data_dir.clone());
    config_cluster::override_peers(&mut node.cluster, &cli.peers)?;
    let source = cli.config.as_ref().map_or_else(
        || DEFAULT_CONFIG_NAME.to_owned(),
        |p| p.display().to_string(),
    );
    let (auth, admin_token) = node.load_files(&source)?;
    let imported = cli.config.as_deref().zip(import.as_ref());
    if cli.check_config {
        if let Some((path, import)) = imported {
            mosquitto_import::print_findings(path, import);
        }
        writeln!(
            io::stdout(),
            "{source}: configuration OK ({} listener(s))",
            node.broker.listeners.len()
        )
        .context("writing to standard output")?;
        return Ok(ExitCode::SUCCESS);
    }

    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = logging::filter(cli.log_level, rust_log.as_deref(), node.log.level)?;
    // Kept to the end of `run`: dropping it flushes what is queued and stops the writer.
    let log = logging::init(filter, node.log.format)?;
    if let Some((path, import)) = imported {
        mosquitto_import::log_findings(path, import);
    }
    if let Err(error) = huge_pages {
        debug!("Transparent huge pages stay as the kernel sets them: {error}.");
    }

    if node.arrival_order && !runtime::KEEPS_WAKE_ORDER {
        warn!("Built without `--cfg tokio_unstable`: [runtime] arrival_order cannot apply; connections whose packets arrive together may be served in another order than they arrived (broker-node/src/runtime.rs).");
    }
    let runtime = runtime::builder(node.arrival_order)
        .build()
        .context("starting the tokio runtime")?;
    let source = cli.config.is_some().then_some(source);
    let outcome = runtime.block_on(serve(node, auth, admin_token, source, log.counter()));
    // Connection tasks still running (after a second signal) are abandoned, not awaited.
    runtime.shutdown_background();
    let dropped = log.dropped();
    if dropped > 0 {
        warn!("{dropped} log lines were dropped: standard error did not take them in time.");
    }
    outcome
}

/// Runs the broker until a stop signal, then drains it. `source` is the config file's path,
/// `None` for the embedded default.
async fn serve(
    node: NodeConfig,
    auth: Auth,
    admin_token: Option<AdminToken>,
    source: Option<String>,
    log_dropped: ErrorCounter,
) -> anyhow::Result<ExitCode> {
    // Before binding: a signal sent as soon as the port accepts must not kill us outright.
    let mut signals = Signals::install().context("installing the signal handlers")?;
    let reloads = Reloads::install().context("installing the SIGHUP handler")?;
    info!("Skein {VERSION} starting");
    match &source {
        Some(path) => info!("Config loaded from {path}."),
        None => info!("Using default config."),
    }
    // Before the broker: the engine records hook latencies from its first connection on.
    let prometheus = node.metrics.map(|_| metrics::install()).transpose()?;
    auth.log_summary();
    // The store first: it locks the data directory, where the plugins' compile cache is.
    let store = node.storage.open()?;
    let plugins = plugins::Plugins::load(&node.plugins, node.storage.data_dir()).await?;
    let plugin_count = plugins.len();
    let admin = node.admin.clone();
    let max_payload = usize::try_from(node.broker.session.max_packet_size).unwrap_or(usize::MAX);
    let link = node.cluster.map(GrpcLink::new);
    let mut builder = plugins
        .install(auth.install(Broker::builder(), &node.broker.listeners))
        .session_store(store)
        .config(node.broker);
    if let Some(link) = &link {
        builder = builder.cluster_link(Arc::clone(link) as Arc<dyn ClusterLink>);
    }
    let broker = builder.start().await.context("starting the broker")?;
    let cluster = match &link {
        Some(link) => Some(
            link.start(broker.handle())
                .await
                .context("starting the cluster endpoint")?,
        ),
        None => None,
    };
    tokio::spawn(allocator::return_freed_memory());
    if let (Some(addr), Some(prometheus)) = (node.metrics, prometheus) {
        let (bound, endpoint) = metrics::bind(
            addr,
            prometheus,
            broker.handle(),
            cluster.as_ref().map(ClusterNode::view),
            log_dropped,
        )
        .await?;
        info!("Serving Prometheus metrics on http://{bound}/metrics.");
        tokio::spawn(endpoint);
    }
    let mut admin_tls = None;
    if let Some(admin) = &admin {
        let view = cluster.as_ref().map(ClusterNode::view);
        let bound = admin::bind(admin, admin_token, broker.handle(), view, max_payload).await?;
        let scheme = if admin.tls.is_some() { "https" } else { "http" };
        let auth = match (admin.token.is_some(), admin.requires_certificate()) {
            (true, true) => "bearer token and client certificate",
            (false, true) => "client certificate",
            _ => "bearer token",
        };
        info!(
            "Serving the admin API on {scheme}://{}/api/v1/ ({auth}).",
            bound.addr
        );
        admin_tls = bound.tls;
        tokio::spawn(bound.serve);
    }
    tokio::spawn(auth.serve_reloads(
        reloads,
        broker.hooks(),
        plugin_count,
        broker.handle(),
        admin_tls,
    ));
    // The engine logs Mosquitto's `Opening ipv4 listen socket on port N.` as it binds each
    // listener; the names and full addresses are for debugging.
    for (name, addr) in broker.local_addrs() {
        debug!("Listener {name} bound to {addr}.");
    }
    info!("Skein {VERSION} running");
    systemd::ready();

    let first = signals.recv().await;
    info!("Received {first}, shutting down.");
    systemd::stopping();
    if let Some(cluster) = cluster {
        cluster.shutdown().await;
    }
    tokio::select! {
        () = broker.shutdown() => {}
        second = signals.recv() => {
            warn!("Received {second} while shutting down, exiting now.");
            return Ok(ExitCode::from(second.exit_status()));
        }
    }
    info!("Skein {VERSION} terminating");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Repeats(io::Error);

    impl std::fmt::Display for Repeats {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "could not bind: {}", self.0)
        }
    }

    impl std::error::Error for Repeats {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_error_chain_does_not_repeat_a_cause() {
        let inner = io::Error::new(io::ErrorKind::AddrInUse, "Address in use");
        let error = anyhow::Error::new(Repeats(inner)).context("starting the broker");
        assert_eq!(
            error_chain(&error),
            "starting the broker: could not bind: Address in use"
        );
        let plain = anyhow::anyhow!("low").context("high");
        assert_eq!(error_chain(&plain), "high: low");
    }
}
