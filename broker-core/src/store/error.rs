//! Why a store operation failed.

use thiserror::Error;

/// Why a [`SessionStore`](super::SessionStore) operation failed. The write may or may not
/// have happened (see the durability contract in [`store`](super)).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The storage backend failed (I/O, corruption, ...).
    #[error("storage backend error: {0}")]
    Backend(String),
    /// The store cannot accept writes now (a replicated store without a majority, a store
    /// being shut down).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store has no room left (a full disk): what needs a write is refused (MQTT 5:
    /// 0x97 Quota exceeded).
    #[error("store full: {0}")]
    Full(String),
    /// A stored record does not decode into a valid session or message.
    #[error("corrupt record for client {client_id}: {reason}")]
    Corrupt {
        /// The client whose record is corrupt.
        client_id: String,
        /// What is wrong with it.
        reason: String,
    },
}
