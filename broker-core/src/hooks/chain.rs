//! The hook chain: hooks asked in order, the default policy, the decision cache and the
//! failure policy.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use super::cache::{CacheAction, CacheKey, DecisionCache};
use super::hook_metrics::{HookMetrics, Point};
use super::{
    Anonymous, Authorization, AuthorizePublishRequest, AuthorizeSubscribeRequest, AuthzDecision,
    Event, FailurePolicy, FilterRewrite, Hook, HookChainBuilder, HookError, HookOptions, Interest,
    Refusal, RewritePublishRequest, RewriteSubscribeRequest, TopicRewrite,
};
use crate::clock::{self, Clock};
use crate::codec::PacketType;
use crate::types::{ClientId, TopicFilter, TopicName};

/// One hook with the chain's settings for it.
#[derive(Clone)]
pub(super) struct HookEntry {
    pub(super) hook: Arc<dyn Hook>,
    pub(super) options: HookOptions,
    pub(super) interest: Interest,
    /// Its latency histograms and failure counters.
    pub(super) metrics: HookMetrics,
}

/// The broker's hooks, in order, and how their answers combine.
///
/// For each request the chain asks the hooks interested in it, first to last:
///
/// - **allow** or **deny** ends the search: that is the answer;
/// - **next** asks the next hook;
/// - an **error** or a **timeout** (per hook, [`HookOptions::timeout`]) is logged and
///   handled by the hook's [`FailurePolicy`]: deny (0x87 Not authorized), or ask the next
///   hook;
/// - when every hook says next, or there are none: authorization is allowed;
///   authentication is allowed unless the chain refuses anonymous clients
///   ([`Anonymous::Deny`]: 0x87 Not authorized), and an MQTT 5 enhanced authentication no
///   hook took up is refused with 0x8C Bad authentication method.
///
/// Rewrites pass the topic or filter through every interested hook in order; a failed
/// rewrite keeps the value it was given. Events go to every interested hook; failures are
/// logged and ignored.
///
/// Authorization decisions a hook marks cacheable are kept per (client id, action, topic or
/// filter) for the TTL the hook set, in a bounded cache that evicts the least recently used
/// decision; [`HookChain::invalidate_client`] forgets a client's decisions. Refusal codes
/// are made to fit the packet that carries them (a code CONNACK, PUBACK, SUBACK or
/// DISCONNECT does not allow becomes 0x87).
///
/// Time comes from the chain's [`Clock`] ([`HookChainBuilder::clock`]): the decision cache's
/// expiry, the hooks' latency, and each call's timeout, which needs the clock's timer (a
/// broker gives its chain the runtime's clock; the default [`SystemClock`] has none, so calls
/// are not cut).
///
/// Hooks are fixed when the chain is built ([`HookChain::builder`]). The chain is shared
/// (`Arc<HookChain>`) by every connection task; it holds a lock only inside a cache
/// operation, never across a hook call.
///
/// [`SystemClock`]: crate::clock::SystemClock
pub struct HookChain {
    pub(super) hooks: Box<[HookEntry]>,
    pub(super) interest: Interest,
    pub(super) anonymous: Anonymous,
    pub(super) cache: DecisionCache,
    pub(super) cache_capacity: usize,
    /// Where the chain's time and timeouts come from.
    pub(super) clock: Arc<dyn Clock>,
}

impl HookChain {
    /// A builder for a chain with no hooks, anonymous clients allowed, and a cache of
    /// [`HookChainBuilder::DEFAULT_CACHE_CAPACITY`] decisions.
    #[must_use]
    pub fn builder() -> HookChainBuilder {
        HookChainBuilder::default()
    }

