//! The PUBLISH, SUBSCRIBE and UNSUBSCRIBE commands of a connected session.

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::cluster::RouteAck;

use crate::runtime::clipped::Clipped;
use crate::runtime::clock::now;
use crate::runtime::connection::client::Client;
use crate::runtime::handover;
use crate::runtime::persist::handle::LOAD_TIMEOUT;
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::routing;
use crate::runtime::state::shared::Shared;
use crate::session::{
    FilterOutcome, Message, PublishAck, PublishOutcome, PublishRequest, QueuedMessage,
    SubscribeRequest, UnsubscribeRequest,
};
use crate::types::{ReasonCode, StoreSeq};

impl Client {
    /// Routes a message the client published and acknowledges it; returns whether it was
    /// routed to a subscriber now, and what is left to await: for a clean session on one
    /// node, a message is safe once routed. When the message must wait (copies waiting for
    /// room in a full queue, or a retained message waiting for the session store), the rest
    /// is left to [`Client::finish_publish`]. Kept synchronous so that the common path adds
    /// nothing to the size of every connection's task.
    pub(crate) fn on_publish(
        &mut self,
        shared: &Shared,
        request: PublishRequest,
    ) -> (bool, Option<PublishWait>) {
        if request.message.retain {
            return (false, Some(PublishWait::Retained(Box::new(request))));
        }
        let (matched, blocked) = self.route_message(shared, &request.message);
        // Nobody matched while another connection may be adding filters: match again once it
        // has (a SUBSCRIBE read just before this PUBLISH, from another client). Only the
        // first packet of a read can have arrived beside it: the rest came with it.
        if !matched && shared.subscribe_gate().missed(self.first_in_read) {
            return (false, Some(PublishWait::Subscribing(Box::new(request))));
        }
        self.finish_routed(shared, request.ack, matched, blocked)
    }

    /// The rest of [`Client::on_publish`] once the message is routed.
    fn finish_routed(
        &mut self,
        shared: &Shared,
        ack: Option<PublishAck>,
        matched: bool,
        blocked: bool,
    ) -> (bool, Option<PublishWait>) {
        // Copies for persistent sessions, or acknowledgements waiting already: the store
        // takes them while this client's next packets are read.
        if self.pipeline_publish(shared, ack, matched) {
            return (matched, None);
        }
        if blocked {
            return (matched, Some(PublishWait::Blocked { ack, matched }));
        }
        if let Some(ack) = ack {
            self.session
                .complete_publish(ack, PublishOutcome::Routed { matched });
        }
        (matched, None)
    }

    /// Routes `message` to its subscribers. Returns whether any subscription matched, and
    /// whether copies wait for room in full queues (left in the route buffers for
    /// [`routing::push_blocked`]).
    fn route_message(&mut self, shared: &Shared, message: &Message) -> (bool, bool) {
        let buffers = self.route_buffers.get_or_insert_default();
        let matched = routing::route(
            shared,
            message,
            self.key.as_ref(),
            &mut buffers.scratch,
            Some(&mut buffers.blocked),
            now(),
        );
        (matched, !buffers.blocked.is_empty())
    }

    /// The part of a publish that waits; see [`Client::on_publish`]. Returns whether it
    /// routed a message to a subscriber (a blocked publish told it already).
    pub(crate) async fn finish_publish(&mut self, shared: &Shared, wait: PublishWait) -> bool {
        // The acknowledgements waiting for the store go first, in order.
        if self.pending_acks() > 0 {
            self.drain_acks(shared).await;
        }
        match wait {
            PublishWait::Blocked { ack, matched } => {
                self.finish_blocked(shared, ack, matched).await
            }
            PublishWait::Subscribing(request) => {
                shared.subscribe_gate().settle().await;
                let (matched, blocked) = self.route_message(shared, &request.message);
                match self.finish_routed(shared, request.ack, matched, blocked) {
                    (_, Some(PublishWait::Blocked { ack, matched })) => {
                        self.finish_blocked(shared, ack, matched).await
                    }
                    (matched, _) => matched,
                }
            }
            PublishWait::Retained(request) => self.publish_retained(shared, *request).await,
        }
    }

    /// Waits for room for the copies a publish left in the route buffers, then acknowledges
    /// it. Returns `false`: the publish told whether it matched already.
    async fn finish_blocked(
        &mut self,
        shared: &Shared,
        ack: Option<PublishAck>,
        matched: bool,
    ) -> bool {
        // Subscribers that keep up but are behind: wait for room rather than drop, so
        // the acknowledgement (and the next read from this client) waits too.
        // Copies for persistent sessions: the store takes them before the answer, and
        // this session's record (a QoS 2 identifier) before them.
        if self.must_save_record() {
            self.save_changed_record(shared).await;
        }
        let buffers = self.route_buffers.get_or_insert_default();
        let outcome = match routing::push_blocked(shared, &mut buffers.blocked).await {
            Ok(()) => PublishOutcome::Routed { matched },
            Err(error) => PublishOutcome::Refused(routing::refusal(&error)),
        };
        if let Some(ack) = ack {
            self.session.complete_publish(ack, outcome);
        }
        false
    }

