//! The CONNECT command: the connection limit, the client registry, takeover of a client
//! identifier held by another connection, and resuming or ending an existing session.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

use crate::cluster::{ClusterError, MovedSession};
use crate::runtime::clipped::Clipped;
use crate::runtime::clock::now;
use crate::runtime::connection::client::{Client, HANDOVER_TIMEOUT};
use crate::runtime::connection::close::publish_will_after_store;
use crate::runtime::connection::moved_queue;
use crate::runtime::handover;
use crate::runtime::persist::handle::{Copies, Slot, LOAD_TIMEOUT};
use crate::runtime::persist::read_back;
use crate::runtime::queue::mailbox::{Mailbox, SubscriberKey};
use crate::runtime::routing;
use crate::runtime::state::control::ControlSlot;
use crate::runtime::state::registry::{Claim, NotClaimed, Prior, Registry};
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::{DropCause, Stats};
use crate::runtime::transport::stream::Stream;
use crate::session::{ConnectRequest, Message, SessionState};
use crate::store::{StoreError, StoredSession};
use crate::types::{ClientId, MqttString, ReasonCode};

impl Client {
    /// Carries out a CONNECT: admit or refuse the client, authenticate it with the hooks,
    /// then [`Client::admit`] it, unless an MQTT 5 enhanced authentication goes on
    /// (the client's AUTH comes back as a command; see [`Client::on_authenticate`]).
    pub(crate) async fn on_connect(
        &mut self,
        shared: &Shared,
        stream: &Stream,
        request: ConnectRequest,
    ) {
        let now = now();
        // The limit counts every open connection, this one included. A connection over it
        // is answered CONNACK 0x97 Quota exceeded (3.x: return code 3, Server unavailable).
        if let Some(max) = shared.max_connections() {
            if shared.open_connections() > max {
                Stats::bump(&shared.stats().connections_refused);
                tracing::info!(
                    "Client {} refused: the broker has reached its maximum of {max} connections.",
                    Clipped(&request.client_id)
                );
                self.session.reject(ReasonCode::QuotaExceeded, now);
                return;
            }
        }
        if let Some(max) = self.listener.over_limit() {
            Stats::bump(&shared.stats().connections_refused);
            tracing::info!(
                "Client {} refused: listener {} has reached its maximum of {max} connections.",
                Clipped(&request.client_id),
                self.listener.name
            );
            self.session.reject(ReasonCode::QuotaExceeded, now);
            return;
        }
        if !shared.is_running() {
            self.session.reject(ReasonCode::ServerUnavailable, now);
            return;
        }
        self.id = Some(request.client_id.clone());
        let outcome = self.authenticate_connect(shared, stream, &request).await;
        if let Some(request) = self.connect_authenticated(shared, outcome, request) {
            self.admit(shared, request).await;
        }
    }

