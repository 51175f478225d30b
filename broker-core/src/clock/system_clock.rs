//! The system's monotonic clock, without a timer.

use std::time::Instant;

use super::{Clock, Sleep};

/// std's monotonic clock ([`Instant::now`]), with no timer: waits bounded by it run to
/// completion. The default clock of a hook chain built outside a broker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, _deadline: Instant) -> Option<Sleep> {
        None
    }
}
