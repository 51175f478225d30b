//! The broker's clock: where the engine's "now" and the deadlines of its waits come from.
//!
//! The protocol part of the crate (session, router, hooks decisions) never reads a clock of
//! its own and never starts a timer: it is handed the time, or a [`Clock`] it asks. The
//! runtime hands it `TokioClock` (feature `runtime`), the one clock of the broker: the
//! same instants the runtime's connections see, and a test's paused tokio clock applies to
//! all of them. Without the runtime, [`SystemClock`] reads std's monotonic clock and has no
//! timer. This module owns the trait and those two clocks; it must never spawn or do I/O.

mod deadline;
mod system_clock;
#[cfg(feature = "runtime")]
mod tokio_clock;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

pub(crate) use deadline::within;
pub use system_clock::SystemClock;
#[cfg(feature = "runtime")]
pub use tokio_clock::TokioClock;

/// A future that completes at a deadline (see [`Clock::sleep_until`]).
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of monotonic time, and optionally a timer.
///
/// Contract: [`Clock::now`] never goes backwards; a [`Sleep`] from [`Clock::sleep_until`]
/// completes no earlier than its deadline by this clock's [`Clock::now`], and wakes its
/// task when it does. A clock with no timer returns `None`: the waits it would bound then
/// run to completion.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Instant;

    /// A future that completes at `deadline`, or `None` if this clock has no timer.
    fn sleep_until(&self, deadline: Instant) -> Option<Sleep>;
}
