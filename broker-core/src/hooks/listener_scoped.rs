//! [`ListenerScoped`]: a hook that answers only for the clients of some listeners.

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    AuthDecision, AuthenticateRequest, AuthorizePublishRequest, AuthorizeSubscribeRequest,
    AuthzDecision, ClientInfo, FilterRewrite, Hook, HookError, Interest, ListenerName, Reload,
    ReloadError, RewritePublishRequest, RewriteSubscribeRequest, TopicRewrite,
};

/// A hook put in force on some listeners only: for a client of one of them, every call goes
/// to the hook it wraps; for the others it has no opinion ([`AuthDecision::Next`],
/// [`AuthzDecision::Next`], [`TopicRewrite::Keep`], [`FilterRewrite::Keep`]), as if it were
/// not in the chain. This is Mosquitto's `per_listener_settings true`: a password or ACL file
/// of its own for each listener.
///
/// The listener is the one of the request's [`ClientInfo::listener`]. Events carry no
/// listener, so a scoped hook takes none
/// ([`Hook::interest`] leaves [`Interest::EVENTS`] out): put a hook that wants them in the
/// chain as it is. [`Hook::reload`] goes to the wrapped hook.
///
/// ```
/// use std::sync::Arc;
/// use broker_core::hooks::{AllowAll, Hook, ListenerName, ListenerScoped};
///
/// let hook = ListenerScoped::new(Arc::new(AllowAll), [ListenerName::from("tls")]);
/// assert_eq!(hook.name(), "allow-all@tls");
/// ```
pub struct ListenerScoped {
    inner: Arc<dyn Hook>,
    listeners: Box<[ListenerName]>,
    name: String,
}

impl ListenerScoped {
    /// `inner`, for the clients of `listeners` only. Its name is the wrapped hook's followed
    /// by `@` and the listeners' names (`password_file@tls,ws`).
    #[must_use]
    pub fn new(inner: Arc<dyn Hook>, listeners: impl IntoIterator<Item = ListenerName>) -> Self {
        let listeners: Box<[ListenerName]> = listeners.into_iter().collect();
        let names: Vec<&str> = listeners.iter().map(ListenerName::as_str).collect();
        let name = format!("{}@{}", inner.name(), names.join(","));
        ListenerScoped {
            inner,
            listeners,
            name,
        }
    }

    /// The listeners whose clients the hook answers for.
    #[must_use]
    pub fn listeners(&self) -> &[ListenerName] {
        &self.listeners
    }

    /// Whether `client` arrived on one of the listeners.
    fn covers(&self, client: &ClientInfo) -> bool {
        self.listeners.contains(&client.listener)
    }
}

impl std::fmt::Debug for ListenerScoped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerScoped")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Hook for ListenerScoped {
    fn name(&self) -> &str {
        &self.name
    }

    fn interest(&self) -> Interest {
        self.inner.interest().difference(Interest::EVENTS)
    }

    async fn authenticate(&self, request: &AuthenticateRequest) -> Result<AuthDecision, HookError> {
        if self.covers(&request.client) {
            self.inner.authenticate(request).await
        } else {
            Ok(AuthDecision::Next)
        }
    }

    async fn authorize_publish(
        &self,
        request: &AuthorizePublishRequest,
    ) -> Result<AuthzDecision, HookError> {
        if self.covers(&request.client) {
            self.inner.authorize_publish(request).await
        } else {
            Ok(AuthzDecision::Next)
        }
    }

    async fn authorize_subscribe(
        &self,
        request: &AuthorizeSubscribeRequest,
    ) -> Result<AuthzDecision, HookError> {
        if self.covers(&request.client) {
            self.inner.authorize_subscribe(request).await
        } else {
            Ok(AuthzDecision::Next)
        }
    }

    async fn rewrite_publish_topic(
        &self,
        request: &RewritePublishRequest,
    ) -> Result<TopicRewrite, HookError> {
        if self.covers(&request.client) {
            self.inner.rewrite_publish_topic(request).await
        } else {
            Ok(TopicRewrite::Keep)
        }
    }

    async fn rewrite_subscribe_filter(
        &self,
        request: &RewriteSubscribeRequest,
    ) -> Result<FilterRewrite, HookError> {
        if self.covers(&request.client) {
            self.inner.rewrite_subscribe_filter(request).await
        } else {
            Ok(FilterRewrite::Keep)
        }
    }

    async fn reload(&self) -> Result<Reload, ReloadError> {
        self.inner.reload().await
    }
}
