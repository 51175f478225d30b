//! The clients' subscriptions, as the router holds them (in-process subscribers and the
//! routes of peer nodes are not clients': they are left out).

use std::collections::HashMap;
use std::sync::Arc;

use crate::admin::{Page, SubscriptionQuery, SubscriptionSummary};
use crate::router::SubscriptionEntry;
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::state::shared::Shared;
use crate::types::{ClientId, TopicFilter};

/// Between the client identifier and the filter in a cursor: neither can hold it (MQTT
/// strings exclude U+0000).
const SEPARATOR: char = '\u{0}';

/// The page of subscriptions `query` asks for, by client identifier then filter.
pub(crate) fn list(shared: &Shared, query: &SubscriptionQuery) -> Page<SubscriptionSummary> {
    let mut owners: HashMap<u64, ClientId> = HashMap::new();
    shared.registry().for_each_session(|client_id, entry| {
        if query
            .client_id
            .as_deref()
            .is_none_or(|wanted| wanted == client_id.as_str())
        {
            owners.insert(entry.mailbox().id(), client_id.clone());
        }
    });
    let after = query
        .after
        .as_deref()
        .map(|after| after.split_once(SEPARATOR).unwrap_or((after, "")));
    let mut found = Vec::new();
    shared.router().for_each(|filter, key, entry| {
        let Some(client_id) = owners.get(&key.mailbox().id()) else {
            return;
        };
        if query
            .filter
            .as_deref()
            .is_some_and(|wanted| wanted != filter)
        {
            return;
        }
        if after.is_some_and(|after| (client_id.as_str(), filter) <= after) {
            return;
        }
        found.extend(summary(client_id, filter, entry));
    });
    found.sort_unstable_by(|a, b| {
        (a.client_id.as_str(), a.filter.as_str()).cmp(&(b.client_id.as_str(), b.filter.as_str()))
    });
    Page::cut(found, query.limit, |last| {
        format!("{}{SEPARATOR}{}", last.client_id, last.filter)
    })
}

/// Every subscription of the session whose mailbox is `mailbox`, by filter.
pub(crate) fn of_mailbox(
    shared: &Shared,
    client_id: &ClientId,
    mailbox: &Arc<Mailbox>,
) -> Vec<SubscriptionSummary> {
    let mut found = Vec::new();
    shared.router().for_each(|filter, key, entry| {
        if Arc::ptr_eq(key.mailbox(), mailbox) {
            found.extend(summary(client_id, filter, entry));
        }
    });
    found.sort_unstable_by(|a, b| a.filter.as_str().cmp(b.filter.as_str()));
    found
}

/// The summary of `client_id`'s subscription to `filter`, if the router's filter reads back.
fn summary(
    client_id: &ClientId,
    filter: &str,
    entry: &SubscriptionEntry,
) -> Option<SubscriptionSummary> {
    Some(SubscriptionSummary {
        client_id: client_id.clone(),
        filter: TopicFilter::new(filter).ok()?,
        options: entry.options,
        id: entry.id,
    })
}
