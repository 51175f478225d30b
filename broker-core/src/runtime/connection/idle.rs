//! A connection's timer, and when an idle connection parks.
//!
//! One timer per connection serves the session's deadlines (CONNECT timeout, Keep Alive),
//! the end of a pause for the rate limit and the park check; see [`Wire::timer`](super::wire::Wire::timer).

use crate::runtime::connection::task::Connection;
use crate::runtime::transport::stream::Stream;

impl Connection {
    /// Schedules the first park check of a connected plain TCP connection, when the broker
    /// parks idle connections.
    pub(crate) fn arm_park_timer(&mut self) {
        if let Some(after) = self.shared.park_after() {
            if self.shared.parker().is_some() && matches!(self.wire.stream, Stream::Tcp(_)) {
                self.park_at = Some(tokio::time::Instant::now() + after);
            }
        }
    }

    /// The earliest of the session's deadline, the park check and the end of a pause for
    /// the rate limit.
    pub(crate) fn next_deadline(&self) -> Option<tokio::time::Instant> {
        let session = match (self.client.session.poll_timeout(), self.wire.paused_until()) {
            (Some(session), Some(resume)) => Some(session.min(resume)),
            (session, resume) => session.or(resume),
        }
        .map(tokio::time::Instant::from_std);
        match (session, self.park_at) {
            (Some(session), Some(park)) => Some(session.min(park)),
            (session, park) => session.or(park),
        }
    }

    /// The timer fired: the session acts on its deadlines, the park check runs if it is due,
    /// and the timer is set for what comes next.
    pub(crate) fn on_timer(&mut self) {
        let now = tokio::time::Instant::now();
        self.on_throttle_timer(now.into_std());
        self.client.session.handle_timeout(now.into_std());
        if self.park_at.is_some_and(|at| at <= now) {
            // The next check a period later, in any case: a connection that cannot park
            // after all (its session not quiet) tries again then.
            self.park_at = self.shared.park_after().map(|after| now + after);
            if !std::mem::take(&mut self.busy) && self.is_idle() {
                self.park = true;
            }
        }
        match self.next_deadline() {
            Some(at) => {
                if let Some(timer) = &mut self.wire.timer {
                    timer.as_mut().reset(at);
                }
            }
            None => self.wire.timer = None,
        }
    }

    /// Whether nothing is under way: no bytes to write or decode, no exchange in progress.
    fn is_idle(&self) -> bool {
        self.client.session.is_connected()
            && self.wire.write_buf.is_empty()
            && self.wire.read_buf.is_empty()
            && self.wire.read_open
            && self.wire.paused_until().is_none()
            && self.client.auth.is_none()
            && self.client.held.is_none()
            && self.client.close.is_none()
            && self.wire.lost.is_none()
            && self.shared.is_running()
    }
}
