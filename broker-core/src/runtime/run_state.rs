//! Where the broker is in its life, as every task watches it.
//!
//! At the bottom of the runtime: it imports no other runtime module.

/// Where the broker is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Serving.
    Running,
    /// Shutting down: no new connection; each connection says goodbye and closes.
    Draining,
    /// The drain timed out: every task ends now.
    Stopped,
}