    /// Retains and routes a message with the RETAIN flag, then acknowledges it once the
    /// session store has it too; if the store fails, the acknowledgement says 0x80
    /// (Unspecified error), though the message was routed and retained in memory.
    async fn publish_retained(&mut self, shared: &Shared, request: PublishRequest) -> bool {
        let slot = shared.persist().reserve().await;
        let (reply, answer) = oneshot::channel();
        let reply = request.ack.is_some().then_some(reply);
        routing::store_retained(shared, &request.message, slot, reply, now());
        let stored = request.ack.is_some().then_some(answer);
        let (matched, blocked) = self.route_message(shared, &request.message);
        let mut refused = None;
        if blocked {
            let buffers = self.route_buffers.get_or_insert_default();
            if let Err(error) = routing::push_blocked(shared, &mut buffers.blocked).await {
                refused = Some(routing::refusal(&error));
            }
        }
        let outcome = match (stored, refused) {
            (_, Some(code)) => PublishOutcome::Refused(code),
            (Some(answer), None) => match tokio::time::timeout(LOAD_TIMEOUT, answer).await {
                Ok(Ok(Ok(()))) => PublishOutcome::Routed { matched },
                _ => PublishOutcome::Refused(ReasonCode::UnspecifiedError),
            },
            (None, None) => PublishOutcome::Routed { matched },
        };
        if let Some(ack) = request.ack {
            self.session.complete_publish(ack, outcome);
        }
        matched
    }

    /// Adds the granted filters to the router, answers the SUBACK, then queues the retained
    /// messages each new subscription asks for (after the SUBACK, in the mailbox's order).
    /// With cluster peers, a filter's first local subscription is announced to them; if an
    /// announcement must be waited for, the SUBACK is left to [`Client::finish_subscribe`].
    pub(crate) fn on_subscribe(
        &mut self,
        shared: &Shared,
        request: SubscribeRequest,
    ) -> Option<SubscribeWait> {
        let Some(key) = self.key.clone() else {
            let refused: Vec<_> = request
                .filters
                .iter()
                .map(|_| FilterOutcome::Refused(ReasonCode::UnspecifiedError))
                .collect();
            self.session.complete_subscribe(request.packet_id, &refused);
            return None;
        };
        let cluster = shared.cluster();
        let mut added = Vec::new();
        let outcomes: Vec<_> = request
            .filters
            .iter()
            .map(|filter| match filter.refused {
                Some(code) => FilterOutcome::Refused(code),
                None => FilterOutcome::Granted(filter.entry.options.qos),
            })
            .collect();
        shared.router().subscribe_all(
            &key,
            request
                .filters
                .iter()
                .filter(|filter| filter.refused.is_none())
                .map(|filter| (&filter.filter, filter.entry)),
            |filter| {
                if cluster.is_some() {
                    added.push(filter);
                }
            },
        );
        let acks: Vec<RouteAck> =
            cluster.map_or_else(Vec::new, |cluster| cluster.subscribed_all(added));
        let save = self.is_durable();
        if !acks.is_empty() || save {
            return Some(SubscribeWait {
                request,
                outcomes,
                acks,
                save,
            });
        }
        let durable = self.complete_subscribe(shared, request, &outcomes);
        // Only a durable session keeps copies for the store, and it took the path above.
        if !durable.is_empty() {
            routing::place_durable(shared, shared.persist().try_reserve(), durable, None, now());
        }
        None
    }

    /// The SUBACK of a subscription whose route the peers are recording, once they have: a
    /// publish on any node after the SUBACK reaches the subscriber. A peer that fails to
    /// record it is logged; the local subscription stands. A persistent session's record is
    /// written before the SUBACK leaves (it is sent once this returns), and so are its copies
    /// of the retained messages the subscription gets: they go to the store ahead of the
    /// record, in the same ordered channel, so that once the store has the record it has them
    /// too, and they are in the session's queue, each with its store number. Stored later, a
    /// crash between the SUBACK and the write would lose them for good: the client holds the
    /// SUBACK and sends no SUBSCRIBE again ([MQTT-3.3.1-6]).
    pub(crate) async fn finish_subscribe(&mut self, shared: &Shared, wait: SubscribeWait) {
        for ack in wait.acks {
            if let Err(error) = ack.wait().await {
                tracing::warn!(client = %self.label(), %error, "A peer node did not record a route.");
            }
        }
        let durable = self.complete_subscribe(shared, wait.request, &wait.outcomes);
        if !durable.is_empty() {
            let slot = shared.persist().reserve().await;
            routing::place_durable(shared, slot, durable, None, now());
        }
        if wait.save
            && !self
                .save_record(shared, self.session.state(), self.session.session_expiry())
                .await
        {
            tracing::warn!(client = %self.label(), "A subscription is kept in memory only until the store takes the session.");
        }
    }