    /// The number of hooks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.hooks.len()
    }

    /// Whether the chain has no hooks (it then allows everything, unless it refuses
    /// anonymous clients).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// The hook points at least one hook is interested in. The runtime may skip building
    /// requests (and events) for the others.
    #[must_use]
    pub fn interest(&self) -> Interest {
        self.interest
    }

    /// Whether any hook wants lifecycle events.
    #[must_use]
    pub fn wants_events(&self) -> bool {
        self.interest.contains(Interest::EVENTS)
    }

    /// Whether clients no hook authenticates are let in.
    #[must_use]
    pub fn anonymous(&self) -> Anonymous {
        self.anonymous
    }

    /// A builder holding this chain's hooks (with their options), anonymous policy, cache
    /// bound and clock, to add more hooks to. The cached decisions are not carried over.
    #[must_use]
    pub fn to_builder(&self) -> HookChainBuilder {
        let mut builder = HookChainBuilder::default()
            .anonymous(self.anonymous)
            .cache_capacity(self.cache_capacity)
            .clock(Arc::clone(&self.clock));
        for entry in self.hooks.iter() {
            builder = builder.shared_hook(Arc::clone(&entry.hook), entry.options);
        }
        builder
    }

    /// The hooks' names, in order.
    pub fn hook_names(&self) -> impl Iterator<Item = &str> {
        self.hooks.iter().map(|entry| entry.hook.name())
    }

    /// Decides whether a client may publish: from the cache, else by asking the hooks.
    /// A refusal's code is one PUBACK and PUBREC allow.
    pub async fn authorize_publish(&self, request: &AuthorizePublishRequest) -> Authorization {
        self.authorize(AuthzQuery::Publish(request)).await
    }

    /// The answer to a publish request that needs no hook call: allowed when no hook
    /// authorizes publishes, or the cached decision. `None`: ask with
    /// [`HookChain::authorize_publish`]. Synchronous, so the runtime's publish path awaits
    /// nothing (and allocates nothing) when the cache answers.
    #[must_use]
    pub fn cached_publish_decision(
        &self,
        request: &AuthorizePublishRequest,
    ) -> Option<Authorization> {
        let query = AuthzQuery::Publish(request);
        if !self.interest.contains(query.interest()) {
            return Some(Authorization::Allowed);
        }
        self.cache.get(&query.cache_key(), self.clock.now())
    }

    /// [`HookChain::cached_publish_decision`] at `now`, with how long the answer holds:
    /// until the cached decision's expiry (`None`: for good, no hook authorizes publishes),
    /// and while [`HookChain::cache_generation`] has not changed. A connection may keep it
    /// to answer the same publish again without a cache lookup.
    #[must_use]
    pub fn cached_publish_decision_until(
        &self,
        request: &AuthorizePublishRequest,
        now: Instant,
    ) -> Option<(Authorization, Option<Instant>)> {
        let query = AuthzQuery::Publish(request);
        if !self.interest.contains(query.interest()) {
            return Some((Authorization::Allowed, None));
        }
        self.cache
            .get_until(&query.cache_key(), now)
            .map(|(decision, expires)| (decision, Some(expires)))
    }

    /// Changes whenever cached decisions are invalidated ([`HookChain::invalidate_client`],
    /// [`HookChain::invalidate_all`]): a copy of a decision taken at another generation may
    /// be stale.
    #[must_use]
    pub fn cache_generation(&self) -> u64 {
        self.cache.generation()
    }

    /// Decides whether a client may subscribe to one filter: from the cache, else by asking
    /// the hooks. A refusal's code is one SUBACK allows.
    pub async fn authorize_subscribe(&self, request: &AuthorizeSubscribeRequest) -> Authorization {
        self.authorize(AuthzQuery::Subscribe(request)).await
    }

    /// The topic a publish goes to, after every interested hook rewrote it in order.
    pub async fn rewrite_publish_topic(&self, mut request: RewritePublishRequest) -> TopicName {
        for (_, entry) in self.entries(Interest::REWRITE_PUBLISH) {
            match self
                .guarded(
                    entry,
                    Point::RewritePublish,
                    entry.hook.rewrite_publish_topic(&request),
                )
                .await
            {
                Ok(TopicRewrite::Keep) => {}
                Ok(TopicRewrite::Replace(topic)) => request.topic = topic,
                Err(error) => report(entry, "rewrite_publish_topic", &error, "topic kept"),
            }
        }
        request.topic
    }

    /// The filter a subscription uses, after every interested hook rewrote it in order.
    pub async fn rewrite_subscribe_filter(
        &self,
        mut request: RewriteSubscribeRequest,
    ) -> TopicFilter {
        for (_, entry) in self.entries(Interest::REWRITE_SUBSCRIBE) {
            match self
                .guarded(
                    entry,
                    Point::RewriteSubscribe,
                    entry.hook.rewrite_subscribe_filter(&request),
                )
                .await
            {
                Ok(FilterRewrite::Keep) => {}
                Ok(FilterRewrite::Replace(filter)) => request.filter = filter,
                Err(error) => report(entry, "rewrite_subscribe_filter", &error, "filter kept"),
            }
        }
        request.filter
    }

    /// Hands `event` to every interested hook, in order, each within its timeout; failures
    /// are logged and ignored. The runtime calls this off the publish path (see
    /// `HookChain::spawn_event_task` with the `runtime` feature).
    pub async fn dispatch_event(&self, event: &Event) {
        for (_, entry) in self.entries(Interest::EVENTS) {
            if let Err(error) = self
                .guarded(entry, Point::Event, entry.hook.on_event(event))
                .await
            {
                report(entry, "on_event", &error, "ignored");
            }
        }
    }

    /// Forgets the cached decisions about `client_id`. The runtime calls this when the
    /// client's connection closes (and after a re-authentication).
    pub fn invalidate_client(&self, client_id: &ClientId) {
        self.cache.invalidate_client(client_id);
    }

    /// Forgets every cached decision (after the hooks' rules were reloaded).
    pub fn invalidate_all(&self) {
        self.cache.clear();
    }

    /// The number of cached decisions (expired ones included until they are looked up or
    /// evicted).
    #[must_use]
    pub fn cached_decisions(&self) -> usize {
        self.cache.len()
    }

    async fn authorize(&self, query: AuthzQuery<'_>) -> Authorization {
        let point = query.interest();
        if !self.interest.contains(point) {
            return Authorization::Allowed;
        }
        // No key is made for a disabled cache.
        let key = self.cache.is_enabled().then(|| query.cache_key());
        let mut now = self.clock.now();
        if let Some(hit) = key.as_ref().and_then(|key| self.cache.get(key, now)) {
            return hit;
        }
        for (_, entry) in self.entries(point) {
            let (result, end) = self
                .guarded_since(entry, query.point(), now, query.ask(entry.hook.as_ref()))
                .await;
            now = end;
            let decision = match result {
                Ok(decision) => decision,
                Err(error) => match entry.options.on_authorize_failure {
                    FailurePolicy::Deny => {
                        report(entry, query.call_name(), &error, "denied");
                        return Authorization::Denied(Refusal::not_authorized());
                    }
                    FailurePolicy::Next => {
                        report(entry, query.call_name(), &error, "next hook asked");
                        continue;
                    }
                },
            };
            let (outcome, ttl) = match decision {
                AuthzDecision::Next => continue,
                AuthzDecision::Allow { cache_ttl } => (Authorization::Allowed, cache_ttl),
                AuthzDecision::Deny { refusal, cache_ttl } => (
                    Authorization::Denied(refusal.fit_for(query.packet())),
                    cache_ttl,
                ),
            };
            if let (Some(key), Some(ttl)) = (key, ttl.filter(|ttl| !ttl.is_zero())) {
                if let Some(expires) = now.checked_add(ttl) {
                    self.cache.insert(key, outcome.clone(), expires);
                }
            }
            return outcome;
        }
        Authorization::Allowed
    }

    /// Runs one hook call at `point` within the hook's timeout on the chain clock's timer,
    /// and records its latency and failure in the hook's metrics.
    pub(super) async fn guarded<T>(
        &self,
        entry: &HookEntry,
        point: Point,
        call: impl Future<Output = Result<T, HookError>>,
    ) -> Result<T, HookError> {
        self.guarded_since(entry, point, self.clock.now(), call)
            .await
            .0
    }

    /// [`HookChain::guarded`] for a call that starts at `start` (a time the caller just
    /// read: one clock read less per call on the publish path); also gives the time it
    /// ended.
    pub(super) async fn guarded_since<T>(
        &self,
        entry: &HookEntry,
        point: Point,
        start: Instant,
        call: impl Future<Output = Result<T, HookError>>,
    ) -> (Result<T, HookError>, Instant) {
        let clock = self.clock.as_ref();
        let limit = entry.options.timeout;
        let result = match start.checked_add(limit) {
            Some(deadline) => clock::within(clock, deadline, call)
                .await
                .unwrap_or(Err(HookError::Timeout(limit))),
            // Beyond what an `Instant` can hold: never cut.
            None => call.await,
        };
        let end = clock.now();
        entry
            .metrics
            .record(point, end.saturating_duration_since(start), &result);
        (result, end)
    }

    /// The hooks interested in `point`, with their positions in the chain.
    pub(super) fn entries(&self, point: Interest) -> impl Iterator<Item = (usize, &HookEntry)> {
        self.hooks
            .iter()
            .enumerate()
            .filter(move |(_, entry)| entry.interest.contains(point))
    }
}

