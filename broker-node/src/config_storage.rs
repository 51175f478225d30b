//! The `[storage]` table: where persistent sessions, their queued messages and the retained
//! messages are kept, and how durably (docs/persistence.md).
//!
//! ```toml
//! [storage]
//! durability = "sync"        # "sync", "batched" or "memory"
//! data_dir = "skein-data"    # relative to the working directory
//! batch_window_ms = 5        # "batched": the longest a write waits for its fsync
//! cache_mb = 64              # the database's page cache
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use broker_core::store::{MemoryStore, SessionStore};
use broker_storage::{DiskStore, Durability, StoreOptions};
use serde::Deserialize;

use crate::config_duration::{DurationIn, Millis};
use crate::config_resolve::Checker;

/// The data directory when the config names none.
pub(crate) const DEFAULT_DATA_DIR: &str = "skein-data";

/// `[storage] durability`, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DurabilitySetting {
    /// On disk before the broker answers what depends on it.
    #[default]
    Sync,
    /// On disk within `batch_window_ms`.
    Batched,
    /// In memory: lost when the broker stops.
    Memory,
}

/// The `[storage]` table, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct StorageSection {
    pub(crate) durability: DurabilitySetting,
    pub(crate) data_dir: PathBuf,
    pub(crate) batch_window_ms: Millis,
    pub(crate) cache_mb: u64,
}

impl Default for StorageSection {
    fn default() -> Self {
        StorageSection {
            durability: DurabilitySetting::Sync,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            batch_window_ms: DurationIn(
                u64::try_from(Durability::DEFAULT_WINDOW.as_millis()).unwrap_or(5),
            ),
            cache_mb: StoreOptions::DEFAULT_CACHE_BYTES / (1024 * 1024),
        }
    }
}

/// Where sessions are kept, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StorageConfig {
    /// In the process's memory.
    Memory,
    /// In the redb store on disk.
    Disk(StoreOptions),
}

impl StorageConfig {
    /// Uses `dir` as the data directory (`--data-dir`); no change for `memory`.
    pub(crate) fn override_dir(&mut self, dir: Option<PathBuf>) {
        if let (StorageConfig::Disk(options), Some(dir)) = (self, dir) {
            options.dir = dir;
        }
    }

    /// The data directory; `None` for `memory`.
    pub(crate) fn data_dir(&self) -> Option<&Path> {
        match self {
            StorageConfig::Memory => None,
            StorageConfig::Disk(options) => Some(&options.dir),
        }
    }

    /// Opens the store, and says in the log where it is and how durable.
    pub(crate) fn open(&self) -> anyhow::Result<Arc<dyn SessionStore>> {
        match self {
            StorageConfig::Memory => {
                tracing::info!("Persistent sessions are kept in memory only (storage.durability = \"memory\").");
                Ok(Arc::new(MemoryStore::new()))
            }
            StorageConfig::Disk(options) => {
                let store = DiskStore::open(options).context("opening the session store")?;
                let dir =
                    std::fs::canonicalize(&options.dir).unwrap_or_else(|_| options.dir.clone());
                let how = match options.durability {
                    Durability::Sync => "sync".to_owned(),
                    Durability::Batched { window } => format!("batched, {} ms", window.as_millis()),
                };
                tracing::info!("Persistent sessions are kept in {} ({how}).", dir.display());
                if store.quarantined() > 0 {
                    tracing::warn!(
                        "The session store's quarantine holds {} damaged record(s); `skein store check` lists them.",
                        store.quarantined()
                    );
                }
                Ok(Arc::new(store))
            }
        }
    }
}

/// Checks the `[storage]` table.
pub(crate) fn resolve(check: &mut Checker, section: &StorageSection) -> StorageConfig {
    if section.data_dir.as_os_str().is_empty() {
        check.problem(
            "storage.data_dir",
            "must not be empty (leave the key out for the default, skein-data)".to_owned(),
        );
    }
    let window = check.range(
        "storage.batch_window_ms",
        section.batch_window_ms.0,
        1,
        10_000u64,
        5u64,
    );
    let cache_mb = check.range("storage.cache_mb", section.cache_mb, 1, 1_048_576u64, 64u64);
    let durability = match section.durability {
        DurabilitySetting::Memory => return StorageConfig::Memory,
        DurabilitySetting::Sync => Durability::Sync,
        DurabilitySetting::Batched => Durability::Batched {
            window: Duration::from_millis(window),
        },
    };
    let mut options = StoreOptions::new(section.data_dir.clone());
    options.durability = durability;
    options.cache_bytes = cache_mb * 1024 * 1024;
    StorageConfig::Disk(options)
}
