//! The store's redb database: its one table, how it is opened, prefix scans, and what a redb
//! error means to a caller.
//!
//! One table holds every key (`keys.rs`), so that one write transaction (one batch of
//! operations) commits atomically: redb commits a transaction whole or not at all, and after a
//! crash opens at the last commit whose checksums hold.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use broker_core::store::StoreError;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use crate::options::StoreOptions;
use crate::shared_db::Db;

/// The store's one table: keys and sealed values as bytes.
pub(crate) const TABLE: TableDefinition<'static, &'static [u8], &'static [u8]> =
    TableDefinition::new("skein");

/// The table, open for reading, at the last commit.
pub(crate) type ReadTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// The database's file in the data directory.
pub(crate) const FILE: &str = "store.redb";

/// Whether [`open`] compacts the file first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compact {
    /// Yes: the store opens.
    Yes,
    /// No: the committer reopens the database after a failed write (a full disk), on its own
    /// thread while writes wait; what a full disk needs is room made by the operator.
    No,
}

/// Opens (or makes) the database of `options`, with its table.
pub(crate) fn open(options: &StoreOptions, compact_first: Compact) -> Result<Db, redb::Error> {
    let mut builder = redb::Builder::new();
    builder.set_cache_size(usize::try_from(options.cache_bytes).unwrap_or(usize::MAX));
    let path = options.dir.join(FILE);
    let mut db = builder.create(&path)?;
    let txn = db.begin_write()?;
    txn.open_table(TABLE)?;
    txn.commit()?;
    if compact_first == Compact::Yes {
        compact(&mut db, &path);
    }
    Ok(Arc::new(db))
}

/// Compactions at open at most: each one moves pages towards the start of the file and cuts
/// the free space at its end; a few are enough to reach the live data's size.
const COMPACTIONS: usize = 8;

/// Gives the disk back what removed records held: while the store runs, redb reuses the pages
/// it frees, so the file stays as large as the most the store ever held; at open it shrinks
/// to what is live. It costs what moving the live pages costs (an emptied 190 MB file: 35 ms).
/// A failure only leaves the file as large as it was.
fn compact(db: &mut redb::Database, path: &Path) {
    let before = file_size(path);
    let started = Instant::now();
    for _ in 0..COMPACTIONS {
        match db.compact(redb::CompactionMode::Balanced) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                tracing::warn!(%error, "The session store could not compact its database file.");
                break;
            }
        }
    }
    let after = file_size(path);
    if after < before {
        tracing::info!(
            before,
            after,
            elapsed_ms = started.elapsed().as_millis(),
            "The session store gave back the space of removed records."
        );
    }
}

/// The size of the file at `path`, or 0 when it cannot be read.
fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The table as the last commit left it.
pub(crate) fn read(db: &redb::Database) -> Result<ReadTable, redb::Error> {
    Ok(db.begin_read()?.open_table(TABLE)?)
}

/// Calls `each` with every key and value under `prefix`, in key order.
pub(crate) fn scan_prefix<T, F>(table: &T, prefix: &[u8], mut each: F) -> Result<(), redb::Error>
where
    T: ReadableTable<&'static [u8], &'static [u8]>,
    F: FnMut(&[u8], &[u8]) -> Result<(), redb::Error>,
{
    for entry in table.range(prefix..)? {
        let (key, value) = entry?;
        if !key.value().starts_with(prefix) {
            break;
        }
        each(key.value(), value.value())?;
    }
    Ok(())
}

/// A store error for a failed redb call; a full disk says so.
pub(crate) fn backend(doing: &str, error: impl Into<redb::Error>) -> StoreError {
    let error = error.into();
    if let redb::Error::Io(io) = &error {
        if io.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error())
            || io.kind() == std::io::ErrorKind::StorageFull
        {
            return StoreError::Full(format!("{doing}: the disk is full"));
        }
    }
    StoreError::Backend(format!("{doing}: {error}"))
}
