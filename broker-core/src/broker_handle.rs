//! Publishing and subscribing in-process, without a socket.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use crate::admin::{
    ClientDetails, ClientQuery, ClientSummary, Disconnection, Page, RetainedQuery, RetainedSummary,
    SubscriptionQuery, SubscriptionSummary,
};
use crate::broker_error::BrokerError;
use crate::broker_stats::BrokerStats;
use crate::broker_subscription::Subscription;
use crate::cluster::{Forwarded, MovedSession, PeerName, RetainedChange};
use crate::codec::{PublishProperties, RetainHandling, SubscriptionOptions};
use crate::listener_stats::ListenerStats;
use crate::router::SubscriptionEntry;
use crate::runtime::clock::now;
use crate::runtime::cluster::node_link::NodeLink;
use crate::runtime::connection::serve;
use crate::runtime::listener::handshake;
use crate::runtime::queue::backlog::Backlog;
use crate::runtime::queue::mailbox::{Mailbox, SubscriberKey};
use crate::runtime::state::retained::PeerChange;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::Stats;
use crate::runtime::surrender;
use crate::runtime::transport::listener::Intake;
use crate::runtime::transport::stream::Stream;
use crate::runtime::{admin, background::local, background::peer_outbox, routing, state::snapshot};
use crate::session::Message;
use crate::tls_error::TlsError;
use crate::types::{ClientId, QoS, TopicFilter, TopicName};

/// A handle on a running broker: publish and subscribe in-process. Cheap to clone; `Send`
/// and `Sync`. Every call fails with [`BrokerError::ShutDown`] once the broker shuts down.
#[derive(Debug, Clone)]
pub struct BrokerHandle {
    shared: Arc<Shared>,
}

