//! The runtime's clock: the one place that reads the time.
//!
//! At the bottom of the runtime: it imports no other runtime module. It must never hold state.

use std::time::Instant;

/// The runtime's clock: tokio's (so that tests can pause it), as the `Instant` the session
/// takes.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
