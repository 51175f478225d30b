//! What the publish path can decide about a publish without awaiting a hook.

use crate::hooks::{Authorization, Refusal};

/// What can be said about a publish without awaiting a hook.
pub(crate) enum Screen {
    /// Route it.
    Allowed,
    /// Refuse it.
    Denied(Refusal),
    /// The hooks must be asked ([`Client::authorize_publish`](super::client::Client::authorize_publish)).
    Ask,
}

impl Screen {
    pub(crate) fn of(decision: Authorization) -> Screen {
        match decision {
            Authorization::Allowed => Screen::Allowed,
            Authorization::Denied(refusal) => Screen::Denied(refusal),
        }
    }
}
