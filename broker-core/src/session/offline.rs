//! A persistent session with no network connection: its will delay and its expiry.

use std::time::{Duration, Instant};

use super::{Message, SessionState, WillMessage};

/// A session whose network connection is gone and which is kept for its Session Expiry
/// Interval (MQTT 5.0 §3.1.2.11.2; 3.x: clean session 0). It may hold a will waiting for its
/// Will Delay Interval (MQTT 5.0 §3.1.3.2.2).
///
/// The will is published when its delay has passed or the session ends, whichever comes
/// first, and not at all if a connection resumes the session before then ([MQTT-3.1.3-9]).
/// Like every session type it reads no clock: time is an argument.
#[derive(Debug)]
pub struct OfflineSession {
    state: SessionState,
    will: Option<WillMessage>,
    will_due: Option<Instant>,
    expires_at: Option<Instant>,
}

/// What happened to an [`OfflineSession`] at a deadline.
#[derive(Debug, Default)]
#[must_use]
pub struct OfflineEvent {
    /// The will to publish now.
    pub will: Option<Message>,
    /// The session has expired: remove it and its subscriptions ([MQTT-3.1.2-23]).
    pub expired: bool,
}

impl OfflineSession {
    /// The session `state` after its connection closed at `now`, with the will to publish
    /// (if any) and the Session Expiry Interval in force, in seconds (`u32::MAX`: never).
    #[must_use]
    pub fn new(
        state: SessionState,
        will: Option<WillMessage>,
        session_expiry: u32,
        now: Instant,
    ) -> Self {
        let will_due = will
            .as_ref()
            .and_then(|w| now.checked_add(Duration::from_secs(u64::from(w.delay))));
        let expires_at = (session_expiry != u32::MAX)
            .then(|| now.checked_add(Duration::from_secs(u64::from(session_expiry))))
            .flatten();
        OfflineSession {
            state,
            will,
            will_due,
            expires_at,
        }
    }

    /// The session state.
    #[must_use]
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// Whether a will waits to be published.
    #[must_use]
    pub fn has_will(&self) -> bool {
        self.will.is_some()
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has something to do.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let will_due = self.will.as_ref().and(self.will_due);
        match (will_due, self.expires_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Publishes the will whose delay has passed and expires the session whose interval
    /// has passed. When the session expires with a will still waiting, the will is due now.
    pub fn handle_timeout(&mut self, now: Instant) -> OfflineEvent {
        let expired = self.expires_at.is_some_and(|at| at <= now);
        let will_due = self.will_due.is_some_and(|at| at <= now);
        let will = if expired || will_due {
            self.will.take().map(|w| published_now(w.message, now))
        } else {
            None
        };
        OfflineEvent { will, expired }
    }

    /// A new connection resumes the session: a will still waiting is not published
    /// ([MQTT-3.1.3-9]).
    #[must_use]
    pub fn resume(self) -> SessionState {
        self.state
    }

    /// The session ends before it expires (a connection with Clean Start takes the client
    /// identifier): the will still waiting, if any, is due now.
    #[must_use]
    pub fn end(self, now: Instant) -> (SessionState, Option<Message>) {
        let will = self.will.map(|w| published_now(w.message, now));
        (self.state, will)
    }
}

/// The will as published at `now`: its Message Expiry Interval counts from publication.
fn published_now(mut message: Message, now: Instant) -> Message {
    message.received_at = now;
    message
}
