//! The chain's answer to an authorization request.

use super::Refusal;
use crate::types::ReasonCode;

/// What the chain decided about a publish or a subscription: never "no opinion".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// Go ahead: route the message, or grant the filter.
    Allowed,
    /// Refused. For a publish: PUBACK / PUBREC with the code (QoS 1 and 2), the message is
    /// not routed. For a filter: its SUBACK code (the session maps it to 0x80 for MQTT 3).
    /// The code is one PUBACK or SUBACK allows.
    Denied(Refusal),
}

impl Authorization {
    /// Whether the request is allowed.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Authorization::Allowed)
    }

    /// 0x00 Success, or the refusal's code.
    #[must_use]
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            Authorization::Allowed => ReasonCode::Success,
            Authorization::Denied(refusal) => refusal.code(),
        }
    }

    /// The refusal, if refused.
    #[must_use]
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Authorization::Allowed => None,
            Authorization::Denied(refusal) => Some(refusal),
        }
    }
}
