//! What can go wrong when starting or using an embedded broker.

use std::net::SocketAddr;

use thiserror::Error;

/// An error of the embedding API.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// A listener could not bind its address.
    #[error("listener `{name}` could not bind {addr}: {source}")]
    Bind {
        /// The listener's name.
        name: String,
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A listener's TLS settings cannot be used (a certificate or key file unreadable or
    /// invalid).
    #[error("listener `{name}`: {source}")]
    Tls {
        /// The listener's name.
        name: String,
        /// What is wrong, naming the file.
        #[source]
        source: crate::TlsError,
    },
    /// Two listeners have the same name.
    #[error("two listeners are named `{0}`")]
    DuplicateListener(String),
    /// No stream listener has this name
    /// ([`BrokerHandle::serve_stream`](crate::BrokerHandle::serve_stream)).
    #[error("no stream listener is named `{0}`")]
    UnknownListener(String),
    /// The broker is shutting down or stopped: it takes no more work.
    #[error("the broker is shut down")]
    ShutDown,
    /// A retained publish from synchronous code found the session store's write queue full:
    /// nothing was published (the change would otherwise be lost to the store).
    #[error("the session store's write queue is full")]
    StoreBusy,
    /// The session store could not take the message's copies for persistent sessions: they
    /// were not queued (the other subscribers got theirs).
    #[error("the session store refused the message: {0}")]
    Store(#[source] crate::store::StoreError),
}
