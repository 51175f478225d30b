//! The store's database handle, shared by the committer and the reads, so that the committer
//! can close and reopen the database after a failed write.
//!
//! redb refuses every call after an I/O error in a commit (a full disk) until the database is
//! opened again, and it can only be opened again once every handle of the failed one is gone.
//! So no part of the store keeps a handle: each read takes one here for as long as it runs,
//! and while the committer reopens, reads are refused.

use std::sync::{Arc, PoisonError, RwLock};

use broker_core::store::StoreError;

/// A handle to the open database.
pub(crate) type Db = Arc<redb::Database>;

/// The database, or nothing while it is being reopened.
#[derive(Debug, Clone)]
pub(crate) struct SharedDb(Arc<RwLock<Option<Db>>>);

impl SharedDb {
    /// Shares `db`.
    pub(crate) fn new(db: Db) -> SharedDb {
        SharedDb(Arc::new(RwLock::new(Some(db))))
    }

    /// A handle to the database, unless it is being reopened.
    pub(crate) fn current(&self) -> Option<Db> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A handle to the database, or the error a caller answers while it is being reopened.
    pub(crate) fn get(&self) -> Result<Db, StoreError> {
        self.current().ok_or_else(|| {
            StoreError::Unavailable(
                "the session store is reopening its database after a failed write".to_owned(),
            )
        })
    }

    /// Takes the database away (reads are refused until [`SharedDb::set`]).
    pub(crate) fn take(&self) -> Option<Db> {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Shares `db` from now on.
    pub(crate) fn set(&self, db: Db) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(db);
    }
}
