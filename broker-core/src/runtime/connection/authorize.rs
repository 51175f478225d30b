//! Authorization and rewriting through the hooks: each PUBLISH (topic rewritten, then
//! authorized), the will at CONNECT, each filter of a SUBSCRIBE (rewritten before the
//! session sees the packet, then authorized), and the filters of an UNSUBSCRIBE (rewritten,
//! so a client removes what it added).
//!
//! The publish path first tries [`Client::screen_publish`], which awaits and allocates
//! nothing: with no hook interested, or a decision in the chain's cache, the publish goes on
//! at once. Only a cache miss (or a topic rewrite) boxes a future that calls the hooks;
//! the acknowledgement still waits for the authorization and the routing, in order.

use std::sync::Arc;

use crate::codec::Packet;
use crate::hooks::{
    Authorization, AuthorizePublishRequest, AuthorizeSubscribeRequest, ClientInfo, Interest,
    Refusal, RewritePublishRequest, RewriteSubscribeRequest,
};
use crate::runtime::clipped::Clipped;
use crate::runtime::clock::now;
use crate::runtime::connection::client::Client;
use crate::runtime::connection::publish_memo::PublishMemo;
use crate::runtime::connection::screen::Screen;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::DropCause;
use crate::session::{Message, PublishRequest, SubscribeRequest};
use crate::types::ReasonCode;

/// The publish hook points: a publish needs the hooks when any is taken.
const PUBLISH_POINTS: Interest = Interest::AUTHORIZE_PUBLISH.union(Interest::REWRITE_PUBLISH);

impl Client {
    /// Decides a publish without calling a hook when it can: no hook takes part in
    /// publishes, the connection's memo answers it (the same publish as the last one), or
    /// the chain's cache holds the decision (which then becomes the memo).
    pub(crate) fn screen_publish(&mut self, shared: &Shared, request: &PublishRequest) -> Screen {
        if is_sys_topic(request.message.topic.as_str()) {
            // The broker's own figures: clients may read them, not write them (Mosquitto
            // refuses these writes too, whatever its ACL says).
            return Screen::Denied(Refusal::not_authorized());
        }
        let hooks = &shared.hooks();
        if !hooks.screens(PUBLISH_POINTS) {
            return Screen::Allowed;
        }
        let Some(client) = &self.client_info else {
            // Hooks exist, so the CONNECT made the client's identity: fail closed.
            return Screen::Denied(Refusal::not_authorized());
        };
        if hooks.screens(Interest::REWRITE_PUBLISH) {
            return Screen::Ask;
        }
        let message = &request.message;
        // Read before the cache: an invalidation in between leaves the memo stale.
        let generation = hooks.chain.cache_generation();
        if let Some(memo) = &self.publish_memo {
            if let Some(decision) = memo.answers(message, generation) {
                return Screen::of(decision.clone());
            }
        }
        let cached = hooks
            .chain
            .cached_publish_decision_until(&publish_request(client, message), message.received_at);
        let Some((decision, expires)) = cached else {
            return Screen::Ask;
        };
        self.publish_memo =
            PublishMemo::new(message, decision.clone(), expires, generation).map(Box::new);
        Screen::of(decision)
    }

    /// Rewrites the topic of a publish, asks the hooks whether the client may publish it,
    /// then routes it (and acknowledges it) or refuses it. Returns whether it was routed to a
    /// subscriber.
    pub(crate) async fn authorize_publish(
        &mut self,
        shared: &Shared,
        mut request: PublishRequest,
    ) -> bool {
        let Some(client) = self.client_info.clone() else {
            self.refuse_publish(shared, &request, &Refusal::not_authorized());
            return false;
        };
        let chain = Arc::clone(&shared.hooks().chain);
        if shared.hooks().screens(Interest::REWRITE_PUBLISH) {
            let ask = RewritePublishRequest {
                client: Arc::clone(&client),
                topic: request.message.topic.clone(),
            };
            request.message.topic = chain.rewrite_publish_topic(ask).await;
        }
        match chain
            .authorize_publish(&publish_request(&client, &request.message))
            .await
        {
            Authorization::Allowed => {
                let (routed, wait) = self.on_publish(shared, request);
                match wait {
                    Some(wait) => self.finish_publish(shared, wait).await || routed,
                    None => routed,
                }
            }
            Authorization::Denied(refusal) => {
                self.refuse_publish(shared, &request, &refusal);
                false
            }
        }
    }

