//! The retained messages: listed, deleted.

use bytes::Bytes;

use crate::admin::{Page, RetainedQuery, RetainedSummary};
use crate::codec::PublishProperties;
use crate::runtime::clock::now;
use crate::runtime::routing;
use crate::runtime::state::shared::Shared;
use crate::session::Message;
use crate::store::StoreError;
use crate::types::{QoS, TopicFilter, TopicName};

/// The page of retained messages `query` asks for, by topic.
pub(crate) fn list(shared: &Shared, query: &RetainedQuery) -> Page<RetainedSummary> {
    let now = now();
    let secs = shared.retained().secs(now);
    let every = TopicFilter::new("#").ok();
    let mut found = Vec::new();
    if let Some(filter) = query.filter.as_ref().or(every.as_ref()) {
        shared.retained().matching(filter, now, |retained| {
            if query
                .after
                .as_deref()
                .is_some_and(|after| retained.topic.as_str() <= after)
            {
                return;
            }
            let mut properties = retained.properties.clone();
            properties.message_expiry_interval = retained.remaining_expiry(secs);
            found.push(RetainedSummary {
                topic: retained.topic.clone(),
                payload: retained.payload.clone(),
                qos: retained.qos,
                properties,
            });
        });
    }
    found.sort_unstable_by(|a, b| a.topic.as_str().cmp(b.topic.as_str()));
    Page::cut(found, query.limit, |last| last.topic.as_str().to_owned())
}

/// Deletes `topic`'s retained message, as a retained publish with an empty payload would
/// (the change goes to the session store), without publishing anything. Returns whether
/// there was one.
///
/// # Errors
///
/// The session store's, when it could not take the change.
pub(crate) async fn delete(shared: &Shared, topic: &TopicName) -> Result<bool, StoreError> {
    let mut exists = false;
    let filter = TopicFilter::new(topic.as_str()).ok();
    if let Some(filter) = &filter {
        shared
            .retained()
            .matching(filter, now(), |retained| exists |= &retained.topic == topic);
    }
    if !exists {
        return Ok(false);
    }
    let now = now();
    let empty = Message::new(
        topic.clone(),
        Bytes::new(),
        QoS::AtMostOnce,
        true,
        PublishProperties::default(),
        now,
    );
    let slot = shared.persist().reserve().await;
    let (reply, answer) = tokio::sync::oneshot::channel();
    routing::store_retained(shared, &empty, slot, Some(reply), now);
    match answer.await {
        Ok(outcome) => outcome.map(|()| true),
        // No store task (the broker stopped): removed from memory only.
        Err(_) => Ok(true),
    }
}

/// Deletes every retained message whose topic matches `filter`; returns how many.
///
/// # Errors
///
/// The session store's, at the first change it could not take (the messages before it
/// are deleted).
pub(crate) async fn delete_matching(
    shared: &Shared,
    filter: &TopicFilter,
) -> Result<usize, StoreError> {
    let mut topics = Vec::new();
    shared.retained().matching(filter, now(), |retained| {
        topics.push(retained.topic.clone())
    });
    let mut deleted = 0;
    for topic in &topics {
        if delete(shared, topic).await? {
            deleted += 1;
        }
    }
    Ok(deleted)
}
