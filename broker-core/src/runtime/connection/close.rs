//! The end of a connection: the log line, and what becomes of the session: handed to the
//! connection that took it over, ended (subscriptions removed, will published), or kept
//! offline for its expiry interval.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::runtime::clock::now;
use crate::runtime::connection::client::{Client, HANDOVER_TIMEOUT};
use crate::runtime::connection::wire::Lost;
use crate::runtime::handover;
use crate::runtime::persist::handle::Slot;
use crate::runtime::queue::mailbox::{Mailbox, SubscriberKey};
use crate::runtime::state::control::ControlSlot;
use crate::runtime::state::registry::NeedsSlot;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::will_barrier;
use crate::runtime::wills;
use crate::session::{Close, CloseReason, Message, SessionState, WillMessage};
use crate::store::StoredSession;
use crate::types::ClientId;

impl Client {
    /// The Mosquitto-style line for the close.
    pub(crate) fn log_close(&self, lost: Option<Lost>) {
        let client = self.label();
        let Some(close) = &self.close else {
            tracing::info!("Client {client} disconnected.");
            return;
        };
        match close.reason {
            CloseReason::ClientDisconnect(_) => tracing::info!("Client {client} disconnected."),
            CloseReason::ConnectionLost => match lost {
                Some(Lost::Eof) => tracing::info!("Client {client} closed its connection."),
                _ => tracing::info!("Socket error on client {client}, disconnecting."),
            },
            CloseReason::KeepAliveTimeout => {
                tracing::info!("Client {client} has exceeded timeout, disconnecting.");
            }
            CloseReason::ConnectTimeout => {
                tracing::info!("Client {client} sent no CONNECT in time, disconnecting.");
            }
            CloseReason::ProtocolError(code) => tracing::info!(
                "Client {client} disconnected due to protocol error ({}).",
                code.description()
            ),
            CloseReason::ConnectRefused(code) => tracing::info!(
                "Client {client} refused: {}, disconnecting.",
                code.description()
            ),
            CloseReason::TakenOver => {
                tracing::debug!("Client {client}: connection taken over, closed.");
            }
            CloseReason::ServerDisconnect(code) => tracing::info!(
                "Client {client} disconnected by the server ({}).",
                code.description()
            ),
            CloseReason::ReauthenticationFailed(code) => tracing::info!(
                "Client {client} disconnected, re-authentication failed ({}).",
                code.description()
            ),
            CloseReason::PublishRefused(code) => tracing::warn!(
                "Client {client} disconnected: a QoS 1 or 2 message it published could not be kept ({}); MQTT 3.x has no refusal, so it is left unacknowledged for the client to send again.",
                code.description()
            ),
        }
    }

    /// Settles the session after the socket is closed.
    pub(crate) async fn settle(mut self, shared: &Shared) {
        let close = self.close.take().map(|close| *close);
        let (will, session_expiry) = match close {
            Some(Close {
                will,
                session_expiry,
                ..
            }) => (will, session_expiry),
            None => (None, 0),
        };
        let Some(SubscriberKey(mailbox)) = self.key.take() else {
            // Never accepted: no session to settle.
            return;
        };
        shared.stats().client_disconnected();
        // A persistent session's record in a store that keeps messages holds its will.
        let durable = mailbox.durable_owner().cloned();
        let now = now();
        if let Some(reply) = self.control.take_reply() {
            let state = self.session.into_state();
            let _ = reply.send(StoredSession::from_state(&state, session_expiry, will));
            return;
        }
        let mut state = self.session.into_state();
        let mut will = will;
        // A slot for the store write, reserved before the registry is locked: needed when
        // the session is saved (it stays) or removed (it was stored).
        let stored = || shared.registry().is_stored(state.client_id());
        let mut slot = if session_expiry != 0 || stored() {
            shared.persist().reserve().await
        } else {
            None
        };
        // Twice at most: the second time with a slot (or the store has closed).
        let settled = loop {
            match settle_owned(
                shared,
                &self.control,
                &mailbox,
                state,
                will,
                session_expiry,
                slot.take(),
                now,
            ) {
                Settled::NeedsSlot(back, back_will) => {
                    (state, will) = (back, back_will);
                    slot = shared.persist().reserve().await;
                }
                settled => break settled,
            }
        };
        match settled {
            Settled::Done(Some(will)) => {
                publish_will_after_store(shared, durable.as_ref(), will.message).await;
            }
            Settled::Done(None) | Settled::NeedsSlot(..) => {}
            Settled::NotHeld(state, will) => {
                // Another connection took the identifier over while this one was closing:
                // it is waiting for the session.
                hand_over_late(&self.control, state, will, session_expiry).await;
            }
        }
    }
}

