//! Lifecycle events for the hooks: connected, disconnected, subscribed, unsubscribed,
//! message delivered, message dropped. Each is queued on the chain's event channel, never
//! awaited, and only built when a hook wants events ([`RuntimeHooks::emit`]).
//!
//! [`RuntimeHooks::emit`]: crate::runtime::hooks::runtime_hooks::RuntimeHooks::emit

use std::sync::Arc;

use crate::hooks::Event;
use crate::runtime::connection::client::Client;
use crate::runtime::state::shared::Shared;
use crate::types::{QoS, TopicFilter, TopicName};

impl Client {
    /// The CONNACK 0x00 is queued: [`Event::Connected`].
    pub(crate) fn announce_connected(&self, shared: &Shared, session_present: bool) {
        if let Some(client) = &self.client_info {
            shared.hooks().emit(|| Event::Connected {
                client: Arc::clone(client),
                session_present,
            });
        }
    }

    /// The connection is closed: [`Event::Disconnected`] if it had been accepted, and the
    /// hooks' cached decisions about the client are forgotten.
    pub(crate) fn announce_close(&self, shared: &Shared) {
        let Some(client) = &self.client_info else {
            return;
        };
        if self.key.is_some() {
            if let Some(close) = &self.close {
                shared.hooks().emit(|| Event::Disconnected {
                    client_id: client.client_id.clone(),
                    reason: close.reason,
                });
            }
        }
        shared.hooks().chain.invalidate_client(&client.client_id);
    }

    /// A PUBLISH of `topic` at `qos` was queued for the client: [`Event::MessageDelivered`].
    pub(crate) fn emit_delivered(&self, shared: &Shared, topic: TopicName, qos: QoS) {
        if let Some(client_id) = &self.id {
            shared.hooks().emit(|| Event::MessageDelivered {
                client_id: client_id.clone(),
                topic,
                qos,
            });
        }
    }

    /// `filter` was granted at `qos`: [`Event::Subscribed`].
    pub(crate) fn emit_subscribed(&self, shared: &Shared, filter: &TopicFilter, qos: QoS) {
        if let Some(client_id) = &self.id {
            shared.hooks().emit(|| Event::Subscribed {
                client_id: client_id.clone(),
                filter: filter.clone(),
                qos,
            });
        }
    }

    /// `filter` was removed at the client's request: [`Event::Unsubscribed`].
    pub(crate) fn emit_unsubscribed(&self, shared: &Shared, filter: &TopicFilter) {
        if let Some(client_id) = &self.id {
            shared.hooks().emit(|| Event::Unsubscribed {
                client_id: client_id.clone(),
                filter: filter.clone(),
            });
        }
    }
}
