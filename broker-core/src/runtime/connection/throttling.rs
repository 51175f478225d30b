//! A connection paced by its client's rate limit ([`Throttle`](super::throttle::Throttle)):
//! after a read, the buckets take what it brought, and past them the connection stops
//! reading until they have refilled. The client is not refused and loses nothing: its
//! bytes wait in the socket (then in its own send buffer), so it slows down to the rate.
//!
//! While reading pauses, the client's Keep Alive does not run out: the broker is the one not
//! listening ([`Session::handle_input_held`](crate::session::Session::handle_input_held)).

use std::sync::atomic::Ordering;

use crate::runtime::clock::now;
use crate::runtime::connection::task::Connection;

impl Connection {
    /// After a read of `read` bytes and the decoding of its packets: takes them from the
    /// buckets and, past them, pauses reading (counted in the listener's `throttled`).
    #[cold]
    pub(super) fn take_from_throttle(&mut self, read: usize) {
        let now = now();
        let Some(throttle) = self.wire.throttle.as_deref_mut() else {
            return;
        };
        let Some(until) = throttle.take(read, now) else {
            return;
        };
        self.shared
            .listener()
            .traffic()
            .throttled
            .fetch_add(1, Ordering::Relaxed);
        self.client.session.handle_input_held(now);
        tracing::debug!(
            "Client {} is over its rate limit; reading from it pauses for {} ms.",
            self.label(),
            until.saturating_duration_since(now).as_millis()
        );
    }

    /// The timer fired at `now`: a pause for the rate limit that is over ends, one that goes
    /// on keeps the client's Keep Alive from running out.
    #[inline]
    pub(super) fn on_throttle_timer(&mut self, now: std::time::Instant) {
        if let Some(throttle) = self.wire.throttle.as_deref_mut() {
            if throttle.paused_until().is_some() {
                throttle.resume_if_due(now);
                self.client.session.handle_input_held(now);
            }
        }
    }
}
