//! How the chain treats one hook: its timeout and what a failure means.

use std::time::Duration;

/// What the chain does when a hook's authenticate or authorize call fails (returns an error
/// or times out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FailurePolicy {
    /// Refuse with 0x87 Not authorized (fail closed). The default.
    #[default]
    Deny,
    /// Ask the next hook, as if this one had no opinion (fail open).
    Next,
}

/// The chain's settings for one hook.
///
/// Failed rewrites keep the topic or filter as it was, and failed events are ignored,
/// whatever the policies say; every failure is logged (with the `runtime` feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct HookOptions {
    /// The longest a single call may take before it counts as failed. Enforced by the timer
    /// of the chain's clock (a broker's chain: tokio's); with a clock that has no timer
    /// ([`SystemClock`](crate::clock::SystemClock)) calls are never cut. Default 5 s.
    pub timeout: Duration,
    /// What a failed `authenticate` means. Default [`FailurePolicy::Deny`].
    pub on_authenticate_failure: FailurePolicy,
    /// What a failed `authorize_publish` or `authorize_subscribe` means. Default
    /// [`FailurePolicy::Deny`].
    pub on_authorize_failure: FailurePolicy,
}

impl HookOptions {
    /// The default timeout of a hook call.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Sets the timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the failure policy of `authenticate`.
    #[must_use]
    pub fn on_authenticate_failure(mut self, policy: FailurePolicy) -> Self {
        self.on_authenticate_failure = policy;
        self
    }

    /// Sets the failure policy of both authorization hooks.
    #[must_use]
    pub fn on_authorize_failure(mut self, policy: FailurePolicy) -> Self {
        self.on_authorize_failure = policy;
        self
    }
}

impl Default for HookOptions {
    fn default() -> Self {
        HookOptions {
            timeout: Self::DEFAULT_TIMEOUT,
            on_authenticate_failure: FailurePolicy::Deny,
            on_authorize_failure: FailurePolicy::Deny,
        }
    }
}
