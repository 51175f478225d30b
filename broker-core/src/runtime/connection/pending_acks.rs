//! Acknowledgements that wait for the store, without stopping the publisher.
//!
//! A PUBLISH whose copies for persistent sessions go to the store is acknowledged (PUBACK,
//! PUBREC) only once the store has them. Waiting for each in turn would let a publisher have
//! one message in the store's hands at a time, and every message its own commit. So the
//! publisher's connection hands the copies over and reads on; the acknowledgements wait here,
//! in the order their PUBLISH packets came, and go out in that order ([MQTT-4.6.0-2],
//! [MQTT-4.6.0-3]) as the store answers: the copies then go into their mailboxes, each with
//! its store number. A PUBLISH that needs no store while others wait here waits behind them.
//! At most [`MAX_PENDING`](super::ack_queue::MAX_PENDING) wait; the connection reads no more
//! until fewer do.

use std::future::poll_fn;
use std::task::Poll;

use crate::runtime::connection::ack_queue::PendingAck;
use crate::runtime::connection::client::Client;
use crate::runtime::persist::handle::Persist;
use crate::runtime::routing;
use crate::runtime::state::shared::Shared;
use crate::session::{PublishAck, PublishOutcome};

impl Client {
    /// How many acknowledgements wait for the store.
    pub(crate) fn pending_acks(&self) -> usize {
        self.route_buffers
            .as_ref()
            .map_or(0, |buffers| buffers.pending.len())
    }

    /// After routing a publish: when copies for persistent sessions wait for the store, or
    /// acknowledgements wait already, hands the copies to the store and queues the
    /// acknowledgement here. Returns whether it did; `false` leaves the publish to the caller
    /// (nothing waits here, or there is no room in the store's channel now).
    pub(crate) fn pipeline_publish(
        &mut self,
        shared: &Shared,
        ack: Option<PublishAck>,
        matched: bool,
    ) -> bool {
        let Some(buffers) = self.route_buffers.as_ref() else {
            return false;
        };
        let durable = buffers.blocked.has_durable();
        if (!durable && buffers.pending.len() == 0) || buffers.blocked.has_waiting() {
            return false;
        }
        // The session's record (a QoS 2 identifier from this client) goes to the store before
        // the copies: a crash can then never keep the copies and lose the identifier, which
        // would route the client's repeat of the message again.
        if durable && self.must_save_record() && !self.send_record(shared) {
            return false;
        }
        let Some(buffers) = self.route_buffers.as_mut() else {
            return false;
        };
        let (durable, answer) = if durable {
            let Some(slot) = shared.persist().try_reserve() else {
                return false;
            };
            let durable = buffers.blocked.take_durable();
            let answer = Persist::submit_enqueue(slot, routing::durable_copies(&durable));
            (durable, Some(answer))
        } else {
            (Vec::new(), None)
        };
        buffers.pending.queue.push_back(PendingAck {
            ack,
            matched,
            durable,
            answer,
            result: None,
        });
        true
    }

    /// Completes the acknowledgements whose answers have come, first to last, stopping at
    /// the first still waiting.
    pub(crate) async fn complete_ready_acks(&mut self, shared: &Shared) {
        while let Some(pending) = self.take_front(false).await {
            self.complete(shared, pending).await;
        }
    }

    /// Completes every acknowledgement waiting, waiting for the store as needed (before a
    /// publish that must wait itself, and when the connection ends: copies the store took
    /// are queued even when no acknowledgement can go out any more).
    pub(crate) async fn drain_acks(&mut self, shared: &Shared) {
        while let Some(pending) = self.take_front(true).await {
            self.complete(shared, pending).await;
        }
    }

    /// Takes the first pending acknowledgement if it can be completed (with `wait`, once it
    /// can); `None` when none waits, or (without `wait`) the first one's answer has not come.
    async fn take_front(&mut self, wait: bool) -> Option<PendingAck> {
        let pending = &mut self.route_buffers.as_mut()?.pending;
        if pending.queue.is_empty() {
            return None;
        }
        let ready = if wait {
            poll_fn(|cx| pending.poll_front(cx)).await;
            true
        } else {
            poll_fn(|cx| Poll::Ready(pending.poll_front(cx).is_ready())).await
        };
        if ready {
            pending.queue.pop_front()
        } else {
            None
        }
    }

    /// Queues the copies of `pending` (once the store has them) and sends its
    /// acknowledgement: a refusal if the store failed.
    async fn complete(&mut self, shared: &Shared, pending: PendingAck) {
        let buffers = self.route_buffers.get_or_insert_default();
        let stored = match pending.result {
            None => Ok(()),
            Some(result) => result.and_then(|seqs| {
                routing::queue_stored(shared, Some(&mut buffers.blocked), pending.durable, seqs)
            }),
        };
        if let Err(error) = &stored {
            tracing::warn!("The session store could not take a message for persistent sessions ({error}); it is refused.");
        }
        if buffers.blocked.has_waiting() {
            // Copies met full queues: the acknowledgement waits for room, as for any publish.
            let _ = routing::push_blocked(shared, &mut buffers.blocked).await;
        }
        let outcome = match stored {
            Ok(()) => PublishOutcome::Routed {
                matched: pending.matched,
            },
            Err(error) => PublishOutcome::Refused(routing::refusal(&error)),
        };
        if let Some(ack) = pending.ack {
            self.session.complete_publish(ack, outcome);
        }
    }
}
