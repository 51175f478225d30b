//! The store's database handle, shared by the committer and the reads, so that the committer
//! can close and reopen the database after a failed write.
//!
//! sled 0.34 keeps the first I/O error it meets (a full disk) and fails every later call with
//! it, until the database is opened again; it can only be opened again once every handle of
//! the failed one is gone. So no part of the store keeps a handle: each read takes one here
//! for as long as it runs, and while the committer reopens, reads are refused.

use std::sync::{Arc, PoisonError, RwLock};

use broker_core::store::StoreError;

/// The database, or nothing while it is being reopened.
#[derive(Debug, Clone)]
pub(crate) struct SharedDb(Arc<RwLock<Option<sled::Db>>>);

impl SharedDb {
    /// Shares `db`.
    pub(crate) fn new(db: sled::Db) -> SharedDb {
        SharedDb(Arc::new(RwLock::new(Some(db))))
    }

    /// A handle to the database, unless it is being reopened.
    pub(crate) fn current(&self) -> Option<sled::Db> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A handle to the database, or the error a caller answers while it is being reopened.
    pub(crate) fn get(&self) -> Result<sled::Db, StoreError> {
        self.current().ok_or_else(|| {
            StoreError::Unavailable(
                "the session store is reopening its database after a failed write".to_owned(),
            )
        })
    }

    /// Takes the database away (reads are refused until [`SharedDb::set`]).
    pub(crate) fn take(&self) -> Option<sled::Db> {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Shares `db` from now on.
    pub(crate) fn set(&self, db: sled::Db) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(db);
    }
}
