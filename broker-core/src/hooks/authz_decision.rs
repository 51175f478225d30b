//! The decision of the two authorization hooks.

use std::time::Duration;

use super::Refusal;
use crate::types::ReasonCode;

/// What one hook says to an [`AuthorizePublishRequest`](super::AuthorizePublishRequest) or
/// an [`AuthorizeSubscribeRequest`](super::AuthorizeSubscribeRequest).
///
/// Both authorization hooks answer with this type (as both WIT `authz` functions return the
/// same `decision` variant): an allow or a refusal, each with the time the chain may reuse
/// it for the same client, action and topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthzDecision {
    /// Allowed. The chain stops here.
    Allow {
        /// How long the chain may answer the same request from its cache; `None` or zero:
        /// ask every time.
        cache_ttl: Option<Duration>,
    },
    /// Refused. The chain stops here.
    Deny {
        /// The reason code and reason string.
        refusal: Refusal,
        /// How long the chain may answer the same request from its cache; `None` or zero:
        /// ask every time.
        cache_ttl: Option<Duration>,
    },
    /// No opinion: ask the next hook.
    Next,
}

impl AuthzDecision {
    /// Allowed, not cached.
    #[must_use]
    pub fn allow() -> Self {
        AuthzDecision::Allow { cache_ttl: None }
    }

    /// Refused with `code` (see [`Refusal::new`]), not cached.
    #[must_use]
    pub fn deny(code: ReasonCode) -> Self {
        AuthzDecision::refuse(Refusal::new(code))
    }

    /// Refused with `refusal`, not cached.
    #[must_use]
    pub fn refuse(refusal: Refusal) -> Self {
        AuthzDecision::Deny {
            refusal,
            cache_ttl: None,
        }
    }

    /// The same decision, cacheable for `ttl`. No effect on [`AuthzDecision::Next`].
    #[must_use]
    pub fn cached(self, ttl: Duration) -> Self {
        match self {
            AuthzDecision::Allow { .. } => AuthzDecision::Allow {
                cache_ttl: Some(ttl),
            },
            AuthzDecision::Deny { refusal, .. } => AuthzDecision::Deny {
                refusal,
                cache_ttl: Some(ttl),
            },
            AuthzDecision::Next => AuthzDecision::Next,
        }
    }

    /// The reason code the decision stands for: 0x00 Success or the refusal's code;
    /// `None` for [`AuthzDecision::Next`].
    #[must_use]
    pub fn reason_code(&self) -> Option<ReasonCode> {
        match self {
            AuthzDecision::Allow { .. } => Some(ReasonCode::Success),
            AuthzDecision::Deny { refusal, .. } => Some(refusal.code()),
            AuthzDecision::Next => None,
        }
    }

    /// The cache lifetime the hook set.
    #[must_use]
    pub fn cache_ttl(&self) -> Option<Duration> {
        match self {
            AuthzDecision::Allow { cache_ttl } | AuthzDecision::Deny { cache_ttl, .. } => {
                *cache_ttl
            }
            AuthzDecision::Next => None,
        }
    }
}