    /// The subscription events, the SUBACK, then the retained messages. Returns the copies of
    /// retained messages a durable session keeps for the store, not queued yet
    /// ([`routing::send_retained`]).
    fn complete_subscribe(
        &mut self,
        shared: &Shared,
        request: SubscribeRequest,
        outcomes: &[FilterOutcome],
    ) -> Vec<(Arc<Mailbox>, QueuedMessage)> {
        let now = now();
        for (filter, outcome) in request.filters.iter().zip(outcomes) {
            if let FilterOutcome::Granted(qos) = outcome {
                tracing::debug!(
                    "{} {} {}",
                    self.label(),
                    u8::from(*qos),
                    Clipped(&filter.filter)
                );
                self.emit_subscribed(shared, &filter.filter, *qos);
            }
        }
        self.session.complete_subscribe(request.packet_id, outcomes);
        let Some(mailbox) = self.key.as_ref().map(|key| Arc::clone(key.mailbox())) else {
            return Vec::new();
        };
        let mut durable = Vec::new();
        for filter in request.filters.iter().filter(|f| f.wants_retained()) {
            durable.extend(routing::send_retained(
                shared,
                &filter.filter,
                &filter.entry,
                &mailbox,
                now,
            ));
        }
        durable
    }

    /// Removes filters from the router (the UNSUBACK is already queued). The queued messages
    /// that came through a shared filter left go to another member of its group (MQTT 5.0
    /// §4.8.2); the ones in flight stay with this client, which is connected and may still
    /// acknowledge them ([MQTT-3.10.4-3] lets the server finish them), and go to another
    /// member only if the session ends first. A persistent session's stored copies of the
    /// messages handed over are forgotten once a persistent new member's are stored
    /// ([`routing::place_durable`]); its record is written after the hand-over.
    pub(crate) fn on_unsubscribe(&mut self, shared: &Shared, request: UnsubscribeRequest) {
        let Some(key) = self.key.clone() else {
            return;
        };
        let mailbox = key.mailbox();
        routing::unsubscribe_filters(shared, &key, &request.filters);
        for filter in &request.filters {
            self.emit_unsubscribed(shared, filter);
        }
        let left: Vec<_> = request.filters.iter().filter(|f| f.is_shared()).collect();
        if !left.is_empty() {
            let queued = mailbox
                .lock()
                .extract(|q| q.shared.as_ref().is_some_and(|f| left.contains(&f)));
            let mut stored = Vec::new();
            let messages = queued
                .into_iter()
                .filter_map(|q| {
                    stored.extend(q.stored.map(StoreSeq::get));
                    Some((q.message, q.shared?))
                })
                .collect();
            let replaces = mailbox
                .owner()
                .filter(|_| !stored.is_empty())
                .map(|owner| (owner.clone(), stored));
            handover::redeliver_shared(shared, &key, messages, replaces, now());
        }
        if self.is_durable() && !self.send_record(shared) {
            tracing::debug!(client = %self.label(), "The session store is busy; the record is written later.");
        }
    }
}

/// What a SUBSCRIBE still waits for after [`Client::on_subscribe`]: the peers recording its
/// new routes, then its SUBACK.
pub(crate) struct SubscribeWait {
    request: SubscribeRequest,
    outcomes: Vec<FilterOutcome>,
    acks: Vec<RouteAck>,
    /// Whether the session's record is written before the SUBACK (a persistent session with
    /// a store that keeps messages).
    save: bool,
}

/// What a publish still waits for after [`Client::on_publish`].
pub(crate) enum PublishWait {
    /// Copies wait for room in full queues; then the acknowledgement goes out.
    Blocked {
        /// The acknowledgement owed.
        ack: Option<PublishAck>,
        /// Whether any subscription matched.
        matched: bool,
    },
    /// A retained message, stored and routed on the slow path.
    Retained(Box<PublishRequest>),
    /// A message that matched nobody while another connection was adding filters: it is
    /// matched again once they are in the router
    /// ([`SubscribeGate::settle`](crate::runtime::state::subscribe_gate::SubscribeGate::settle)).
    Subscribing(Box<PublishRequest>),
}
