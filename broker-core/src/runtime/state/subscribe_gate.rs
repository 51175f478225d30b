//! [`SubscribeGate`]: the SUBSCRIBE packets being carried out right now, so that a publish
//! that found no subscriber can wait a moment for the ones another connection had already
//! read.
//!
//! MQTT orders nothing across connections, but a common pattern (request / response code,
//! client test suites) has client B send SUBSCRIBE and client A publish to that topic at
//! once, without waiting for B's SUBACK. When both packets arrive together, two workers can
//! carry them out side by side, and A's match can run before B's filter is in the router
//! (docs/performance.md, "Issue 17"). A connection takes a [`SubscribeTicket`] as soon as it
//! has decoded a SUBSCRIBE and gives it back once the filters are in the router (or once the
//! subscription leaves for the hooks, whose answer takes as long as it takes). A publish that
//! matched nobody while tickets are out waits, a bounded while, for the tickets out when it
//! looked ([`SubscribeGate::settle`]), then matches again.
//!
//! Most misses were not of that kind, though: the worker that finds both sockets ready wakes
//! the other to share the work, the kernel runs the woken thread at once on the same CPU,
//! and it takes the PUBLISH's task and carries it out while the first worker, holding the
//! SUBSCRIBE's task, waits for the CPU. So a publish that matched nobody, on a runtime with
//! more than one worker, first lets the other threads of its CPU run
//! ([`SubscribeGate::missed`]), and looks again; only when it is the first packet its
//! connection read in this turn (the others came with it, not beside the SUBSCRIBE).
//!
//! What the publish path pays: nothing when a message has a subscriber. One that has none
//! pays two loads of one rarely written cache line, and, when it is the first packet of its
//! read on a runtime with several workers, a `sched_yield` system call (a fraction of a
//! microsecond when no other thread waits for the CPU). A topic that has other subscribers is not held back: its message goes to them
//! at once, and a subscriber being added beside them may miss it, as MQTT allows.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::runtime::clock::now;

/// The longest a publish waits for the SUBSCRIBE packets carried out beside it: far above
/// the few microseconds one takes, far below anything a client would notice.
pub(crate) const SETTLE_LIMIT: Duration = Duration::from_millis(1);

/// Counts of the tickets taken and given back, and of the publishes that waited.
#[derive(Debug)]
pub(crate) struct SubscribeGate {
    begun: AtomicU64,
    ended: AtomicU64,
    waited: AtomicU64,
    /// How long a publish waits at most, in nanoseconds.
    limit_nanos: AtomicU64,
    /// Whether the runtime has several workers: [`UNKNOWN`] until a publish asks.
    workers: AtomicU8,
}

/// [`SubscribeGate::workers`] before the first publish that matched nobody.
const UNKNOWN: u8 = 0;
/// One worker: tasks run in the order they were woken, no thread to let run.
const ONE: u8 = 1;
/// Several workers.
const SEVERAL: u8 = 2;

impl Default for SubscribeGate {
    fn default() -> Self {
        SubscribeGate {
            begun: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            waited: AtomicU64::new(0),
            limit_nanos: AtomicU64::new(u64::try_from(SETTLE_LIMIT.as_nanos()).unwrap_or(u64::MAX)),
            workers: AtomicU8::new(UNKNOWN),
        }
    }
}

/// A SUBSCRIBE being carried out: the gate counts it until this is dropped.
#[derive(Debug)]
pub(crate) struct SubscribeTicket(Arc<SubscribeGate>);

impl Drop for SubscribeTicket {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Ordering::SeqCst);
    }
}

