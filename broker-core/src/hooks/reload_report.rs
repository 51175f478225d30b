//! What [`HookChain::reload`](super::HookChain::reload) did, hook by hook.

use super::{Reload, ReloadError};

/// One hook's answer to a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookReload {
    /// The hook's [`name`](super::Hook::name).
    pub hook: String,
    /// What it did, or why it could not (its old configuration then stays in force).
    pub outcome: Result<Reload, ReloadError>,
}

/// What [`HookChain::reload`](super::HookChain::reload) did: every hook's answer, in the
/// chain's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    hooks: Vec<HookReload>,
}

impl ReloadReport {
    pub(super) fn new(hooks: Vec<HookReload>) -> Self {
        ReloadReport { hooks }
    }

    /// Every hook's answer, in the chain's order ([`Reload::Unsupported`] included).
    pub fn iter(&self) -> impl Iterator<Item = &HookReload> {
        self.hooks.iter()
    }

    /// The hooks that replaced their configuration, with their summaries, in order.
    pub fn reloaded(&self) -> impl Iterator<Item = (&str, &str)> {
        self.hooks.iter().filter_map(|entry| match &entry.outcome {
            Ok(Reload::Reloaded { summary }) => Some((entry.hook.as_str(), summary.as_str())),
            _ => None,
        })
    }

    /// The hooks that failed to reload (and kept their old configuration), in order.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &ReloadError)> {
        self.hooks.iter().filter_map(|entry| match &entry.outcome {
            Err(error) => Some((entry.hook.as_str(), error)),
            Ok(_) => None,
        })
    }

    /// Whether any hook replaced its configuration (the chain then cleared its cached
    /// decisions).
    #[must_use]
    pub fn any_reloaded(&self) -> bool {
        self.reloaded().next().is_some()
    }

    /// Whether every hook either reloaded or had nothing to reload.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.failures().next().is_none()
    }
}
