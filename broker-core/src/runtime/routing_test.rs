//! A retained change is never dropped for lack of room in the session store's channel: the
//! asynchronous publish waits for a slot, the synchronous one is refused, unchanged.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::clock::now;
use super::hooks::runtime_hooks::RuntimeHooks;
use super::routing::{self, StoreBusy};
use super::state::receive_limits::ReceiveLimits;
use super::state::shared::Shared;
use crate::hooks::HookChain;
use crate::session::SessionConfig;
use crate::store::MemoryStore;
use crate::types::{QoS, TopicName};

fn shared() -> Arc<Shared> {
    let (hooks, _) = RuntimeHooks::start(Arc::new(HookChain::builder().build()));
    Shared::new(
        SessionConfig::default(),
        None,
        Duration::from_secs(1),
        Duration::from_secs(1),
        Arc::new(MemoryStore::new()),
        hooks,
        None,
        None,
        ReceiveLimits::new(16 * 1024, None),
        crate::config::RetainedLimits::default(),
    )
}

fn retained(topic: &str) -> crate::session::Message {
    let topic = TopicName::new(topic).unwrap_or_else(|error| panic!("{error}"));
    routing::local_message(
        topic,
        Bytes::from_static(b"on"),
        QoS::AtMostOnce,
        true,
        now(),
    )
}

#[tokio::test]
async fn a_retained_publish_waits_for_room_in_the_store_channel() {
    let shared = shared();
    let message = retained("lamp/state");
    // Every slot of the channel taken (the loop ends at the channel's capacity).
    let full: Vec<_> = std::iter::from_fn(|| shared.persist().try_reserve()).collect();
    assert!(!full.is_empty());
    let refused = routing::try_publish(&shared, &message, &mut Vec::new(), now());
    assert!(matches!(refused, Err(StoreBusy)));
    assert_eq!(
        shared.retained().len(),
        0,
        "a refused publish retains nothing"
    );
    let mut scratch = Vec::new();
    let publish = routing::publish(&shared, &message, &mut scratch, None, now());
    tokio::pin!(publish);
    let waited = tokio::time::timeout(Duration::from_millis(20), &mut publish).await;
    assert!(
        waited.is_err(),
        "the publish waits while the channel is full"
    );
    assert_eq!(shared.retained().len(), 0);
    drop(full);
    publish.await;
    assert_eq!(shared.retained().len(), 1);
}
