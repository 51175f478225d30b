//! `skein store check`: reads every record of the session store of a broker that is not
//! running, quarantines the damaged ones and prints a summary.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use broker_storage::{DiskStore, StoreOptions};
use clap::{Args, Subcommand};

use crate::config::NodeConfig;
use crate::config_storage::{StorageConfig, DEFAULT_DATA_DIR};

/// `skein store ...`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub(crate) struct StoreArgs {
    #[command(subcommand)]
    command: StoreCommand,
}

/// What to do with the store.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
enum StoreCommand {
    /// Read every record; move damaged ones to the quarantine; print what was found. Exits 0
    /// when nothing new was damaged, 1 otherwise. The broker must not be running.
    Check {
        /// The data directory; default: the configuration's `storage.data_dir`.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// The configuration that names the data directory.
        #[arg(short = 'c', long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Runs `skein store ...`.
pub(crate) fn run(args: &StoreArgs) -> anyhow::Result<ExitCode> {
    let StoreCommand::Check { data_dir, config } = &args.command;
    let dir = match (data_dir, config) {
        (Some(dir), _) => dir.clone(),
        (None, Some(path)) => match NodeConfig::load(path)?.storage {
            StorageConfig::Disk(options) => options.dir,
            StorageConfig::Memory => {
                anyhow::bail!(
                    "{}: storage.durability is \"memory\": there is no store on disk",
                    path.display()
                )
            }
        },
        (None, None) => PathBuf::from(DEFAULT_DATA_DIR),
    };
    if !dir.join(broker_storage::LOCK_FILE).exists() {
        anyhow::bail!("{} holds no session store", dir.display());
    }
    let store = DiskStore::open(&StoreOptions::new(&dir))?;
    let report = store
        .check()
        .with_context(|| format!("reading the session store in {}", dir.display()))?;
    writeln!(std::io::stdout(), "{}: {report}", dir.display())
        .context("writing to standard output")?;
    Ok(if report.damaged.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
