//! A scriptable test hook for the runtime tests: each hook point answers what a closure
//! says, every call is logged ("point:topic"), events are collected.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use broker_core::hooks::{
    AuthDecision, AuthenticateRequest, AuthorizePublishRequest, AuthorizeSubscribeRequest,
    AuthzDecision, Event, FilterRewrite, Hook, HookError, Interest, RewritePublishRequest,
    RewriteSubscribeRequest, TopicRewrite,
};

use super::support::WAIT;

type Decide<R, D> = Arc<dyn Fn(&R) -> Result<D, HookError> + Send + Sync>;

/// The calls a hook saw, in order: "authenticate:<client id>", "publish:<topic>",
/// "subscribe:<filter>", "rewrite_topic:<topic>", "rewrite_filter:<filter>".
#[derive(Clone, Default)]
pub(crate) struct Calls(Arc<Mutex<Vec<String>>>);

impl Calls {
    fn push(&self, call: String) {
        self.0.lock().unwrap().push(call);
    }

    /// Every call so far.
    pub(crate) fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// How many calls equal `call`.
    pub(crate) fn count(&self, call: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|c| *c == call).count()
    }
}

/// The events a hook received.
#[derive(Clone, Default)]
pub(crate) struct Events(Arc<Mutex<Vec<Event>>>);

impl Events {
    /// Waits (bounded) until an event matches `wanted`, and returns it.
    pub(crate) async fn wait_for(&self, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(event) = self.0.lock().unwrap().iter().find(|e| wanted(e)) {
                return event.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {what} event; got {:?}",
                self.0.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A hook that answers as its closures say (default: no opinion everywhere).
#[derive(Clone)]
pub(crate) struct TestHook {
    name: &'static str,
    interest: Interest,
    authenticate: Decide<AuthenticateRequest, AuthDecision>,
    publish: Decide<AuthorizePublishRequest, AuthzDecision>,
    subscribe: Decide<AuthorizeSubscribeRequest, AuthzDecision>,
    rewrite_topic: Decide<RewritePublishRequest, TopicRewrite>,
    rewrite_filter: Decide<RewriteSubscribeRequest, FilterRewrite>,
    /// How long `authenticate` takes before it answers.
    auth_delay: Option<Duration>,
    /// How long `authorize_subscribe` takes before it answers.
    subscribe_delay: Option<Duration>,
    /// Whether `on_event` fails (after recording the event).
    failing_events: bool,
    /// The calls seen.
    pub(crate) calls: Calls,
    /// The events seen.
    pub(crate) events: Events,
}

impl TestHook {
    /// A hook with no opinion, interested in `interest`.
    pub(crate) fn new(name: &'static str, interest: Interest) -> Self {
        TestHook {
            name,
            interest,
            authenticate: Arc::new(|_| Ok(AuthDecision::Next)),
            publish: Arc::new(|_| Ok(AuthzDecision::Next)),
            subscribe: Arc::new(|_| Ok(AuthzDecision::Next)),
            rewrite_topic: Arc::new(|_| Ok(TopicRewrite::Keep)),
            rewrite_filter: Arc::new(|_| Ok(FilterRewrite::Keep)),
            auth_delay: None,
            subscribe_delay: None,
            failing_events: false,
            calls: Calls::default(),
            events: Events::default(),
        }
    }

    pub(crate) fn on_authenticate(
        mut self,
        f: impl Fn(&AuthenticateRequest) -> Result<AuthDecision, HookError> + Send + Sync + 'static,
    ) -> Self {
        self.authenticate = Arc::new(f);
        self
    }

    pub(crate) fn on_publish(
        mut self,
        f: impl Fn(&AuthorizePublishRequest) -> Result<AuthzDecision, HookError> + Send + Sync + 'static,
    ) -> Self {
        self.publish = Arc::new(f);
        self
    }

    pub(crate) fn on_subscribe(
        mut self,
        f: impl Fn(&AuthorizeSubscribeRequest) -> Result<AuthzDecision, HookError>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.subscribe = Arc::new(f);
        self
    }

    pub(crate) fn on_rewrite_topic(
        mut self,
        f: impl Fn(&RewritePublishRequest) -> Result<TopicRewrite, HookError> + Send + Sync + 'static,
    ) -> Self {
        self.rewrite_topic = Arc::new(f);
        self
    }

    pub(crate) fn on_rewrite_filter(
        mut self,
        f: impl Fn(&RewriteSubscribeRequest) -> Result<FilterRewrite, HookError> + Send + Sync + 'static,
    ) -> Self {
        self.rewrite_filter = Arc::new(f);
        self
    }

    /// `authenticate` answers only after `delay`.
    pub(crate) fn slow_authenticate(mut self, delay: Duration) -> Self {
        self.auth_delay = Some(delay);
        self
    }

    /// `authorize_subscribe` answers only after `delay`.
    pub(crate) fn slow_subscribe(mut self, delay: Duration) -> Self {
        self.subscribe_delay = Some(delay);
        self
    }

    /// `on_event` returns an error (after recording the event).
    pub(crate) fn failing_events(mut self) -> Self {
        self.failing_events = true;
        self
    }
}

#[async_trait]
impl Hook for TestHook {
    fn name(&self) -> &str {
        self.name
    }

    fn interest(&self) -> Interest {
        self.interest
    }

    async fn authenticate(&self, request: &AuthenticateRequest) -> Result<AuthDecision, HookError> {
        self.calls
            .push(format!("authenticate:{}", request.client.client_id));
        if let Some(delay) = self.auth_delay {
            tokio::time::sleep(delay).await;
        }
        (self.authenticate)(request)
    }

    async fn authorize_publish(
        &self,
        request: &AuthorizePublishRequest,
    ) -> Result<AuthzDecision, HookError> {
        self.calls.push(format!("publish:{}", request.topic));
        (self.publish)(request)
    }

    async fn authorize_subscribe(
        &self,
        request: &AuthorizeSubscribeRequest,
    ) -> Result<AuthzDecision, HookError> {
        self.calls.push(format!("subscribe:{}", request.filter));
        if let Some(delay) = self.subscribe_delay {
            tokio::time::sleep(delay).await;
        }
        (self.subscribe)(request)
    }

    async fn rewrite_publish_topic(
        &self,
        request: &RewritePublishRequest,
    ) -> Result<TopicRewrite, HookError> {
        self.calls.push(format!("rewrite_topic:{}", request.topic));
        (self.rewrite_topic)(request)
    }

    async fn rewrite_subscribe_filter(
        &self,
        request: &RewriteSubscribeRequest,
    ) -> Result<FilterRewrite, HookError> {
        self.calls
            .push(format!("rewrite_filter:{}", request.filter));
        (self.rewrite_filter)(request)
    }

    async fn on_event(&self, event: &Event) -> Result<(), HookError> {
        self.events.0.lock().unwrap().push(event.clone());
        if self.failing_events {
            return Err(HookError::Unavailable("event sink down".into()));
        }
        Ok(())
    }
}