    /// Admits an authenticated client: checks its will with the hooks, takes its identifier
    /// over, finds its session, then answers the session with `accept` or `reject`.
    pub(crate) async fn admit(&mut self, shared: &Shared, request: ConnectRequest) {
        let now = now();
        // As Mosquitto: a will the client may not publish refuses the CONNECT.
        if !self.authorize_will(shared).await {
            tracing::info!(
                "Client {} refused: not authorized to publish its will.",
                Clipped(&request.client_id)
            );
            Stats::bump(&shared.stats().auth_failures);
            self.session.reject(ReasonCode::NotAuthorized, now);
            return;
        }
        // A slot for the store, reserved before the registry is locked, when this CONNECT
        // may load a session (clean start 0, none in the registry).
        let needs_store = shared
            .registry()
            .connect_needs_store(&request.client_id, request.clean_start);
        let mut slot = if needs_store {
            shared.persist().reserve().await
        } else {
            None
        };
        // Again when the registry changed since the check and a write is needed after all
        // (the next claim has a slot, or the store has closed), or when the identifier's
        // session was ending (its record's removal follows the messages it hands over).
        let Claim {
            mailbox,
            prior,
            stored,
            load,
        } = loop {
            match self.claim(shared, &request, slot.take()) {
                Ok(claim) => break claim,
                Err(NotClaimed::NeedsSlot) => slot = shared.persist().reserve().await,
                Err(NotClaimed::Ending) => {
                    ending_finished(shared.registry(), &request.client_id).await;
                }
            }
        };
        let connected_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|since| NonZeroU64::new(since.as_secs()));
        shared.registry().set_connected(
            &request.client_id,
            &self.control,
            request.username.as_ref().map(MqttString::as_str),
            connected_at,
        );
        // The will of the session this CONNECT ends or takes over, when it is due now: it is
        // published once the record that held it is replaced or removed in the store.
        let mut old_will = None;
        // The queue of a session another node handed over, to place once this node knows
        // whether the session is durable here.
        let mut moved_queue = None;
        let resumed = match prior {
            Prior::Nobody => {
                // Another node may hold the identifier: its session comes over as a local
                // connection's would (a lone node asks nobody).
                let remote = match self.take_over_remote(shared, &request.client_id).await {
                    Ok(remote) => remote,
                    Err(code) => {
                        shared.registry().release(&request.client_id, &self.control);
                        self.session.reject(code, now);
                        return;
                    }
                };
                let resumed = match remote {
                    Some(MovedSession {
                        session, queued, ..
                    }) => {
                        let ends = request.clean_start || session.session_expiry == 0;
                        if ends {
                            // Its end below hands the shared ones to other members.
                            for copy in queued {
                                routing::push(shared, &mailbox, copy, now);
                            }
                        } else {
                            moved_queue = Some(queued);
                        }
                        let (resumed, handed_over);
                        (resumed, old_will, handed_over) =
                            self.settle_handover(shared, Some(session), &request, &mailbox);
                        // This node held no record of the session.
                        handover::place_handed_over(shared, handed_over);
                        resumed
                    }
                    None => match self
                        .load_session(shared, &request.client_id, &mailbox, load)
                        .await
                    {
                        Ok(resumed) => resumed,
                        Err(()) => {
                            shared.registry().release(&request.client_id, &self.control);
                            self.session.reject(ReasonCode::UnspecifiedError, now);
                            return;
                        }
                    },
                };
                resumed
            }
            Prior::Offline(offline) => {
                if request.clean_start {
                    let (state, will) = offline.end(now);
                    old_will = will;
                    let handed_over = handover::end_session(shared, &state, &mailbox);
                    self.end_stored(shared, &request.client_id, stored, handed_over)
                        .await;
                    None
                } else {
                    Some(offline.resume())
                }
            }
            Prior::Online(control) => {
                tracing::info!(
                    "Client {} already connected, closing old connection.",
                    Clipped(&request.client_id)
                );
                Stats::bump(&shared.stats().takeovers);
                let given = take_over(control).await;
                let (resumed, handed_over);
                (resumed, old_will, handed_over) =
                    self.settle_handover(shared, given, &request, &mailbox);
                // The session ended (clean start, or the old connection's Session Expiry 0):
                // its record goes too.
                let ended = resumed.is_none() && stored;
                self.end_stored(shared, &request.client_id, ended, handed_over)
                    .await;
                resumed
            }
        };
        mailbox.set_online(true);
        // A persistent session's QoS 1 and 2 messages go to a store that keeps them; the
        // session's record must then go when the session ends, with its queue.
        let durable = request.session_expiry > 0 && shared.persist().store().keeps_messages();
        mailbox.set_durable(&request.client_id, durable, shared.hooks().wants_events());
        if !durable && !mailbox.lock().all_spilled().is_empty() {
            // A persistent session taken on as a clean one: its queue is in memory from now
            // on, the copies it left in the store too.
            let store = shared.persist().shared_store();
            match read_back::all(store, &request.client_id, &mailbox).await {
                Ok(missing) => shared
                    .stats()
                    .dropped_many(DropCause::NotInStore, missing as u64),
                Err(error) => tracing::warn!(
                    "Client {}: could not read its queued messages back from the session store: {error}",
                    Clipped(&request.client_id)
                ),
            }
        }
        if durable {
            shared
                .registry()
                .set_stored(&request.client_id, &self.control, request.session_expiry);
        }

