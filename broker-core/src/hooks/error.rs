//! What a hook returns when it cannot decide.

use std::time::Duration;

/// A hook could not answer. The chain applies the hook's
/// [`FailurePolicy`](super::FailurePolicy) and logs the error; the client never sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// The hook did not answer within its configured timeout (set by the chain).
    #[error("the hook did not answer within {0:?}")]
    Timeout(Duration),
    /// A backend the hook depends on (database, HTTP service, file) is unavailable.
    #[error("the hook's backend is unavailable: {0}")]
    Unavailable(String),
    /// The hook's decision does not fit the request, such as a challenge for a CONNECT that
    /// started no MQTT 5 enhanced authentication (set by the chain).
    #[error("the hook's decision does not fit the request: {0}")]
    InvalidDecision(&'static str),
    /// Any other failure inside the hook.
    #[error("the hook failed: {0}")]
    Failed(String),
}
