//! The PUBLISH, SUBSCRIBE and UNSUBSCRIBE commands of a connected session.

use super::connection::Connection;
use super::routing;
use super::shared::now;
use super::stats::Stats;
use crate::session::{
    FilterOutcome, PublishOutcome, PublishRequest, SubscribeRequest, UnsubscribeRequest,
};
use crate::types::ReasonCode;

impl Connection {
    /// Routes a message the client published (and retains it if asked), then acknowledges
    /// it: for a clean session on one node, a message is safe once routed.
    pub(crate) async fn on_publish(&mut self, request: PublishRequest) {
        let now = now();
        Stats::bump(&self.shared.stats.messages_received);
        let matched = routing::publish(
            &self.shared,
            &request.message,
            self.key.as_ref(),
            &mut self.scratch,
            Some(&mut self.blocked),
            now,
        );
        if !self.blocked.is_empty() {
            // Subscribers that keep up but are behind: wait for room rather than drop, so the
            // acknowledgement (and the next read from this client) waits too.
            routing::push_blocked(&self.shared, &mut self.blocked).await;
        }
        if let Some(ack) = request.ack {
            self.session
                .complete_publish(ack, PublishOutcome::Routed { matched });
        }
    }

    /// Adds the granted filters to the router, answers the SUBACK, then queues the retained
    /// messages each new subscription asks for (after the SUBACK, in the mailbox's order).
    pub(crate) fn on_subscribe(&mut self, request: SubscribeRequest) {
        let now = now();
        let (Some(key), Some(mailbox)) = (self.key.clone(), self.mailbox.clone()) else {
            let refused: Vec<_> = request
                .filters
                .iter()
                .map(|_| FilterOutcome::Refused(ReasonCode::UnspecifiedError))
                .collect();
            self.session.complete_subscribe(request.packet_id, &refused);
            return;
        };
        let mut outcomes = Vec::with_capacity(request.filters.len());
        {
            let mut router = self.shared.router_mut();
            for filter in &request.filters {
                outcomes.push(match filter.refused {
                    Some(code) => FilterOutcome::Refused(code),
                    None => {
                        router.subscribe(&filter.filter, key.clone(), filter.entry);
                        FilterOutcome::Granted(filter.entry.options.qos)
                    }
                });
            }
        }
        for (filter, outcome) in request.filters.iter().zip(&outcomes) {
            if let FilterOutcome::Granted(qos) = outcome {
                tracing::debug!("{} {} {}", self.label, u8::from(*qos), filter.filter);
            }
        }
        self.session
            .complete_subscribe(request.packet_id, &outcomes);
        for filter in request.filters.iter().filter(|f| f.wants_retained()) {
            routing::send_retained(&self.shared, &filter.filter, &filter.entry, &mailbox, now);
        }
    }

    /// Removes filters from the router (the UNSUBACK is already queued).
    pub(crate) fn on_unsubscribe(&mut self, request: UnsubscribeRequest) {
        let Some(key) = self.key.as_ref() else {
            return;
        };
        let mut router = self.shared.router_mut();
        for filter in &request.filters {
            router.unsubscribe(filter, key);
        }
    }
}