        if shared.hooks().wants_events() {
            // For the hooks' MessageDropped events.
            mailbox.set_owner(&request.client_id);
        }
        self.key = Some(SubscriberKey(mailbox));
        log_connected(self, &request);
        let session_present = resumed.is_some();
        if durable {
            // The record before the CONNACK: a crash after it keeps the session.
            let fresh;
            let state = match &resumed {
                Some(state) => state,
                None => {
                    fresh = SessionState::new(request.client_id.clone());
                    &fresh
                }
            };
            if !self
                .save_record(shared, state, request.session_expiry)
                .await
            {
                tracing::warn!(
                    "Client {}: its session is kept in memory only until the store takes it.",
                    Clipped(&request.client_id)
                );
            }
        }
        if let (Some(queued), Some(state), Some(key)) = (moved_queue, &resumed, &self.key) {
            // After its record: the store queues copies of a session it has.
            moved_queue::place_queue(shared, key.mailbox(), queued, durable).await;
            // Its subscriptions come into this node's router after its queue, so that new
            // messages follow the ones it brought (a local takeover finds them there, under
            // the same mailbox). They were live across the cluster before it moved: the
            // CONNACK waits until the peers have them again (each wait bounded by the link),
            // so a message published on any node after it reaches the session.
            for ack in routing::add_subscriptions(shared, state, key.mailbox()) {
                let _ = ack.wait().await;
            }
        }
        if let Some(will) = old_will {
            // After the writes that replaced or removed the record holding it (the removal
            // once the session ended, the record just saved): a restart must not publish it
            // again.
            publish_will_after_store(shared, Some(&request.client_id), will).await;
        }
        self.session.accept(resumed, now);
        shared.stats().client_connected();
        self.announce_connected(shared, session_present);
    }

    /// Takes the client identifier in the registry ([`Registry::claim`]): a new entry, or
    /// this connection becomes the holder of the existing one.
    ///
    /// [`Registry::claim`]: crate::runtime::state::registry::Registry::claim
    fn claim<'a>(
        &self,
        shared: &'a Shared,
        request: &ConnectRequest,
        slot: Option<Slot<'a>>,
    ) -> Result<Claim, NotClaimed> {
        shared.registry().claim(
            &request.client_id,
            &self.control,
            request.clean_start,
            || Mailbox::new(shared.session_config().queue),
            shared.persist(),
            slot,
        )
    }

    /// The session the store holds for a client identifier the registry did not know (a
    /// restarted node with a durable store, a record written by another node): its
    /// subscriptions go back into the router under `mailbox`. `Err` when the store failed or
    /// the record is corrupt: the CONNECT is refused (CONNACK 0x80), since resuming without
    /// the session, or starting a new one over it, would lose it.
    async fn load_session(
        &self,
        shared: &Shared,
        client_id: &ClientId,
        mailbox: &Arc<Mailbox>,
        load: Option<oneshot::Receiver<Result<Option<StoredSession>, StoreError>>>,
    ) -> Result<Option<SessionState>, ()> {
        let Some(answer) = load else {
            return Ok(None);
        };
        let record = match tokio::time::timeout(LOAD_TIMEOUT, answer).await {
            Ok(Ok(Ok(record))) => record,
            Ok(Ok(Err(error))) => {
                tracing::warn!(
                    "Client {}: could not load its session ({error}); refused.",
                    Clipped(client_id)
                );
                return Err(());
            }
            Ok(Err(_)) | Err(_) => {
                tracing::warn!(
                    "Client {}: the session store did not answer; refused.",
                    Clipped(client_id)
                );
                return Err(());
            }
        };
        let Some(record) = record else {
            return Ok(None);
        };
        let state = record.to_state().map_err(|error| {
            tracing::warn!(
                "Client {}: its stored session is unusable ({error}); refused.",
                Clipped(client_id)
            );
        })?;
        // Announced, not awaited: a session from the store was not live across the cluster.
        drop(routing::add_subscriptions(shared, &state, mailbox));
        shared
            .registry()
            .set_stored(client_id, &self.control, record.session_expiry);
        tracing::debug!(
            "Client {}: session loaded from the session store.",
            Clipped(client_id)
        );
        Ok(Some(state))
    }

    /// With `stored`, removes the stored record of the session this connection's CONNECT
    /// ended, behind `handed_over` (the copies of the messages it handed to persistent
    /// members) in one operation of the store's channel ([`Registry::forget_stored`]), so that
    /// a crash between the two writes finds the messages under their new member; the copies
    /// otherwise go to the store on their own ([`handover::place_handed_over`]).
    async fn end_stored(
        &self,
        shared: &Shared,
        client_id: &ClientId,
        stored: bool,
        handed_over: Copies,
    ) {
        let rest = if stored {
            let slot = shared.persist().reserve().await;
            shared
                .registry()
                .forget_stored(client_id, &self.control, slot, handed_over)
        } else {
            handed_over
        };
        handover::place_handed_over(shared, rest);
    }

    /// Decides what becomes of a session handed over by the connection taken over: resumed
    /// unless the new connection starts clean or the old session ended with its connection.
    /// The old will is to be published (given back, for the caller to publish once the store
    /// no longer holds it) if its delay is 0 or the session ends; otherwise it is dropped,
    /// since the session goes on (MQTT 5.0 §3.1.2.5, §3.1.3.2). A session that ends hands its
    /// shared messages over: the copies for persistent members are given back too, for the
    /// caller to send to the store ahead of the removal of the session's record.
    fn settle_handover(
        &self,
        shared: &Shared,
        given: Option<StoredSession>,
        request: &ConnectRequest,
        mailbox: &Arc<Mailbox>,
    ) -> (Option<SessionState>, Option<Message>, Copies) {
        let given = given.and_then(|session| match session.to_state() {
            Ok(state) => Some((state, session.will, session.session_expiry)),
            Err(error) => {
                tracing::warn!(
                    "Client {}: the session handed over is unusable ({error}); starting afresh.",
                    Clipped(&request.client_id)
                );
                None
            }
        });
        let Some((state, will, session_expiry)) = given else {
            // The old connection did not answer: start afresh, and make sure no subscription
            // of the old session is left under this mailbox.
            tracing::warn!(
                "Client {}: the old connection did not hand its session over in time.",
                Clipped(&request.client_id)
            );
            routing::remove_all_subscriptions(shared, mailbox);
            mailbox.clear();
            return (None, None, Vec::new());
        };
        let ends = request.clean_start || session_expiry == 0;
        let due = will
            .filter(|will| will.delay == 0 || ends)
            .map(|will| will.message);
        if ends {
            let handed_over = handover::end_session(shared, &state, mailbox);
            (None, due, handed_over)
        } else {
            (Some(state), due, Vec::new())
        }
    }

    /// Asks the cluster for the session of `client_id`, which no connection on this node
    /// holds: the node holding it closes that connection and hands the session over. `Ok(None)`
    /// when no other node holds it, when this node has no peers, or when the holder cannot be
    /// reached (a dead node's session is the store's). Without quorum the CONNECT is refused
    /// with Server Unavailable: this node admits no client identifier until it rejoins.
    async fn take_over_remote(
        &self,
        shared: &Shared,
        client_id: &ClientId,
    ) -> Result<Option<MovedSession>, ReasonCode> {
        let Some(cluster) = shared.cluster() else {
            return Ok(None);
        };
        match cluster.link().take_over(client_id).await {
            Ok(session) => {
                if session.is_some() {
                    tracing::info!(
                        "Client {} already connected to another node, taking it over.",
                        Clipped(client_id)
                    );
                    Stats::bump(&shared.stats().takeovers);
                }
                Ok(session)
            }
            Err(ClusterError::NoQuorum) => {
                tracing::warn!(
                    "Client {} refused: this node has no quorum.",
                    Clipped(client_id)
                );
                Err(ReasonCode::ServerUnavailable)
            }
            Err(error) => {
                tracing::warn!(
                    "Client {}: could not ask the other nodes for its session ({error}).",
                    Clipped(client_id)
                );
                Ok(None)
            }
        }
    }
}

