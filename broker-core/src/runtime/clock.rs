//! The runtime's clock: the one place that reads the time.
//!
//! At the bottom of the runtime: it imports no other runtime module. It must never hold state.

use std::time::Instant;

use crate::clock::{Clock as _, TokioClock};

/// The runtime's clock: tokio's (so that tests can pause it), as the `Instant` the session
/// takes. The same clock the hook chain is given ([`TokioClock`]).
pub(crate) fn now() -> Instant {
    TokioClock.now()
}
