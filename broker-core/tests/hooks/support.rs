//! Scripted test hooks and request builders shared by the hook chain tests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use broker_core::clock::{Clock, Sleep};
use broker_core::hooks::{
    AuthDecision, AuthMethod, AuthOutcome, AuthenticateRequest, AuthorizePublishRequest,
    AuthorizeSubscribeRequest, AuthzDecision, ClientInfo, Hook, HookError, Interest, ListenerName,
    Refusal, Username,
};
use broker_core::types::{ClientId, MqttString, ProtocolVersion, QoS, TopicFilter, TopicName};

/// tokio's clock and timer, from outside the crate as any embedder would write it: the
/// tests' paused clock then drives the chain's cache expiry and hook timeouts (tokio is a
/// dev-dependency; the chain itself never names it).
#[derive(Debug)]
pub(crate) struct PausableClock;

impl Clock for PausableClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep_until(&self, deadline: Instant) -> Option<Sleep> {
        Some(Box::pin(tokio::time::sleep_until(deadline.into())))
    }
}

/// [`PausableClock`], for [`HookChainBuilder::clock`](broker_core::hooks::HookChainBuilder::clock).
pub(crate) fn tokio_clock() -> Arc<dyn Clock> {
    Arc::new(PausableClock)
}

/// What a scripted hook does at one hook point.
#[derive(Clone)]
pub(crate) enum Answer<T> {
    Decide(T),
    Fail,
    Hang,
}

/// The order in which hooks were called: "name:point" entries.
pub(crate) type Log = Arc<Mutex<Vec<String>>>;

/// A hook that answers what it is told and records every call.
#[derive(Clone)]
pub(crate) struct Scripted {
    name: &'static str,
    interest: Interest,
    auth: Answer<AuthDecision>,
    authz: Answer<AuthzDecision>,
    log: Log,
}

impl Scripted {
    pub(crate) fn new(name: &'static str, log: &Log) -> Self {
        Scripted {
            name,
            interest: Interest::ALL,
            auth: Answer::Decide(AuthDecision::Next),
            authz: Answer::Decide(AuthzDecision::Next),
            log: log.clone(),
        }
    }

    pub(crate) fn auth(mut self, answer: Answer<AuthDecision>) -> Self {
        self.auth = answer;
        self
    }

    pub(crate) fn authz(mut self, answer: Answer<AuthzDecision>) -> Self {
        self.authz = answer;
        self
    }

    pub(crate) fn interest(mut self, interest: Interest) -> Self {
        self.interest = interest;
        self
    }

    pub(crate) async fn play<T: Clone>(
        &self,
        point: &str,
        answer: &Answer<T>,
    ) -> Result<T, HookError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{point}", self.name));
        match answer {
            Answer::Decide(decision) => Ok(decision.clone()),
            Answer::Fail => Err(HookError::Unavailable("backend down".into())),
            Answer::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(HookError::Failed("woke up".into()))
            }
        }
    }
}

#[async_trait]
impl Hook for Scripted {
    fn name(&self) -> &str {
        self.name
    }

    fn interest(&self) -> Interest {
        self.interest
    }

    async fn authenticate(&self, _: &AuthenticateRequest) -> Result<AuthDecision, HookError> {
        self.play("authenticate", &self.auth).await
    }

    async fn authorize_publish(
        &self,
        _: &AuthorizePublishRequest,
    ) -> Result<AuthzDecision, HookError> {
        self.play("publish", &self.authz).await
    }

    async fn authorize_subscribe(
        &self,
        _: &AuthorizeSubscribeRequest,
    ) -> Result<AuthzDecision, HookError> {
        self.play("subscribe", &self.authz).await
    }
}

pub(crate) fn new_log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

pub(crate) fn calls(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

pub(crate) fn client(id: &str) -> Arc<ClientInfo> {
    Arc::new(ClientInfo::new(
        ClientId::new(id).unwrap(),
        ProtocolVersion::V5,
        ListenerName::from("default"),
    ))
}

pub(crate) fn user(id: &str, username: &str) -> Arc<ClientInfo> {
    Arc::new(
        ClientInfo::new(
            ClientId::new(id).unwrap(),
            ProtocolVersion::V3_1_1,
            "tcp".into(),
        )
        .with_username(Username::try_from(username).unwrap())
        .with_peer_addr("127.0.0.1:5000".parse().unwrap()),
    )
}

pub(crate) fn connect(client: Arc<ClientInfo>) -> AuthenticateRequest {
    AuthenticateRequest::connect(client, None)
}

pub(crate) fn publish(client: &Arc<ClientInfo>, topic: &str) -> AuthorizePublishRequest {
    publish_with(client, topic, QoS::AtLeastOnce, false)
}

pub(crate) fn publish_with(
    client: &Arc<ClientInfo>,
    topic: &str,
    qos: QoS,
    retain: bool,
) -> AuthorizePublishRequest {
    AuthorizePublishRequest {
        client: client.clone(),
        topic: TopicName::new(topic).unwrap(),
        qos,
        retain,
    }
}

pub(crate) fn subscribe(client: &Arc<ClientInfo>, filter: &str) -> AuthorizeSubscribeRequest {
    AuthorizeSubscribeRequest {
        client: client.clone(),
        filter: TopicFilter::new(filter).unwrap(),
        qos: QoS::AtLeastOnce,
    }
}

pub(crate) fn reason(text: &'static str) -> MqttString {
    MqttString::from_static(text)
}

pub(crate) fn denied(outcome: &AuthOutcome) -> Option<&Refusal> {
    match outcome {
        AuthOutcome::Denied(refusal) => Some(refusal),
        _ => None,
    }
}

pub(crate) fn method(name: &str) -> AuthMethod {
    AuthMethod::try_from(name).unwrap()
}