impl Default for HookChain {
    /// No hooks: everything allowed.
    fn default() -> Self {
        HookChain::builder().build()
    }
}

impl fmt::Debug for HookChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookChain")
            .field("hooks", &self.hook_names().collect::<Vec<_>>())
            .field("anonymous", &self.anonymous)
            .field("cached_decisions", &self.cache.len())
            .finish()
    }
}

/// The two authorization requests, so they share one code path.
#[derive(Clone, Copy)]
enum AuthzQuery<'a> {
    Publish(&'a AuthorizePublishRequest),
    Subscribe(&'a AuthorizeSubscribeRequest),
}

impl AuthzQuery<'_> {
    fn interest(self) -> Interest {
        match self {
            AuthzQuery::Publish(_) => Interest::AUTHORIZE_PUBLISH,
            AuthzQuery::Subscribe(_) => Interest::AUTHORIZE_SUBSCRIBE,
        }
    }

    fn point(self) -> Point {
        match self {
            AuthzQuery::Publish(_) => Point::AuthorizePublish,
            AuthzQuery::Subscribe(_) => Point::AuthorizeSubscribe,
        }
    }

    fn call_name(self) -> &'static str {
        match self {
            AuthzQuery::Publish(_) => "authorize_publish",
            AuthzQuery::Subscribe(_) => "authorize_subscribe",
        }
    }

    /// The packet that carries a refusal.
    fn packet(self) -> PacketType {
        match self {
            AuthzQuery::Publish(_) => PacketType::PubAck,
            AuthzQuery::Subscribe(_) => PacketType::SubAck,
        }
    }

    fn cache_key(self) -> CacheKey {
        match self {
            AuthzQuery::Publish(request) => CacheKey {
                client_id: request.client.client_id.clone(),
                action: CacheAction::Publish {
                    qos: request.qos,
                    retain: request.retain,
                },
                topic: request.topic.as_byte_string().clone(),
            },
            AuthzQuery::Subscribe(request) => CacheKey {
                client_id: request.client.client_id.clone(),
                action: CacheAction::Subscribe { qos: request.qos },
                topic: request.filter.as_byte_string().clone(),
            },
        }
    }

    async fn ask(self, hook: &dyn Hook) -> Result<AuthzDecision, HookError> {
        match self {
            AuthzQuery::Publish(request) => hook.authorize_publish(request).await,
            AuthzQuery::Subscribe(request) => hook.authorize_subscribe(request).await,
        }
    }
}

/// Logs a failed hook call (with the `runtime` feature; silent without it).
pub(super) fn report(
    entry: &HookEntry,
    call: &'static str,
    error: &HookError,
    consequence: &'static str,
) {
    #[cfg(feature = "runtime")]
    tracing::warn!(hook = entry.hook.name(), call, %error, consequence, "hook failed");
    #[cfg(not(feature = "runtime"))]
    let _ = (entry, call, error, consequence);
}
