//! The CONNECT command: the connection limit, the client registry, takeover of a client
//! identifier held by another connection, and resuming or ending an existing session.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::connection::{Connection, HANDOVER_TIMEOUT};
use super::control::{Control, Handover};
use super::mailbox::{Mailbox, SubscriberKey};
use super::registry::{ClientEntry, Holder};
use super::routing;
use super::shared::now;
use super::stats::Stats;
use crate::session::{ConnectRequest, OfflineSession, SessionState};
use crate::types::ReasonCode;

/// Who held the client identifier before this connection.
enum Prior {
    /// Nobody: a new entry was made.
    Nobody,
    /// A live connection, to take over.
    Online(tokio::sync::mpsc::Sender<Control>),
    /// A persistent session with no connection.
    Offline(Box<OfflineSession>),
}

impl Connection {
    /// Carries out a CONNECT: admit or refuse the client, take its identifier over, find its
    /// session, then answer the session with `accept` or `reject`.
    pub(crate) async fn on_connect(&mut self, request: ConnectRequest) {
        let shared = Arc::clone(&self.shared);
        let now = now();
        // The limit counts every open connection, this one included. A connection over it
        // is answered CONNACK 0x97 Quota exceeded (3.x: return code 3, Server unavailable).
        if let Some(max) = shared.max_connections {
            if shared.connections.load(Ordering::Acquire) > max {
                Stats::bump(&shared.stats.connections_refused);
                tracing::info!(
                    "Client {} refused: the broker has reached its maximum of {max} connections.",
                    request.client_id
                );
                self.session.reject(ReasonCode::QuotaExceeded, now);
                return;
            }
        }
        if !shared.is_running() {
            self.session.reject(ReasonCode::ServerUnavailable, now);
            return;
        }
        self.label = request.client_id.to_string();
        let (mailbox, prior) = self.claim(&request);
        let resumed = match prior {
            Prior::Nobody => None,
            Prior::Offline(offline) => {
                if request.clean_start {
                    let (state, will) = offline.end(now);
                    if let Some(will) = will {
                        routing::publish_will(&shared, will, now);
                    }
                    end_session(&self.shared, &state, &mailbox);
                    None
                } else {
                    Some(offline.resume())
                }
            }
            Prior::Online(control) => {
                tracing::info!(
                    "Client {} already connected, closing old connection.",
                    request.client_id
                );
                Stats::bump(&shared.stats.takeovers);
                let handover = take_over(control).await;
                self.settle_handover(handover, &request, &mailbox)
            }
        };
        mailbox.set_online(true);
        self.key = Some(SubscriberKey(Arc::clone(&mailbox)));
        self.mailbox = Some(mailbox);
        log_connected(self, &request);
        self.session.accept(resumed, now);
    }

    /// Takes the client identifier in the registry: a new entry, or this connection becomes
    /// the holder of the existing one. Returns the session's mailbox and who held it.
    fn claim(&self, request: &ConnectRequest) -> (Arc<Mailbox>, Prior) {
        let mut registry = self.shared.registry();
        let holder = Holder::Online {
            conn_id: self.conn_id,
            control: self.control_tx.clone(),
        };
        if let Some(entry) = registry.get_mut(&request.client_id) {
            let prior = match std::mem::replace(&mut entry.holder, holder) {
                Holder::Online { control, .. } => Prior::Online(control),
                Holder::Offline(offline) => Prior::Offline(offline),
            };
            return (Arc::clone(&entry.mailbox), prior);
        }
        let mailbox = Mailbox::new(self.shared.session_config.queue);
        registry.insert(
            request.client_id.clone(),
            ClientEntry {
                mailbox: Arc::clone(&mailbox),
                holder,
            },
        );
        (mailbox, Prior::Nobody)
    }

    /// Decides what becomes of a session handed over by the connection taken over: resumed
    /// unless the new connection starts clean or the old session ended with its connection.
    /// The old will is published if its delay is 0 or the session ends; otherwise it is
    /// dropped, since the session goes on (MQTT 5.0 §3.1.2.5, §3.1.3.2).
    fn settle_handover(
        &self,
        handover: Option<Handover>,
        request: &ConnectRequest,
        mailbox: &Arc<Mailbox>,
    ) -> Option<SessionState> {
        let now = now();
        let Some(handover) = handover else {
            // The old connection did not answer: start afresh, and make sure no subscription
            // of the old session is left under this mailbox.
            tracing::warn!(
                "Client {}: the old connection did not hand its session over in time.",
                request.client_id
            );
            remove_all_subscriptions(&self.shared, mailbox);
            mailbox.clear();
            return None;
        };
        let ends = request.clean_start || handover.session_expiry == 0;
        if let Some(will) = handover.will {
            if will.delay == 0 || ends {
                routing::publish_will(&self.shared, will.message, now);
            }
        }
        if ends {
            end_session(&self.shared, &handover.state, mailbox);
            None
        } else {
            Some(handover.state)
        }
    }
}

/// Asks the connection behind `control` for its session, bounded by [`HANDOVER_TIMEOUT`].
async fn take_over(control: tokio::sync::mpsc::Sender<Control>) -> Option<Handover> {
    let (reply, answer) = oneshot::channel();
    let exchange = async move {
        control.send(Control::Takeover(reply)).await.ok()?;
        answer.await.ok()
    };
    tokio::time::timeout(HANDOVER_TIMEOUT, exchange)
        .await
        .ok()
        .flatten()
}

/// Ends a session whose mailbox stays with the client identifier: its subscriptions leave
/// the router and its queued messages are dropped.
pub(crate) fn end_session(
    shared: &super::shared::Shared,
    state: &SessionState,
    mailbox: &Arc<Mailbox>,
) {
    routing::remove_subscriptions(shared, state, mailbox);
    mailbox.clear();
}

/// Removes every subscription held under `mailbox`, whatever the filter (a slow scan, for
/// the rare case where the session's own list is lost).
fn remove_all_subscriptions(shared: &super::shared::Shared, mailbox: &Arc<Mailbox>) {
    let key = SubscriberKey(Arc::clone(mailbox));
    let mut filters = Vec::new();
    shared
        .router()
        .for_each_subscription(|filter, subscriber, _| {
            if *subscriber == key {
                filters.push(filter.to_owned());
            }
        });
    let mut router = shared.router_mut();
    for filter in filters {
        if let Ok(filter) = crate::types::TopicFilter::new(filter) {
            router.unsubscribe(&filter, &key);
        }
    }
}

/// `New client connected from 127.0.0.1:50000 as id (p4, c1, k60, ujoyo).`
fn log_connected(connection: &Connection, request: &ConnectRequest) {
    let peer = connection.peer;
    let username = request
        .username
        .as_ref()
        .map(|u| format!(", u{}", u.as_str()))
        .unwrap_or_default();
    tracing::info!(
        "New client connected from {}:{} as {} (p{}, c{}, k{}{}).",
        peer.ip(),
        peer.port(),
        request.client_id,
        request.version.level(),
        u8::from(request.clean_start),
        request.keep_alive,
        username
    );
}
