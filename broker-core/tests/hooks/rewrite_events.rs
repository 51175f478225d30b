//! Topic and filter rewrites in chain order; lifecycle events.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use broker_core::hooks::{
    AllowAll, Event, FilterRewrite, Hook, HookChain, HookError, Interest, RewritePublishRequest,
    RewriteSubscribeRequest, TopicRewrite,
};
use broker_core::session::{CloseReason, DropReason};
use broker_core::types::{ClientId, QoS, TopicFilter, TopicName};

use super::support::*;

/// Prefixes topics and filters; fails on topics starting with "fail-{its name}" and keeps
/// filters starting with "keep".
struct Prefix(&'static str);

#[async_trait]
impl Hook for Prefix {
    fn name(&self) -> &str {
        self.0
    }

    fn interest(&self) -> Interest {
        Interest::REWRITE
    }

    async fn rewrite_publish_topic(
        &self,
        request: &RewritePublishRequest,
    ) -> Result<TopicRewrite, HookError> {
        if request.topic.starts_with(&format!("fail-{}", self.0)) {
            return Err(HookError::Failed("cannot".into()));
        }
        let topic = TopicName::new(format!("{}/{}", self.0, request.topic)).unwrap();
        Ok(TopicRewrite::Replace(topic))
    }

    async fn rewrite_subscribe_filter(
        &self,
        request: &RewriteSubscribeRequest,
    ) -> Result<FilterRewrite, HookError> {
        if request.filter.starts_with("keep") {
            return Ok(FilterRewrite::Keep);
        }
        let filter = TopicFilter::new(format!("{}/{}", self.0, request.filter)).unwrap();
        Ok(FilterRewrite::Replace(filter))
    }
}

#[tokio::test]
async fn rewrites_apply_in_chain_order() {
    let log = new_log();
    let chain = HookChain::builder()
        .hook(Prefix("inner"))
        .hook(Scripted::new("authz", &log).interest(Interest::AUTHORIZE))
        .hook(Prefix("outer"))
        .build();
    let c = client("c");
    let rewrite = |topic: &str| RewritePublishRequest {
        client: c.clone(),
        topic: TopicName::new(topic).unwrap(),
    };
    assert_eq!(
        chain.rewrite_publish_topic(rewrite("a/b")).await.as_str(),
        "outer/inner/a/b"
    );
    // The first hook fails and keeps the topic; the second still rewrites it.
    assert_eq!(
        chain
            .rewrite_publish_topic(rewrite("fail-inner/x"))
            .await
            .as_str(),
        "outer/fail-inner/x"
    );
    let filter = RewriteSubscribeRequest {
        client: c.clone(),
        filter: TopicFilter::new("a/+").unwrap(),
    };
    assert_eq!(
        chain.rewrite_subscribe_filter(filter).await.as_str(),
        "outer/inner/a/+"
    );
    let kept = RewriteSubscribeRequest {
        client: c.clone(),
        filter: TopicFilter::new("keep/#").unwrap(),
    };
    assert_eq!(
        chain.rewrite_subscribe_filter(kept).await.as_str(),
        "keep/#"
    );
    assert!(
        calls(&log).is_empty(),
        "hooks without the rewrite interest are not asked"
    );
}

/// Records every event it gets; fails on every other one when asked to.
struct Recorder {
    name: &'static str,
    seen: Arc<Mutex<Vec<(&'static str, Event)>>>,
    fails: bool,
}

#[async_trait]
impl Hook for Recorder {
    fn name(&self) -> &str {
        self.name
    }

    fn interest(&self) -> Interest {
        Interest::EVENTS
    }

    async fn on_event(&self, event: &Event) -> Result<(), HookError> {
        self.seen.lock().unwrap().push((self.name, event.clone()));
        if self.fails {
            return Err(HookError::Failed("event hook down".into()));
        }
        Ok(())
    }
}

pub(crate) fn sample_events() -> Vec<Event> {
    let id = ClientId::new("c").unwrap();
    vec![
        Event::Connected {
            client: client("c"),
            session_present: false,
        },
        Event::Subscribed {
            client_id: id.clone(),
            filter: TopicFilter::new("a/#").unwrap(),
            qos: QoS::AtLeastOnce,
        },
        Event::MessageDelivered {
            client_id: id.clone(),
            topic: TopicName::new("a/b").unwrap(),
            qos: QoS::AtLeastOnce,
        },
        Event::MessageDropped {
            client_id: id.clone(),
            topic: TopicName::new("a/c").unwrap(),
            qos: QoS::AtMostOnce,
            reason: DropReason::QueueFull,
        },
        Event::Unsubscribed {
            client_id: id.clone(),
            filter: TopicFilter::new("a/#").unwrap(),
        },
        Event::Disconnected {
            client_id: id,
            reason: CloseReason::ConnectionLost,
        },
    ]
}

pub(crate) fn recorders(seen: &Arc<Mutex<Vec<(&'static str, Event)>>>) -> HookChain {
    HookChain::builder()
        .hook(Recorder {
            name: "first",
            seen: seen.clone(),
            fails: true,
        })
        .hook(AllowAll)
        .hook(Recorder {
            name: "second",
            seen: seen.clone(),
            fails: false,
        })
        .build()
}

#[tokio::test]
async fn events_reach_every_interested_hook_even_after_a_failure() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let chain = recorders(&seen);
    assert!(chain.wants_events());
    let events = sample_events();
    for event in &events {
        chain.dispatch_event(event).await;
        assert_eq!(event.client_id().as_str(), "c");
    }
    let seen = seen.lock().unwrap();
    let expected: Vec<_> = events
        .iter()
        .flat_map(|event| [("first", event.clone()), ("second", event.clone())])
        .collect();
    assert_eq!(*seen, expected);
}