    /// Drops a publish the hooks refused: MQTT 5 QoS 1 and 2 get the refusal's code in
    /// PUBACK / PUBREC; MQTT 3 is acknowledged as usual (as Mosquitto does).
    pub(crate) fn refuse_publish(
        &mut self,
        shared: &Shared,
        request: &PublishRequest,
        refusal: &Refusal,
    ) {
        shared.stats().dropped(DropCause::NotAuthorized);
        let message = &request.message;
        tracing::debug!(
            "Denied PUBLISH from {} (q{}, r{}, '{}', ... ({} bytes)).",
            self.label(),
            message.qos as u8,
            u8::from(message.retain),
            Clipped(&message.topic),
            message.payload.len()
        );
        self.session
            .refuse_publish(request.ack, refusal.code(), refusal.reason().cloned());
    }

    /// Whether the CONNECT's will may be published, asked when the CONNECT is authenticated
    /// (as Mosquitto does): its topic rewritten first, as any publish's.
    pub(crate) async fn authorize_will(&mut self, shared: &Shared) -> bool {
        if !shared.hooks().screens(PUBLISH_POINTS) {
            return true;
        }
        let Some(will) = self.session.will() else {
            return true;
        };
        let (mut topic, qos, retain) = (
            will.message.topic.clone(),
            will.message.qos,
            will.message.retain,
        );
        let Some(client) = self.client_info.clone() else {
            return false;
        };
        let chain = Arc::clone(&shared.hooks().chain);
        if shared.hooks().screens(Interest::REWRITE_PUBLISH) {
            let ask = RewritePublishRequest {
                client: Arc::clone(&client),
                topic,
            };
            topic = chain.rewrite_publish_topic(ask).await;
            self.session.set_will_topic(topic.clone());
        }
        let ask = AuthorizePublishRequest {
            client,
            topic,
            qos,
            retain,
        };
        chain.authorize_publish(&ask).await.is_allowed()
    }

    /// Asks the hooks about each filter of a SUBSCRIBE the session did not refuse, then
    /// subscribes the allowed ones; a refused filter gets its code in SUBACK (0x80 for
    /// MQTT 3).
    pub(crate) async fn authorize_subscribe(
        &mut self,
        shared: &Shared,
        mut request: SubscribeRequest,
    ) {
        let chain = Arc::clone(&shared.hooks().chain);
        let client = self.client_info.clone();
        for filter in request.filters.iter_mut().filter(|f| f.refused.is_none()) {
            let Some(client) = &client else {
                filter.refused = Some(ReasonCode::NotAuthorized);
                continue;
            };
            let ask = AuthorizeSubscribeRequest {
                client: Arc::clone(client),
                filter: filter.filter.clone(),
                qos: filter.entry.options.qos,
            };
            if let Authorization::Denied(refusal) = chain.authorize_subscribe(&ask).await {
                tracing::debug!(
                    "Denied SUBSCRIBE from {} to '{}'.",
                    self.label(),
                    Clipped(&filter.filter)
                );
                filter.refused = Some(refusal.code());
            }
        }
        if let Some(wait) = self.on_subscribe(shared, request) {
            self.finish_subscribe(shared, wait).await;
        }
    }

    /// Whether `packet`'s filters go through the hooks' rewriting before the session sees
    /// it (see [`Client::rewrite_filters`]).
    pub(crate) fn rewrites_filters_of(&self, shared: &Shared, packet: &Packet) -> bool {
        matches!(packet, Packet::Subscribe(_) | Packet::Unsubscribe(_))
            && shared.hooks().screens(Interest::REWRITE_SUBSCRIBE)
            && self.client_info.is_some()
            && self.session.is_connected()
    }

    /// Rewrites the filters of a SUBSCRIBE or UNSUBSCRIBE, then feeds it to the session: the
    /// session records (and later removes) the filters as the hooks made them.
    pub(crate) async fn rewrite_filters(&mut self, shared: &Shared, mut packet: Packet) {
        if let Some(client) = self.client_info.clone() {
            let chain = Arc::clone(&shared.hooks().chain);
            let ask = |filter| RewriteSubscribeRequest {
                client: Arc::clone(&client),
                filter,
            };
            match &mut packet {
                Packet::Subscribe(subscribe) => {
                    for subscription in &mut subscribe.subscriptions {
                        let request = ask(subscription.filter.clone());
                        subscription.filter = chain.rewrite_subscribe_filter(request).await;
                    }
                }
                Packet::Unsubscribe(unsubscribe) => {
                    for filter in &mut unsubscribe.filters {
                        *filter = chain.rewrite_subscribe_filter(ask(filter.clone())).await;
                    }
                }
                _ => {}
            }
        }
        self.session.handle_packet(packet, now());
    }
}

/// The authorization request for `message` published by `client`.
/// Whether `topic` is one of the broker's `$SYS` topics.
fn is_sys_topic(topic: &str) -> bool {
    topic
        .strip_prefix("$SYS")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn publish_request(client: &Arc<ClientInfo>, message: &Message) -> AuthorizePublishRequest {
    AuthorizePublishRequest {
        client: Arc::clone(client),
        topic: message.topic.clone(),
        qos: message.qos,
        retain: message.retain,
    }
}
