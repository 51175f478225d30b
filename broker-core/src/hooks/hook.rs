//! The hook trait: one method per hook point.

use async_trait::async_trait;

use super::{
    AuthDecision, AuthenticateRequest, AuthorizePublishRequest, AuthorizeSubscribeRequest,
    AuthzDecision, Event, FilterRewrite, HookError, Interest, Reload, ReloadError,
    RewritePublishRequest, RewriteSubscribeRequest, TopicRewrite,
};

/// An extension of the broker: authentication, authorization, topic rewriting and lifecycle
/// events. Native Rust hooks and the WASM plugin host implement the same trait; a
/// [`HookChain`](super::HookChain) asks its hooks in order.
///
/// Every method has a default that has no opinion ([`AuthDecision::Next`],
/// [`AuthzDecision::Next`], [`TopicRewrite::Keep`], [`FilterRewrite::Keep`], nothing), so a
/// hook implements only what it needs and says so in [`Hook::interest`].
///
/// # Contract
///
/// - Calls may run concurrently, for many connections at once: a hook is `Send + Sync` and
///   guards its own state.
/// - A hook keeps no per-exchange memory for enhanced authentication: what it needs between
///   rounds goes in [`AuthChallenge::state`](super::AuthChallenge::state) and comes back in
///   [`EnhancedAuth::state`](super::EnhancedAuth::state).
/// - Authorization and rewrite calls are on the publish path: they should answer in
///   microseconds, and set a cache TTL on decisions that are stable.
/// - A call that takes longer than the hook's [`HookOptions::timeout`](super::HookOptions)
///   is abandoned (its future dropped) and counts as failed, like a returned error: see
///   [`FailurePolicy`](super::FailurePolicy).
/// - A hook never panics on input; a hook that can fail returns [`HookError`].
#[async_trait]
pub trait Hook: Send + Sync + 'static {
    /// A short name for logs and metrics.
    fn name(&self) -> &str;

    /// The hook points this hook implements. The chain skips the others. Default: all.
    fn interest(&self) -> Interest {
        Interest::ALL
    }

    /// Authenticates a CONNECT, one round of an MQTT 5 enhanced-authentication exchange, or
    /// a re-authentication ([`AuthenticateRequest::purpose`]). Only a request with
    /// [`AuthenticateRequest::enhanced`] may be answered with [`AuthDecision::Continue`].
    async fn authenticate(&self, request: &AuthenticateRequest) -> Result<AuthDecision, HookError> {
        let _ = request;
        Ok(AuthDecision::Next)
    }

    /// Authorizes a publish.
    async fn authorize_publish(
        &self,
        request: &AuthorizePublishRequest,
    ) -> Result<AuthzDecision, HookError> {
        let _ = request;
        Ok(AuthzDecision::Next)
    }

    /// Authorizes one subscription filter.
    async fn authorize_subscribe(
        &self,
        request: &AuthorizeSubscribeRequest,
    ) -> Result<AuthzDecision, HookError> {
        let _ = request;
        Ok(AuthzDecision::Next)
    }

    /// Rewrites the topic of a publish.
    async fn rewrite_publish_topic(
        &self,
        request: &RewritePublishRequest,
    ) -> Result<TopicRewrite, HookError> {
        let _ = request;
        Ok(TopicRewrite::Keep)
    }

    /// Rewrites a subscription filter.
    async fn rewrite_subscribe_filter(
        &self,
        request: &RewriteSubscribeRequest,
    ) -> Result<FilterRewrite, HookError> {
        let _ = request;
        Ok(FilterRewrite::Keep)
    }

    /// Receives a lifecycle event, off the publish path. Errors are logged and ignored.
    async fn on_event(&self, event: &Event) -> Result<(), HookError> {
        let _ = event;
        Ok(())
    }

    /// Reads the hook's configuration again (files, rules, a plugin's module) and puts it in
    /// force. [`HookChain::reload`](super::HookChain::reload) calls it for every hook, in
    /// order; the node does so on SIGHUP. Default: [`Reload::Unsupported`], nothing to do.
    ///
    /// # Contract
    ///
    /// - **Atomic.** The new configuration is loaded and checked in full before it replaces
    ///   the old one in a single step: a request decided meanwhile sees the old or the new
    ///   configuration, never a mix.
    /// - **The old configuration stays on error.** A configuration that cannot be read or
    ///   does not parse returns [`ReloadError`] (saying what stays in force) and changes
    ///   nothing; the hook goes on answering as before.
    /// - **Requests go on.** Other calls run concurrently with a reload and must not wait
    ///   for it beyond the swap itself: no lock held while reading or parsing.
    /// - **What a reload may not do:** change the hook's [`Hook::name`] or
    ///   [`Hook::interest`] (the chain reads them once, when it is built), act on connected
    ///   clients (a reload neither disconnects anyone nor revokes subscriptions granted
    ///   before), or block the async worker: blocking reads go to a blocking thread
    ///   (`tokio::task::spawn_blocking`).
    /// - **Cached decisions.** The hook need not clear the chain's decision cache: the
    ///   chain forgets every cached decision after a reload in which any hook reloaded.
    ///   Called alone, outside the chain, a reload leaves cached decisions to their TTL
    ///   unless the caller calls [`HookChain::invalidate_all`](super::HookChain::invalidate_all).
    async fn reload(&self) -> Result<Reload, ReloadError> {
        Ok(Reload::Unsupported)
    }
}