impl SubscribeGate {
    /// Counts a SUBSCRIBE that a connection has read until the ticket is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> SubscribeTicket {
        self.begun.fetch_add(1, Ordering::SeqCst);
        SubscribeTicket(Arc::clone(self))
    }

    /// After a publish matched nobody: whether to [`settle`](Self::settle) and match again,
    /// because a SUBSCRIBE is being carried out, or began while this thread let the other
    /// threads of its CPU run (on a runtime with several workers, for the first packet of
    /// a read: `first_in_read`).
    pub(crate) fn missed(&self, first_in_read: bool) -> bool {
        if self.busy() {
            return true;
        }
        if !first_in_read || !self.several_workers() {
            return false;
        }
        let before = self.begun.load(Ordering::SeqCst);
        std::thread::yield_now();
        self.busy() || self.begun.load(Ordering::SeqCst) != before
    }

    /// Whether the runtime this runs on has more than one worker (asked once).
    fn several_workers(&self) -> bool {
        match self.workers.load(Ordering::Relaxed) {
            ONE => false,
            SEVERAL => true,
            _ => {
                let several = tokio::runtime::Handle::try_current()
                    .is_ok_and(|handle| handle.metrics().num_workers() > 1);
                let workers = if several { SEVERAL } else { ONE };
                self.workers.store(workers, Ordering::Relaxed);
                several
            }
        }
    }

    /// Whether a SUBSCRIBE is being carried out now.
    pub(crate) fn busy(&self) -> bool {
        self.ended.load(Ordering::SeqCst) < self.begun.load(Ordering::SeqCst)
    }

    /// Waits until as many tickets have been given back as had been taken when it was
    /// called, or [`SETTLE_LIMIT`], yielding to the runtime in between (on one worker, the
    /// subscribing connection runs then). Tickets taken after the call do not hold it
    /// longer, so a stream of SUBSCRIBE packets cannot hold a publish back for their
    /// whole run.
    pub(crate) async fn settle(&self) {
        let limit = Duration::from_nanos(self.limit_nanos.load(Ordering::Relaxed));
        self.settle_within(limit).await;
    }

    /// How many publishes have waited in [`settle`](Self::settle).
    pub(crate) fn waited(&self) -> u64 {
        self.waited.load(Ordering::Relaxed)
    }

    /// Lets publishes wait up to `limit` instead of [`SETTLE_LIMIT`]: a test that holds a
    /// ticket across socket round trips.
    #[cfg(test)]
    pub(crate) fn set_limit(&self, limit: Duration) {
        let nanos = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX);
        self.limit_nanos.store(nanos, Ordering::Relaxed);
    }

    /// [`settle`](Self::settle), giving up after `limit`.
    async fn settle_within(&self, limit: Duration) {
        self.waited.fetch_add(1, Ordering::Relaxed);
        let taken = self.begun.load(Ordering::SeqCst);
        let until = now() + limit;
        while self.ended.load(Ordering::SeqCst) < taken && now() < until {
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_ticket_keeps_the_gate_busy_until_it_is_dropped() {
        let gate = Arc::new(SubscribeGate::default());
        assert!(!gate.busy());
        let ticket = gate.begin();
        assert!(gate.busy());
        drop(ticket);
        assert!(!gate.busy());
    }

    #[tokio::test]
    async fn settle_returns_once_the_tickets_out_when_it_was_called_are_back() {
        let gate = Arc::new(SubscribeGate::default());
        let ticket = gate.begin();
        // No limit to speak of: only the tickets can let it return.
        let settled = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.settle_within(Duration::from_secs(3600)).await }
        });
        tokio::task::yield_now().await;
        // A ticket taken after the call does not hold it back.
        let later = gate.begin();
        drop(ticket);
        let watchdog = tokio::time::timeout(Duration::from_secs(60), settled).await;
        assert!(matches!(watchdog, Ok(Ok(()))), "settle returned");
        assert!(gate.busy(), "the later ticket is still out");
        drop(later);
        assert!(!gate.busy());
    }

    #[tokio::test]
    async fn settle_gives_up_after_its_limit() {
        let gate = Arc::new(SubscribeGate::default());
        let _stuck = gate.begin();
        let started = std::time::Instant::now();
        gate.settle().await;
        assert!(gate.busy());
        assert!(started.elapsed() >= SETTLE_LIMIT);
    }
}
