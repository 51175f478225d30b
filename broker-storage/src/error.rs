//! Why the store could not be opened or checked.

use std::path::PathBuf;

use thiserror::Error;

/// Why [`DiskStore::open`](crate::DiskStore::open) or [`check`](crate::check) failed.
#[derive(Debug, Error)]
pub enum OpenError {
    /// Another process holds the data directory.
    #[error(
        "the data directory {dir} is in use by another Skein{}; stop it, or give this one another directory",
        holder.map(|pid| format!(" (process {pid})")).unwrap_or_default()
    )]
    Locked {
        /// The data directory.
        dir: PathBuf,
        /// The process that holds it, when its lock file says.
        holder: Option<u32>,
    },
    /// The data directory or its lock file could not be made or opened.
    #[error("the data directory {dir}: {source}")]
    Dir {
        /// The data directory.
        dir: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The database in the data directory could not be opened.
    #[error("the session database in {dir}: {source}")]
    Database {
        /// The data directory.
        dir: PathBuf,
        /// What redb said.
        source: redb::Error,
    },
    /// The data directory holds a sled database, which stores of formats 1 and 2 kept.
    #[error(
        "the data directory {dir} holds a session store written by an earlier Skein (a sled database, in {dir}/sled), which this Skein does not read; move that folder away (its sessions are not carried over) or give this Skein another directory"
    )]
    Legacy {
        /// The data directory.
        dir: PathBuf,
    },
    /// The data directory holds a store of a format this Skein does not read.
    #[error(
        "the session database in {dir} has format {found}; this Skein reads format {expected}"
    )]
    Format {
        /// The data directory.
        dir: PathBuf,
        /// The format found.
        found: String,
        /// The format this code reads and writes.
        expected: u32,
    },
    /// The store's writer thread could not be started.
    #[error("the store's writer thread: {0}")]
    Thread(std::io::Error),
}
