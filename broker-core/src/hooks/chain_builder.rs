//! Building a hook chain.

use std::sync::Arc;

use super::cache::DecisionCache;
use super::chain::HookEntry;
use super::hook_metrics::HookMetrics;
use super::{Hook, HookChain, HookOptions, Interest};
use crate::clock::{Clock, SystemClock};

/// Whether clients that no hook authenticates may connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Anonymous {
    /// Let them in (the default, as when no authentication is configured).
    #[default]
    Allow,
    /// Refuse them with 0x87 Not authorized (MQTT 3: return code 5), as Mosquitto 2 does
    /// by default on non-local listeners.
    Deny,
}

/// Builds a [`HookChain`]: hooks in the order they are added, the anonymous policy, the
/// size of the decision cache and the clock.
#[derive(Clone)]
pub struct HookChainBuilder {
    hooks: Vec<HookEntry>,
    anonymous: Anonymous,
    cache_capacity: usize,
    clock: Arc<dyn Clock>,
}

impl HookChainBuilder {
    /// The default bound of the decision cache, in decisions.
    pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

    /// Adds `hook` with the default options (5 s timeout, failures deny).
    #[must_use]
    pub fn hook(self, hook: impl Hook) -> Self {
        self.hook_with(hook, HookOptions::default())
    }

    /// Adds `hook` with `options`.
    #[must_use]
    pub fn hook_with(self, hook: impl Hook, options: HookOptions) -> Self {
        self.shared_hook(Arc::new(hook), options)
    }

    /// Adds a hook the caller keeps a handle to.
    #[must_use]
    pub fn shared_hook(mut self, hook: Arc<dyn Hook>, options: HookOptions) -> Self {
        let interest = hook.interest();
        let metrics = HookMetrics::new(hook.name());
        self.hooks.push(HookEntry {
            hook,
            options,
            interest,
            metrics,
        });
        self
    }

    /// Sets whether clients no hook authenticates may connect.
    #[must_use]
    pub fn anonymous(mut self, anonymous: Anonymous) -> Self {
        self.anonymous = anonymous;
        self
    }

    /// Refuses clients no hook authenticates: [`Anonymous::Deny`].
    #[must_use]
    pub fn require_authentication(self) -> Self {
        self.anonymous(Anonymous::Deny)
    }

    /// Bounds the decision cache to `capacity` decisions; 0 turns caching off.
    #[must_use]
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// The clock the chain reads the time from (decision cache expiry, hook latency) and
    /// whose timer cuts hook calls at their timeout. Default [`SystemClock`], which has no
    /// timer; a broker gives the chain it builds the runtime's clock instead.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The chain.
    #[must_use]
    pub fn build(self) -> HookChain {
        let interest = self
            .hooks
            .iter()
            .fold(Interest::NONE, |all, entry| all | entry.interest);
        HookChain {
            hooks: self.hooks.into_boxed_slice(),
            interest,
            anonymous: self.anonymous,
            cache: DecisionCache::new(self.cache_capacity),
            cache_capacity: self.cache_capacity,
            clock: self.clock,
        }
    }
}

impl Default for HookChainBuilder {
    fn default() -> Self {
        HookChainBuilder {
            hooks: Vec::new(),
            anonymous: Anonymous::Allow,
            cache_capacity: Self::DEFAULT_CACHE_CAPACITY,
            clock: Arc::new(SystemClock),
        }
    }
}

impl std::fmt::Debug for HookChainBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.hooks.iter().map(|entry| entry.hook.name()).collect();
        f.debug_struct("HookChainBuilder")
            .field("hooks", &names)
            .field("anonymous", &self.anonymous)
            .field("cache_capacity", &self.cache_capacity)
            .field("clock", &self.clock)
            .finish()
    }
}