/// Waits until the session of `client_id`, which is ending, has sent the removal of its
/// record (it does so once the messages it hands over are in the store's channel, without
/// awaiting anything in between).
pub(crate) async fn ending_finished(registry: &Registry, client_id: &ClientId) {
    loop {
        let ended = registry.when_ended();
        tokio::pin!(ended);
        ended.as_mut().enable();
        if !registry.is_ending(client_id) {
            return;
        }
        ended.await;
    }
}

/// Asks the connection behind `control` for its session, bounded by [`HANDOVER_TIMEOUT`].
pub(crate) async fn take_over(control: Arc<ControlSlot>) -> Option<StoredSession> {
    let (reply, answer) = oneshot::channel();
    control.request_takeover(reply);
    tokio::time::timeout(HANDOVER_TIMEOUT, answer)
        .await
        .ok()
        .and_then(Result::ok)
}

/// `New client connected from 127.0.0.1:50000 as id (p4, c1, k60, ujoyo).`, with
/// `, bridge` last for a bridge.
fn log_connected(client: &Client, request: &ConnectRequest) {
    // Mosquitto's form, `::1:50000` for IPv6 too.
    let from = match client.peer {
        Some(peer) => format!("{}:{}", peer.ip(), peer.port()),
        None => client.peer().to_string(),
    };
    let username = request
        .username
        .as_ref()
        .map(|u| format!(", u{}", Clipped(u)))
        .unwrap_or_default();
    tracing::info!(
        "New client connected from {from} as {} (p{}, c{}, k{}{}{}).",
        Clipped(&request.client_id),
        request.version.level(),
        u8::from(request.clean_start),
        request.keep_alive,
        username,
        if request.bridge { ", bridge" } else { "" }
    );
}
