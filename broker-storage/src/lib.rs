//! Skein's durable session store: persistent sessions, the messages queued for them and the
//! retained messages, in [redb](https://docs.rs/redb), behind `broker-core`'s
//! [`SessionStore`](broker_core::store::SessionStore) seam.
//!
//! ```no_run
//! use broker_storage::{Durability, DiskStore, StoreOptions};
//!
//! let mut options = StoreOptions::new("skein-data");
//! options.durability = Durability::Batched { window: Durability::DEFAULT_WINDOW };
//! let store = DiskStore::open(&options)?;
//! # Ok::<(), broker_storage::OpenError>(())
//! ```
//!
//! How it works (docs/persistence.md has the whole story):
//! - **One writer, ordered operations.** Every write becomes an operation for one committer
//!   thread, which applies what has arrived as one redb transaction, in the order it was
//!   made, and at [`Durability::Sync`] commits it durably (one fsync for the whole batch)
//!   before it answers (group commit). Applying an operation needs no clock, so the same operations could be carried
//!   by a replicated log.
//! - **Checksummed records.** Every value is a versioned byte form from `broker-core` in a
//!   CRC-32 envelope; a damaged one is quarantined, counted and logged, never served.
//! - **One process per directory.** An exclusive lock on `skein.lock` refuses a second opener
//!   with the first one's process id.

mod ack_runs;
mod check;
mod client_copies;
mod committer;
mod database;
mod disk_store;
mod error;
mod index_segment;
mod keys;
mod lock;
mod log_position;
mod log_record;
mod op;
mod options;
mod queue_index;
mod record;
mod recover;
mod shared_db;
mod state_machine;
mod submit;

pub use check::CheckReport;
pub use disk_store::{DiskStore, STORE_FORMAT};
pub use error::OpenError;
pub use lock::LOCK_FILE;
pub use log_position::LogPosition;
pub use options::{Durability, StoreOptions};