/// Publishes the will of a session whose record the store may hold with it (`stored`: its
/// client identifier) once the store has taken the write that took the will out of the
/// record, or removed the record, so that a restart after a crash does not publish it again
/// ([MQTT-3.1.2-10]: a will leaves the session state once published). A crash between that
/// write and the publication loses the will: the trade-off is written up in
/// docs/persistence.md.
pub(super) async fn publish_will_after_store(
    shared: &Shared,
    stored: Option<&ClientId>,
    will: Message,
) {
    if let Some(client_id) = stored {
        will_barrier::store_caught_up(shared.persist(), client_id).await;
    }
    wills::publish_will(shared, will, now()).await;
}

/// What became of a session at its connection's end.
enum Settled {
    /// Ended or kept offline; the will to publish now, if any.
    Done(Option<WillMessage>),
    /// The connection no longer holds the session: it goes to the one that took it over.
    NotHeld(SessionState, Option<WillMessage>),
    /// A store write is needed and the store's channel is full: nothing changed.
    NeedsSlot(SessionState, Option<WillMessage>),
}

/// Ends the session (expiry 0: subscriptions removed, shared messages handed over, then the
/// stored record removed) or keeps it offline and saves it to the store, if the connection
/// with slot `control` still holds it; otherwise gives the session and will back. The store
/// write goes through `slot` (or one free now), decided while the registry is locked, so it
/// is ordered with every other decision about this client identifier; the will to publish
/// now is given back, to be published once the registry is unlocked.
#[allow(clippy::too_many_arguments)]
fn settle_owned(
    shared: &Shared,
    control: &Arc<ControlSlot>,
    mailbox: &Arc<Mailbox>,
    state: SessionState,
    will: Option<WillMessage>,
    session_expiry: u32,
    slot: Option<Slot<'_>>,
    now: Instant,
) -> Settled {
    let registry = shared.registry();
    if session_expiry == 0 {
        return match registry.end(state.client_id(), control, shared.persist(), slot) {
            Ok(Some(removal)) => {
                let handed_over = handover::end_session(shared, &state, mailbox);
                // The record, with its stored copies, goes behind the copies handed over: a
                // crash between the two writes finds the messages under their new member.
                let rest = removal.send(handed_over);
                handover::place_handed_over(shared, rest);
                Settled::Done(will)
            }
            Ok(None) => Settled::NotHeld(state, will),
            Err(NeedsSlot) => Settled::NeedsSlot(state, will),
        };
    }
    // A persistent session: it waits offline for its client, its will delay or expiry. A
    // will whose delay is 0 is published now; a delayed one stays with the session.
    let (due, delayed) = match will {
        Some(will) if will.delay == 0 => (Some(will), None),
        other => (None, other),
    };
    match registry.keep_offline(
        control,
        state,
        delayed,
        session_expiry,
        shared.persist(),
        slot,
        now,
    ) {
        Ok(()) => {
            shared.wake_sweeper();
            Settled::Done(due)
        }
        Err((state, delayed, None)) => Settled::NotHeld(state, due.or(delayed)),
        Err((state, delayed, Some(NeedsSlot))) => Settled::NeedsSlot(state, due.or(delayed)),
    }
}

/// Waits for the takeover request of the connection that holds the identifier now, and
/// answers it with the session.
async fn hand_over_late(
    control: &ControlSlot,
    state: SessionState,
    will: Option<WillMessage>,
    session_expiry: u32,
) {
    let request = tokio::time::timeout(HANDOVER_TIMEOUT, control.takeover_requested()).await;
    if let Some(reply) = request.ok().and_then(|()| control.take_reply()) {
        let reply: oneshot::Sender<StoredSession> = reply;
        let _ = reply.send(StoredSession::from_state(&state, session_expiry, will));
    }
}
