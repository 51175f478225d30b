//! How a [`DiskStore`](crate::DiskStore) is opened: where, how durably, how much cache.

use std::path::PathBuf;
use std::time::Duration;

/// When a write is on disk, relative to when the store says it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Done means on disk: the writes are fsynced before the store answers. Writes that
    /// arrive while an fsync runs share the next one (group commit).
    Sync,
    /// Done means applied: the store answers at once, and what was applied is written and
    /// fsynced within `window`. A crash, of the process or of the machine, may lose the writes
    /// answered in the last `window` (they are committed without an fsync until then); what
    /// is left is always a consistent prefix of the writes.
    Batched {
        /// The longest an answered write waits for its fsync.
        window: Duration,
    },
}

impl Durability {
    /// The default window of [`Durability::Batched`].
    pub const DEFAULT_WINDOW: Duration = Duration::from_millis(5);
}

/// Where and how to open the store. `#[non_exhaustive]`, so that an option can be added
/// without breaking callers: start from [`StoreOptions::new`] and set the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// The data directory; made if missing. One process at a time may use it.
    pub dir: PathBuf,
    /// When writes are on disk.
    pub durability: Durability,
    /// The most memory the database's page cache takes, in bytes: what the store's RSS grows
    /// to at most, however many messages it holds (besides its index of queued copies).
    pub cache_bytes: u64,
}

impl StoreOptions {
    /// The default cache: 64 MiB.
    pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

    /// A store in `dir`, at [`Durability::Sync`], with the default cache.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StoreOptions {
            dir: dir.into(),
            durability: Durability::Sync,
            cache_bytes: Self::DEFAULT_CACHE_BYTES,
        }
    }
}
