//! The runtime's clock: tokio's.

use std::time::Instant;

use super::{Clock, Sleep};

/// tokio's clock and timer, so a test's paused clock (`tokio::time::pause`) applies. The
/// runtime reads the time from it and gives it to the hook chain it builds: the broker's one
/// clock. [`Clock::sleep_until`] must be polled inside a tokio runtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep_until(&self, deadline: Instant) -> Option<Sleep> {
        Some(Box::pin(tokio::time::sleep_until(deadline.into())))
    }
}