impl BrokerHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        BrokerHandle { shared }
    }

    /// The broker's shared state, for the runtime's own tests.
    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Reads the certificate, key and CA files of every TLS listener again and puts them
    /// in force for the handshakes that start from now on (a rotated certificate); connected
    /// clients stay connected. Each TLS listener's name with its outcome; a listener whose
    /// files fail keeps the ones in force. A listener given a rustls configuration
    /// ([`ListenerConfig::with_rustls`](crate::config::ListenerConfig::with_rustls)) has no
    /// files: it is left as it is and not listed.
    #[must_use]
    pub fn reload_tls(&self) -> Vec<(String, Result<(), TlsError>)> {
        self.shared
            .listeners()
            .iter()
            .filter(|listener| listener.config.tls.is_some())
            .map(|listener| {
                let outcome = listener.reload_tls().map(|_| ());
                (listener.config.name.clone(), outcome)
            })
            .collect()
    }

    /// Serves one connection whose stream the caller accepted itself (a Unix socket, an
    /// in-memory pipe such as [`tokio::io::duplex`], a TLS stream of its own) on the stream
    /// listener named `listener` ([`BrokerBuilder::stream_listener`]), as the broker serves a
    /// TCP connection it accepted, in a task of its own, until either side closes it or the
    /// broker shuts down. `peer` is the client's address if it has one: hooks, ACL patterns,
    /// the log and the admin API see it (`None`: none).
    ///
    /// The listener's settings apply as on a TCP listener, in the same order: with
    /// [`proxy_protocol`](crate::config::ListenerConfig::proxy_protocol) the stream starts
    /// with a PROXY header, whose client address replaces `peer`; with TLS the broker does
    /// the TLS handshake (with the certificates in force: [`reload_tls`](Self::reload_tls)
    /// applies to the handshakes after it); with a WebSocket transport it does the upgrade.
    /// Those handshakes are bounded by the connect timeout; a stream that fails one is
    /// closed and logged. Without any, MQTT starts straight on the stream.
    ///
    /// Unlike plain TCP connections, such a connection is not parked when idle: its task
    /// stays (about 2 KB a connection, docs/performance.md, "Where an idle connection's
    /// memory goes").
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down;
    /// [`BrokerError::UnknownListener`] when no stream listener is named `listener`. The
    /// stream is dropped (closed) then.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (the connection's task is spawned on the current one).
    ///
    /// [`BrokerBuilder::stream_listener`]: crate::BrokerBuilder::stream_listener
    pub fn serve_stream<S>(
        &self,
        listener: &str,
        stream: S,
        peer: Option<SocketAddr>,
    ) -> Result<(), BrokerError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static,
    {
        if !self.shared.is_running() {
            return Err(BrokerError::ShutDown);
        }
        let Some(listener) = self
            .shared
            .listeners()
            .iter()
            .find(|found| found.intake == Intake::Streams && found.config.name == listener)
            .cloned()
        else {
            return Err(BrokerError::UnknownListener(listener.to_owned()));
        };
        Stats::bump(&self.shared.stats().connections_accepted);
        Stats::bump(&listener.traffic().accepted);
        match peer {
            Some(peer) => tracing::info!(
                "New connection from {}:{} on listener {}.",
                peer.ip(),
                peer.port(),
                listener.name
            ),
            None => tracing::info!("New connection on listener {}.", listener.name),
        }
        let guard = self.shared.network_tasks().guard();
        let shared = Arc::clone(&self.shared);
        let stream = Stream::served(stream);
        // The same handshakes as a TCP connection's, in the connection's task.
        if listener.needs_handshake() {
            tokio::spawn(handshake::serve(shared, stream, peer, listener, guard));
        } else {
            tokio::spawn(serve::serve(shared, stream, peer, listener, guard));
        }
        Ok(())
    }

    /// Publishes a message as the broker itself (no client; No Local never applies). With
    /// `retain`, the message also replaces the topic's retained message; an empty payload
    /// deletes it.
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down; [`BrokerError::Store`] when the
    /// session store could not take the copies for persistent sessions (the others were
    /// delivered).
    pub async fn publish(
        &self,
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        retain: bool,
    ) -> Result<(), BrokerError> {
        self.publish_with(topic, payload, qos, retain, PublishProperties::default())
            .await
    }

    /// [`publish`](Self::publish) with MQTT 5 properties: user properties, content type,
    /// response topic and correlation data, message expiry, payload format. Subscribers
    /// receive them as an MQTT client's publish would give them (MQTT 3.x subscribers get
    /// the message without them); a Topic Alias or Subscription Identifier in `properties`
    /// is dropped.
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    pub async fn publish_with(
        &self,
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        properties: PublishProperties,
    ) -> Result<(), BrokerError> {
        if !self.shared.is_running() {
            return Err(BrokerError::ShutDown);
        }
        let now = now();
        let message = Message::new(topic, payload, qos, retain, properties, now);
        let mut scratch = Vec::new();
        let mut blocked = Backlog::default();
        // A retained message waits for room in the session store's channel.
        routing::publish(
            &self.shared,
            &message,
            &mut scratch,
            Some(&mut blocked),
            now,
        )
        .await;
        routing::push_blocked(&self.shared, &mut blocked)
            .await
            .map_err(BrokerError::Store)
    }

    /// [`publish`](Self::publish) from synchronous code: it never waits (a full subscriber
    /// queue applies its overflow policy; a write the session store has no room for now is
    /// refused, not dropped). With a store that keeps messages, the QoS 1 and 2 copies for
    /// persistent sessions are handed to the store and queued once it has them, in the order
    /// of the calls; this returns before (use [`publish`](Self::publish) to know the store
    /// took them).
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down; [`BrokerError::StoreBusy`] when
    /// the session store's write queue is full and `retain` is set, or `qos` is 1 or 2 with a
    /// store that keeps messages (nothing was published: try again, or use
    /// [`publish`](Self::publish), which waits).
    pub fn publish_now(
        &self,
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        retain: bool,
    ) -> Result<(), BrokerError> {
        if !self.shared.is_running() {
            return Err(BrokerError::ShutDown);
        }
        let now = now();
        let message = routing::local_message(topic, payload, qos, retain, now);
        let mut scratch = Vec::new();
        routing::try_publish(&self.shared, &message, &mut scratch, now)
            .map_err(|routing::StoreBusy| BrokerError::StoreBusy)?;
        Ok(())
    }

    /// Subscribes in-process to `filter` at maximum QoS `qos`. The retained messages matching
    /// the filter come first. Messages wait in a bounded queue with the configured limits and
    /// overflow policy (read them promptly); dropping the [`Subscription`] unsubscribes.
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down.
    pub async fn subscribe(
        &self,
        filter: TopicFilter,
        qos: QoS,
    ) -> Result<Subscription, BrokerError> {
        self.subscribe_with(filter, SubscriptionOptions::qos(qos))
            .await
    }

    /// [`subscribe`](Self::subscribe) with MQTT 5 subscription options: the maximum QoS,
    /// Retain As Published (a message keeps the RETAIN flag it was published with) and
    /// Retain Handling ([`RetainHandling::DoNotSend`]: no retained message at subscribe; an
    /// in-process subscription is always new, so the other two send them). No Local has
    /// nothing to act on: an in-process subscriber publishes as the broker.
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down.
    pub async fn subscribe_with(
        &self,
        filter: TopicFilter,
        options: SubscriptionOptions,
    ) -> Result<Subscription, BrokerError> {
        if !self.shared.is_running() {
            return Err(BrokerError::ShutDown);
        }
        let mailbox = Mailbox::new(self.shared.session_config().queue);
        let key = SubscriberKey(Arc::clone(&mailbox));
        let entry = SubscriptionEntry::new(options, None);
        let added = self.shared.router().subscribe(&filter, &key, entry);
        if let Some(cluster) = self.shared.cluster().filter(|_| added) {
            // As a SUBACK: the peers record the route before the subscription is returned.
            if let Err(error) = cluster.subscribed(&filter).wait().await {
                tracing::warn!(%filter, %error, "A peer node did not record a route.");
            }
        }
        if !filter.is_shared() && options.retain_handling != RetainHandling::DoNotSend {
            let now = now();
            let durable = routing::send_retained(&self.shared, &filter, &entry, &mailbox, now);
            // An in-process subscriber's mailbox is never durable: this stays empty.
            if !durable.is_empty() {
                let slot = self.shared.persist().reserve().await;
                routing::place_durable(&self.shared, slot, durable, None, now);
            }
        }
        let (tx, rx) = mpsc::channel(local::CHANNEL_CAPACITY);
        let guard = self.shared.background_tasks().guard();
        tokio::spawn(local::drain(Arc::clone(&self.shared), mailbox, tx, guard));
        Ok(Subscription::new(Arc::clone(&self.shared), filter, key, rx))
    }

    /// The link reports that `peer` has a subscriber for `filter`: the messages published
    /// here that match it go to the peer's outbox (one copy per message, however many of the
    /// peer's filters match). Returns `false` if `peer` is not one of the link's peers.
    pub fn add_peer_route(&self, peer: &PeerName, filter: &TopicFilter) -> bool {
        let Some(outbox) = self.peer_outbox(peer) else {
            return false;
        };
        self.shared
            .router()
            .subscribe(filter, &outbox, NodeLink::peer_entry());
        true
    }

    /// The link reports whether `peer` is reachable (its stream up). A shared subscription's
    /// group picks a member on an unreachable peer only when no other member can receive, as
    /// it treats an offline client; the messages routed to the peer otherwise wait in its
    /// outbox, bounded, as before. Returns `false` if `peer` is not one of the link's peers.
    pub fn set_peer_reachable(&self, peer: &PeerName, reachable: bool) -> bool {
        let Some(outbox) = self.peer_outbox(peer) else {
            return false;
        };
        outbox.mailbox().set_online(reachable);
        true
    }

    /// The link reports that `peer` has no subscriber for `filter` any more. Returns `false`
    /// if `peer` is not one of the link's peers.
    pub fn remove_peer_route(&self, peer: &PeerName, filter: &TopicFilter) -> bool {
        let Some(outbox) = self.peer_outbox(peer) else {
            return false;
        };
        self.shared.router().unsubscribe(filter, &outbox);
        true
    }

    /// A link with [`dynamic_peers`](crate::cluster::ClusterLink::dynamic_peers) found a
    /// new peer: it gets an outbox, and a task that drains it into
    /// [`ClusterLink::forward`](crate::cluster::ClusterLink::forward); its routes can be
    /// added from now on. Returns `false` if `peer` is a peer already, or if the broker has
    /// no cluster side (its link has no peers and none can join).
    pub fn add_peer(&self, peer: &PeerName) -> bool {
        let Some(cluster) = self.shared.cluster() else {
            return false;
        };
        let Some(outbox) = cluster.add_peer(peer.clone()) else {
            return false;
        };
        peer_outbox::spawn(&self.shared, cluster.link(), outbox);
        true
    }

    /// `peer` left the cluster: its routes leave the router, its outbox task stops and what
    /// its outbox held is dropped. Returns `false` if `peer` is not a peer.
    pub fn remove_peer(&self, peer: &PeerName) -> bool {
        let Some(cluster) = self.shared.cluster() else {
            return false;
        };
        let Some(key) = cluster.outbox(peer) else {
            return false;
        };
        // Its routes first, so that no publish reaches the outbox once its task is told to
        // stop (the task drops what the outbox still holds).
        let router = self.shared.router();
        for filter in router.filters_of(&key) {
            router.unsubscribe(&filter, &key);
        }
        cluster.remove_peer(peer).is_some()
    }

    /// How many messages wait in `peer`'s outbox to be forwarded, or `None` if `peer` is
    /// not a peer.
    #[must_use]
    pub fn peer_outbox_depth(&self, peer: &PeerName) -> Option<usize> {
        self.peer_outbox(peer)
            .map(|outbox| outbox.mailbox().depth().0)
    }

    /// `peer`'s outbox, if the cluster link names it.
    fn peer_outbox(&self, peer: &PeerName) -> Option<SubscriberKey> {
        self.shared
            .cluster()
            .and_then(|cluster| cluster.outbox(peer))
    }

    /// Delivers messages another node forwarded ([`ClusterLink::forward`]), in order, to this
    /// node's subscribers, waiting for room in their queues as a publish does; they go to no
    /// peer and change no retained message. A message with no `shared_group` goes to the
    /// subscribers outside shared subscriptions; one with a group
    /// (`$share/{ShareName}/{filter}`), to one member of that group here: the publishing node
    /// chose this node for the group ([`Forwarded`]). The whole batch is routed before the
    /// wait for room, so that a subscriber whose queue is full holds up only its own copies
    /// (they wait in its queue's line, in order), not the others' of the batch.
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down; [`BrokerError::Store`] when the
    /// session store could not take the copies for persistent sessions.
    ///
    /// [`ClusterLink::forward`]: crate::cluster::ClusterLink::forward
    pub async fn publish_from_peer(&self, messages: &[Forwarded]) -> Result<(), BrokerError> {
        if !self.shared.is_running() {
            return Err(BrokerError::ShutDown);
        }
        let mut blocked = Backlog::default();
        let now = now();
        for forwarded in messages {
            let group = forwarded.shared_group.as_ref();
            routing::route_from_peer(&self.shared, &forwarded.message, group, &mut blocked, now);
        }
        routing::push_blocked(&self.shared, &mut blocked)
            .await
            .map_err(BrokerError::Store)
    }

    /// Applies a peer's retained change ([`RetainedChange`]) to this node's retained
    /// messages, in memory and in the session store, as a local retained PUBLISH would change
    /// them, but delivering nothing (the live copy came by forwarding) and telling no peer:
    /// only when its stamp is newer than the one this node holds for the topic (last writer
    /// wins cluster-wide; a clear's stamp is kept as a tombstone for a while). Returns whether
    /// it was applied: `false` for a change not newer, beyond this node's retained limits, or
    /// on a node with no peers. Waits for room in the session store's channel.
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down.
    pub async fn apply_peer_retained(&self, change: RetainedChange) -> Result<bool, BrokerError> {
        if !self.shared.is_running() {
            return Err(BrokerError::ShutDown);
        }
        if self.shared.cluster().is_none() {
            return Ok(false);
        }
        let slot = self.shared.persist().reserve().await;
        let outcome = self
            .shared
            .retained()
            .apply_peer(change, self.shared.persist(), slot, now());
        Ok(outcome == PeerChange::Applied)
    }

    /// Gives up this node's session of `client_id` to another node, where its client
    /// connects now ([`ClusterLink::take_over`] there): a connection holding it is closed (v5
    /// DISCONNECT 0x8E Session taken over) and hands the session over, an offline session is
    /// taken as it is; its subscriptions leave this node's router, its stored record and
    /// queue leave the store, and it is returned with the messages queued for it. `None` when
    /// this node holds no session of `client_id`, or when its connection did not answer in
    /// time (the session is ended here then).
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down.
    ///
    /// [`ClusterLink::take_over`]: crate::cluster::ClusterLink::take_over
    pub async fn hand_over_session(
        &self,
        client_id: &ClientId,
    ) -> Result<Option<MovedSession>, BrokerError> {
        if !self.shared.is_running() {
            return Err(BrokerError::ShutDown);
        }
        Ok(surrender::surrender(&self.shared, client_id).await)
    }

    /// The broker's counters and state now (see [`BrokerStats`]).
    #[must_use]
    pub fn stats(&self) -> BrokerStats {
        snapshot::snapshot(&self.shared)
    }

    /// The figures of each listener (its connections, and its traffic each way: packets by
    /// type, bytes, PUBLISH packets by QoS), in the order the listeners were configured. The
    /// traffic totals of [`stats`](Self::stats) are their sums.
    #[must_use]
    pub fn listener_stats(&self) -> Vec<ListenerStats> {
        self.shared
            .listeners()
            .iter()
            .map(|listener| listener.stats())
            .collect()
    }

    /// Turns the per-client trace on or off for `client_id`: while on, every packet the
    /// client sends or receives is logged at info level (otherwise at debug), from its next
    /// packet on, on this and later connections.
    pub fn trace_client(&self, client_id: &ClientId, on: bool) {
        self.shared.client_trace().set(client_id, on);
    }

    /// Whether the broker still serves (not shutting down).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// The clients and their sessions, connected and offline, that `query` asks for, one
    /// page in client identifier order. A connected client's address, protocol, Keep Alive,
    /// in-flight and subscription figures come from its connection, asked through its
    /// control slot (an idle, parked connection is resumed to answer; those that do not
    /// answer within 2 seconds have none). This node's clients only.
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down.
    pub async fn clients(&self, query: &ClientQuery) -> Result<Page<ClientSummary>, BrokerError> {
        self.running()?;
        Ok(admin::clients::list(&self.shared, query).await)
    }

    /// One client, its session and its subscriptions; `None` if no session has this client
    /// identifier.
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down.
    pub async fn client(&self, client_id: &ClientId) -> Result<Option<ClientDetails>, BrokerError> {
        self.running()?;
        Ok(admin::clients::show(&self.shared, client_id).await)
    }

    /// Disconnects a client: its connection closes (an MQTT 5 client first gets DISCONNECT
    /// 0x98 Administrative action; a 3.x client is just closed), and its will, if any, is
    /// published. With `discard_session` its session ends too, whatever its expiry
    /// interval; an offline session is then ended (as its expiry would). Returns once the
    /// connection has settled its session (bounded by 5 seconds).
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down.
    pub async fn disconnect_client(
        &self,
        client_id: &ClientId,
        discard_session: bool,
    ) -> Result<Disconnection, BrokerError> {
        self.running()?;
        Ok(admin::clients::disconnect(&self.shared, client_id, discard_session).await)
    }

    /// The clients' subscriptions that `query` asks for, one page in client identifier then
    /// filter order (in-process subscriptions and peer nodes' routes are not listed).
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down.
    pub fn subscriptions(
        &self,
        query: &SubscriptionQuery,
    ) -> Result<Page<SubscriptionSummary>, BrokerError> {
        self.running()?;
        Ok(admin::subscriptions::list(&self.shared, query))
    }

    /// The retained messages that `query` asks for, one page in topic order; expired ones
    /// are left out.
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down.
    pub fn retained(&self, query: &RetainedQuery) -> Result<Page<RetainedSummary>, BrokerError> {
        self.running()?;
        Ok(admin::retained::list(&self.shared, query))
    }

    /// Deletes `topic`'s retained message (the session store too), publishing nothing.
    /// Returns whether there was one.
    ///
    /// # Errors
    ///
    /// [`BrokerError::ShutDown`] once the broker shuts down; [`BrokerError::Store`] when the
    /// session store could not take the change.
    pub async fn delete_retained(&self, topic: &TopicName) -> Result<bool, BrokerError> {
        self.running()?;
        admin::retained::delete(&self.shared, topic)
            .await
            .map_err(BrokerError::Store)
    }

    /// Deletes every retained message whose topic matches `filter`, as
    /// [`delete_retained`](Self::delete_retained) does; returns how many.
    ///
    /// # Errors
    ///
    /// As [`delete_retained`](Self::delete_retained) (the messages before the failure are
    /// deleted).
    pub async fn delete_retained_matching(
        &self,
        filter: &TopicFilter,
    ) -> Result<usize, BrokerError> {
        self.running()?;
        admin::retained::delete_matching(&self.shared, filter)
            .await
            .map_err(BrokerError::Store)
    }

    /// `Ok` while the broker serves.
    fn running(&self) -> Result<(), BrokerError> {
        if self.shared.is_running() {
            Ok(())
        } else {
            Err(BrokerError::ShutDown)
        }
    }
}
