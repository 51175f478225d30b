//! The store's redb database: its one table, how it is opened, prefix scans, and what a redb
//! error means to a caller.
//!
//! One table holds every key (`keys.rs`), so that one write transaction (one batch of
//! operations) commits atomically: redb commits a transaction whole or not at all, and after a
//! crash opens at the last commit whose checksums hold.

use std::sync::Arc;

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

/// Opens (or makes) the database of `options`, with its table.
pub(crate) fn open(options: &StoreOptions) -> Result<Db, redb::Error> {
    let mut builder = redb::Builder::new();
    builder.set_cache_size(usize::try_from(options.cache_bytes).unwrap_or(usize::MAX));
    let db = builder.create(options.dir.join(FILE))?;
    let txn = db.begin_write()?;
    txn.open_table(TABLE)?;
    txn.commit()?;
    Ok(Arc::new(db))
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
