//! One task per network connection: reads and decodes packets into the connection's
//! [`Session`], carries out the session's commands, drains the client's mailbox into the
//! session, and writes what the session transmits, batched.
//!
//! The order after every input is the session's contract: first every command
//! ([`Session::poll_command`]) is carried out, synchronously, then the packets
//! ([`Session::poll_transmit`]) are encoded into the write buffer. So the router knows a
//! subscription before its SUBACK leaves, and a message is routed before its PUBACK.
//!
//! An idle connection does not keep its task: after the broker's park delay without an
//! event, a quiet plain TCP connection is handed to the [`Parker`](crate::runtime::park::parker::Parker) and
//! its task ends; [`drive`] runs it again once the parker resumes it.
//!
//! Backpressure: the task pulls from the mailbox only while its unwritten bytes are below
//! [`WRITE_HIGH_WATER`], so a slow subscriber backs up into its own bounded mailbox; it stops
//! reading while they are above [`READ_PAUSE`] (a client that publishes without reading its
//! acknowledgements).

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Buf;
use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use crate::codec::{Decoder, Packet};
use crate::hooks::{ClientInfo, Interest};
use crate::runtime::clock::now;
use crate::runtime::connection::ack_queue::MAX_PENDING;
use crate::runtime::connection::client::{Client, Label};
use crate::runtime::connection::screen::Screen;
use crate::runtime::connection::throttle::Throttle;
use crate::runtime::connection::wire::{poll_timer, Lost, Wire};
use crate::runtime::log_lines::{Direction, PacketLine};
use crate::runtime::persist::read_back;
use crate::runtime::queue::mailbox::{Mailbox, SubscriberKey};
use crate::runtime::queue::signal::Signal;
use crate::runtime::routing;
use crate::runtime::run_state::RunState;
use crate::runtime::state::admin_request::{AdminRequest, LiveFigures};
use crate::runtime::state::control::{Control, ControlSlot};
use crate::runtime::state::counted::Counted;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::DropCause;
use crate::runtime::state::subscribe_gate::SubscribeTicket;
use crate::runtime::tasks::TaskGuard;
use crate::runtime::transport::identity::certificate_identity;
use crate::runtime::transport::listener::Listener;
use crate::runtime::transport::stream::{Io, Stream};
use crate::runtime::transport::traffic::Tally;
use crate::session::{Command, DeliverOutcome as Delivery, Session};
use crate::types::ReasonCode;

/// Unwritten bytes above which the task stops taking messages from the mailbox.
pub(crate) const WRITE_HIGH_WATER: usize = 64 * 1024;
/// Unwritten bytes above which the task stops reading from the client.
pub(crate) const READ_PAUSE: usize = 256 * 1024;
/// Messages moved from the mailbox into the session per lock of the mailbox.
const PULL_BATCH: usize = 64;
/// The capacities of an empty write buffer that are kept for the next packets. A larger
/// buffer is given back (idle connections stay small); so is a tiny one, such as the one a
/// CONNACK or a PINGRESP grew: allocating it again costs less than keeping it for every
/// idle connection.
const KEEP_WRITE_CAPACITY: std::ops::RangeInclusive<usize> = 256..=16 * 1024;
/// The work a command left to await: the boxed future of a CONNECT, of a publish waiting
/// for room in a full queue, or of hook calls (an AUTH, a publish or a SUBSCRIBE the hooks
/// must check).
enum Pending<'a, C, P> {
    /// Nothing to await.
    Done,
    /// A CONNECT.
    Connect(std::pin::Pin<Box<C>>),
    /// A publish waiting for room; it tells whether it routed a message.
    Publish(std::pin::Pin<Box<P>>),
    /// Hook calls, then the command's work.
    Hooks(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>),
    /// Hook calls about a publish, then its routing; it tells whether it routed a message.
    HookedPublish(std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>>),
}

/// One network connection's task state: its I/O half, its client, and the task's own flags.
pub(crate) struct Connection {
    /// The shared state, counting this connection as open.
    pub(super) shared: Counted,
    /// The socket, buffers, decoder and timer.
    pub(super) wire: Wire,
    /// The session and who the client is.
    pub(super) client: Client,
    run_state: watch::Receiver<RunState>,
    /// Whether what the CONNECT exchange grew has been given back.
    handshake_done: bool,
    /// This step routed a message to subscribers: let their tasks write before this one.
    routed: bool,
    /// The SUBSCRIBE just decoded, counted until its filters are in the router
    /// ([`SubscribeGate`](crate::runtime::state::subscribe_gate::SubscribeGate)).
    subscribing: Option<SubscribeTicket>,
    /// When to check whether the connection is idle enough to park (connected plain TCP
    /// connections, when the broker parks them): one park delay without any event parks it
    /// ([`Parker`](crate::runtime::park::parker::Parker)).
    pub(super) park_at: Option<tokio::time::Instant>,
    /// Something happened since the last park check.
    pub(super) busy: bool,
    /// The connection is to be parked: its task ends, the parker keeps it.
    pub(super) park: bool,
    pub(super) _guard: TaskGuard,
}

impl Connection {
    /// The state of a connection just accepted, counted in [`Shared::open_connections`].
    pub(crate) fn new(
        shared: Arc<Shared>,
        stream: Stream,
        peer: Option<SocketAddr>,
        listener: Arc<Listener>,
        guard: TaskGuard,
    ) -> Self {
        let shared = Counted::new(shared, Arc::clone(&listener));
        let session = Session::new(Arc::clone(shared.session_config()), now());
        Connection::assemble(
            shared,
            stream,
            peer,
            listener,
            guard,
            session,
            ControlSlot::new(),
        )
    }

    /// A parked connection again ([`Connection::from_parked`]), connected, its session as
    /// it was.
    ///
    /// [`Connection::from_parked`]: crate::runtime::connection::task::Connection::from_parked
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn resumed(
        shared: Counted,
        stream: Stream,
        peer: Option<SocketAddr>,
        listener: Arc<Listener>,
        guard: TaskGuard,
        session: Session,
        control: Arc<ControlSlot>,
        key: SubscriberKey,
        client_info: Option<Arc<ClientInfo>>,
    ) -> Self {
        let mut connection =
            Connection::assemble(shared, stream, peer, listener, guard, session, control);
        connection.client.key = Some(key);
        connection.client.client_info = client_info;
        connection.client.id = connection.client.session.client_id().cloned();
        connection.handshake_done = true;
        connection.arm_park_timer();
        connection
    }

    /// A connection around `session`, with empty buffers and nothing under way.
    fn assemble(
        shared: Counted,
        stream: Stream,
        peer: Option<SocketAddr>,
        listener: Arc<Listener>,
        guard: TaskGuard,
        session: Session,
        control: Arc<ControlSlot>,
    ) -> Self {
        let decoder = session
            .version()
            .map_or_else(Decoder::new, Decoder::with_version)
            .from_clients()
            .max_packet_size(shared.session_config().decoder_limit())
            .max_connect_size(shared.receive_limits().max_connect_size());
        let run_state = shared.watch_run_state();
        let rate = &listener.config.client_rate;
        let throttle = rate.is_limited().then(|| Throttle::new(rate, now()));
        Connection {
            wire: Wire::new(stream, decoder, throttle),
            client: Client::new(session, peer, listener, control),
            run_state,
            handshake_done: false,
            routed: false,
            subscribing: None,
            park_at: None,
            busy: false,
            park: false,
            _guard: guard,
            shared,
        }
    }
}

impl Connection {
    /// The connection's name in the log (see [`Client::label`]).
    pub(crate) fn label(&self) -> Label<'_> {
        self.client.label()
    }

    /// Whether this client's packets are traced (logged at info level).
    fn traced(&self) -> bool {
        self.client.traced(&self.shared)
    }

    /// Serves the connection until it closes, by reference: a method taking `self` by value
    /// would keep a second copy of the connection in its future.
    pub(crate) async fn run(&mut self) {
        // A shutdown that began before this task started.
        if !self.shared.is_running() {
            self.on_run_state(self.shared.run_state());
        }
        loop {
            self.step().await;
            if self.client.close.is_some() || self.run_state_now() == RunState::Stopped || self.park
            {
                if self.client.pending_acks() > 0 {
                    // Copies the store took are queued even if no acknowledgement can go.
                    Box::pin(self.client.drain_acks(&self.shared)).await;
                }
                break;
            }
            if std::mem::take(&mut self.routed) {
                // The subscribers' tasks were woken: let them write the message before this
                // task writes its acknowledgement, which shortens end-to-end latency.
                tokio::task::yield_now().await;
            }
            self.wait().await;
        }
    }

    fn run_state_now(&self) -> RunState {
        *self.run_state.borrow()
    }

    /// Carries out the session's commands, moves mailbox messages into it, and encodes what
    /// it transmits.
    async fn step(&mut self) {
        self.carry_out_commands().await;
        if self.client.close.is_none() {
            loop {
                let stopped = self.pull_mailbox(now());
                self.carry_out_commands().await;
                if self.client.must_save_record() {
                    // Boxed: only QoS 2 with persistent sessions and a durable store.
                    Box::pin(self.client.save_changed_record(&self.shared)).await;
                }
                if !stopped {
                    break;
                }
                self.encode_transmits();
            }
        }
        if self.client.must_save_record() {
            // A PUBREL of a stored exchange (a PUBREC just read), or the PUBREC or PUBCOMP of
            // a QoS 2 message from the client.
            Box::pin(self.client.save_changed_record(&self.shared)).await;
        }
        if self.client.pending_acks() > 0 {
            // Boxed: only publishers to persistent sessions with a durable store get here.
            Box::pin(self.client.complete_ready_acks(&self.shared)).await;
            // A message the store refused closes a 3.x session (`Session::complete_publish`):
            // its Close is carried out now, not after the next event.
            self.carry_out_commands().await;
        }
        self.encode_transmits();
        if let Some((owner, seqs)) = self.client.finished_stored() {
            // Boxed: only persistent sessions with a durable store get here.
            Box::pin(self.shared.persist().forget(&owner, seqs)).await;
        }
        if !self.handshake_done && self.client.session.is_connected() {
            self.handshake_done = true;
            // Most connections then wait, often for long: keep nothing the CONNECT exchange
            // grew (the session's packet and command queues). The CONNACK still in the
            // write buffer is written first; the buffer is given back once empty.
            self.client.session.release_buffers();
            self.arm_park_timer();
        }
    }

    /// Drains [`Session::poll_command`], carrying each out in order.
    pub(crate) async fn carry_out_commands(&mut self) {
        loop {
            // The command is taken apart in this block, so that no command-sized slot stays
            // in the connection's future while a command's work is awaited.
            let pending = {
                let Some(command) = self.client.session.poll_command() else {
                    break;
                };
                match command {
                    // Once per connection, and its future (a takeover waits for the old
                    // connection) is larger than the rest: on the heap, not in every task.
                    // With use_identity_as_username the certificate names the user.
                    Command::Connect(request) => match certificate_identity(
                        &self.client.listener,
                        self.wire.stream(),
                        request,
                    ) {
                        Ok(request) => Pending::Connect(Box::pin(self.client.on_connect(
                            &self.shared,
                            self.wire.stream(),
                            request,
                        ))),
                        Err(code) => {
                            self.client.session.reject(code, now());
                            Pending::Done
                        }
                    },
                    Command::Authenticate(request) => {
                        Pending::Hooks(Box::pin(self.client.on_authenticate(&self.shared, request)))
                    }
                    Command::Publish(request) => {
                        match self.client.screen_publish(&self.shared, &request) {
                            Screen::Allowed => {
                                let (routed, wait) = self.client.on_publish(&self.shared, request);
                                self.routed |= routed;
                                match wait {
                                    // Boxed: the rare waiting path stays out of every
                                    // connection's task.
                                    Some(wait) => Pending::Publish(Box::pin(
                                        self.client.finish_publish(&self.shared, wait),
                                    )),
                                    None => Pending::Done,
                                }
                            }
                            Screen::Denied(refusal) => {
                                self.client.refuse_publish(&self.shared, &request, &refusal);
                                Pending::Done
                            }
                            Screen::Ask => Pending::HookedPublish(Box::pin(
                                self.client.authorize_publish(&self.shared, request),
                            )),
                        }
                    }
                    Command::Subscribe(request) => {
                        // The ticket is given back once the filters are in the router, or
                        // when the hooks take the subscription: publishes wait for neither.
                        if self.shared.hooks().screens(Interest::AUTHORIZE_SUBSCRIBE) {
                            self.subscribing = None;
                            Pending::Hooks(Box::pin(
                                self.client.authorize_subscribe(&self.shared, request),
                            ))
                        } else {
                            let wait = self.client.on_subscribe(&self.shared, request);
                            self.subscribing = None;
                            match wait {
                                None => Pending::Done,
                                // With cluster peers the SUBACK waits for the route, with a
                                // durable store for the session record.
                                Some(wait) => Pending::Hooks(Box::pin(
                                    self.client.finish_subscribe(&self.shared, wait),
                                )),
                            }
                        }
                    }
                    Command::Unsubscribe(request) => {
                        self.client.on_unsubscribe(&self.shared, request);
                        Pending::Done
                    }
                    Command::Close(close) => {
                        self.client.close = Some(Box::new(close));
                        Pending::Done
                    }
                }
            };
            match pending {
                Pending::Connect(connect) => connect.await,
                Pending::Publish(publish) => {
                    let routed = publish.await;
                    self.routed |= routed;
                }
                Pending::Hooks(hooks) => hooks.await,
                Pending::HookedPublish(hooks) => {
                    let routed = hooks.await;
                    self.routed |= routed;
                }
                Pending::Done => {}
            }
        }
    }

    /// Encodes every packet the session wants sent into the write buffer.
    fn encode_transmits(&mut self) {
        let mut tally = Tally::default();
        while let Some(packet) = self.client.session.poll_transmit() {
            let Some(version) = self
                .client
                .session
                .version()
                .or(self.wire.decoder.version())
            else {
                // Nothing can be encoded before the version is known; the session sends
                // nothing then either.
                tracing::debug!(client = %self.label(), "Dropping a packet before the version is known.");
                continue;
            };
            PacketLine {
                direction: Direction::Sending,
                client: &self.label(),
                packet: &packet,
                version: Some(version),
            }
            .log(self.traced());
            match packet.encode(version, &mut self.wire.write_buf) {
                Ok(_) => tally.packet(&packet),
                Err(error) => {
                    tracing::warn!(client = %self.label(), %error, "Could not encode a packet; it is not sent.");
                }
            }
        }
        self.shared.listener().traffic().flush_sent(&mut tally);
    }

    /// Moves messages from the mailbox into the session while it can take them and the
    /// write buffer has room; a message the session cannot take goes back to the front.
    /// Returns whether it stopped early because the session's record must be written before
    /// what it pulled is sent (a stored QoS 2 exchange began): pull again once it is.
    fn pull_mailbox(&mut self, now: Instant) -> bool {
        let Some(mailbox) = self
            .client
            .key
            .as_ref()
            .map(|key| Arc::clone(key.mailbox()))
        else {
            return false;
        };
        if mailbox.take_overflowed() && self.client.session.is_connected() {
            tracing::info!(
                "Client {} is too slow for its traffic (queue full), disconnecting.",
                self.label()
            );
            self.client
                .session
                .server_disconnect(ReasonCode::QuotaExceeded, now);
            return false;
        }
        let mut expired = Vec::new();
        while self.client.session.is_connected() && self.wire.write_buf.len() < WRITE_HIGH_WATER {
            let mut queue = mailbox.lock();
            let mut moved = 0;
            while moved < PULL_BATCH {
                let Some(qos) = queue.front_qos() else { break };
                if !self.client.session.can_deliver(qos) {
                    break;
                }
                let Some(message) = queue.pop(now, &mut expired) else {
                    break;
                };
                // Only when a hook wants events: the topic, for MessageDelivered.
                let delivered = self
                    .shared
                    .hooks()
                    .wants_events()
                    .then(|| (message.message.topic.clone(), message.qos));
                match self.client.session.deliver(message, now) {
                    Delivery::Sent => {
                        moved += 1;
                        if let Some((topic, qos)) = delivered {
                            self.client.emit_delivered(&self.shared, topic, qos);
                        }
                    }
                    Delivery::Blocked(message) => {
                        queue.put_back(message);
                        break;
                    }
                    Delivery::Dropped(dropped) => {
                        routing::log_drop(&self.shared, &mailbox, &dropped)
                    }
                }
            }
            // Copies waiting for room are admitted as messages leave: more to take then.
            let admitted = if moved > 0 {
                queue.took(now, &mailbox)
            } else {
                0
            };
            let more = moved == PULL_BATCH || admitted > 0;
            // The window of a durable mailbox drained to half: read the next copies back.
            let read_back = queue.wants_read_back();
            drop(queue);
            if read_back {
                let shared = Arc::clone(&self.shared);
                read_back::start(self.shared.persist().shared_store(), &mailbox, move |n| {
                    shared.stats().dropped_many(DropCause::NotInStore, n);
                });
            }
            for dropped in expired.drain(..) {
                routing::log_drop(&self.shared, &mailbox, &dropped);
            }
            if self.client.must_save_record() {
                return more;
            }
            self.encode_transmits();
            if !more {
                break;
            }
        }
        false
    }

    /// Waits for one event: a takeover request, a change of run state, the socket (read or
    /// write), the mailbox, or the session's timer.
    async fn wait(&mut self) {
        // Only flags are kept across the wait: every local here is in every task.
        let has_deadline = match self.next_deadline() {
            Some(at) => {
                self.wire.set_timer(at);
                true
            }
            None => false,
        };
        let can_pull = self.client.key.is_some()
            && self.client.session.is_connected()
            && self.wire.write_buf.len() < WRITE_HIGH_WATER;
        let has_pending = self.client.pending_acks() > 0;
        let can_read = self.wire.read_open
            && self.wire.paused_until().is_none()
            && self.wire.write_buf.len() < READ_PAUSE
            && self.client.pending_acks() < MAX_PENDING;
        let can_io = can_read || !self.wire.write_buf.is_empty() || self.wire.stream.unflushed();
        tokio::select! {
            biased;
            control = self.client.control.requested() => self.on_control(control),
            changed = self.run_state.changed() => {
                let state = if changed.is_ok() { self.run_state_now() } else { RunState::Stopped };
                self.on_run_state(state);
            }
            // Readiness polled in place, not futures of the socket: one unsplit socket (no
            // shared allocation), and nothing added to every task. Writing goes first.
            io = poll_fn(|cx| self.wire.stream.poll_io(cx, &self.wire.write_buf, can_read, &mut self.wire.read_buf)), if can_io => match io {
                Io::Written(Ok(0) | Err(_)) | Io::Readable(Err(_)) => self.on_lost(Lost::Error),
                Io::Written(Ok(n)) => {
                    self.shared.listener().traffic().bytes_sent(n);
                    self.wire.write_buf.advance(n);
                    if self.wire.write_buf.is_empty() && !KEEP_WRITE_CAPACITY.contains(&self.wire.write_buf.capacity()) {
                        self.wire.write_buf = BytesMut::new();
                    }
                }
                Io::Readable(Ok(())) => self.on_readable().await,
            },
            // The futures themselves, not wrappers: each adds its size to every task.
            () = wake_up(self.client.key.as_ref().map(|key| &**key.mailbox())).wait(), if can_pull => {}
            () = poll_fn(|cx| self.client.route_buffers.as_mut().map_or(Poll::Pending, |b| b.pending.poll_front(cx))), if has_pending => {}
            () = poll_fn(|cx| poll_timer(&mut self.wire.timer, cx)), if has_deadline => {
                self.on_timer();
                return;
            }
        }
        self.busy = true;
    }

    /// Reads what the socket has ([`Wire::read_some`]) and feeds every complete packet to
    /// the session.
    async fn on_readable(&mut self) {
        let (read, lost) = self.wire.read_some(self.handshake_done);
        self.shared.listener().traffic().bytes_received(read);
        self.wire.release_if_complete(self.shared.receive_limits());
        self.decode_all().await;
        if self.wire.throttle.is_some() {
            self.take_from_throttle(read);
        }
        // Every packet read is carried out: slots granted in a full queue go back.
        if let Some(buffers) = self.client.route_buffers.as_mut() {
            buffers.blocked.end_turn();
        }
        match lost {
            Some(how) => self.on_lost(how),
            None if self.wire.read_buf.is_empty() => {
                // Give the buffer back while idle; decoded packets keep their own bytes alive.
                self.wire.read_buf = BytesMut::new();
            }
            None => {
                if self.wire.read_open && !self.wire.charge_if_large(self.shared.receive_limits()) {
                    self.over_receive_budget();
                }
            }
        }
    }

    /// The packet arriving does not fit in the receive budget: the client is disconnected
    /// (MQTT 5: DISCONNECT 0x97 Quota exceeded, or CONNACK 0x97 before the CONNECT exchange
    /// is done) and nothing more is read.
    #[cold]
    fn over_receive_budget(&mut self) {
        let limits = self.shared.receive_limits();
        tracing::warn!(
            "Client {} sent a packet of {} bytes while {} bytes of packets being received are held, over the receive budget; disconnecting.",
            self.label(),
            self.wire.decoder.declared_len(&self.wire.read_buf).unwrap_or(0),
            limits.held()
        );
        let now = now();
        if self.client.session.is_connected() {
            self.client
                .session
                .server_disconnect(ReasonCode::QuotaExceeded, now);
        } else {
            self.client.session.reject(ReasonCode::QuotaExceeded, now);
            self.client.session.connection_lost(now);
        }
        self.wire.read_open = false;
    }

    /// Decodes every complete packet in the read buffer into the session, carrying out the
    /// commands after each.
    async fn decode_all(&mut self) {
        self.client.first_in_read = true;
        while self.decode_one() {
            if let Some(packet) = self.client.held.take() {
                // Boxed: only with hooks that rewrite filters.
                Box::pin(self.client.rewrite_filters(&self.shared, *packet)).await;
            }
            self.carry_out_commands().await;
            // A SUBSCRIBE the session refused.
            self.subscribing = None;
            self.client.first_in_read = false;
        }
    }

    /// Decodes the next complete packet and feeds it to the session. Returns whether it did
    /// (then its commands are to be carried out). A plain function, so that no packet-sized
    /// storage stays in the connection's future while commands are carried out.
    fn decode_one(&mut self) -> bool {
        if !self.wire.read_open || self.client.session.is_closed() {
            return false;
        }
        match self.wire.decoder.decode(&mut self.wire.read_buf) {
            Ok(Some(packet)) => {
                self.shared.listener().traffic().packet_received(&packet);
                if let (Some(throttle), Packet::Publish(_)) = (&mut self.wire.throttle, &packet) {
                    throttle.publish_decoded();
                }
                self.log_received(&packet);
                if self.client.rewrites_filters_of(&self.shared, &packet) {
                    self.client.held = Some(Box::new(packet));
                } else {
                    if matches!(packet, Packet::Subscribe(_)) {
                        self.subscribing = Some(self.shared.subscribe_gate().begin());
                    }
                    self.client.session.handle_packet(packet, now());
                }
                true
            }
            Ok(None) => false,
            Err(error) => {
                tracing::info!(
                    "Client {} sent a bad packet, disconnecting: {error}",
                    self.label()
                );
                self.client.session.handle_decode_error(&error, now());
                self.wire.read_open = false;
                false
            }
        }
    }

    fn log_received(&self, packet: &Packet) {
        match packet {
            Packet::Connect(connect) => {
                let traced = self
                    .shared
                    .client_trace()
                    .is_traced(Some(&connect.client_id));
                if traced || tracing::enabled!(tracing::Level::DEBUG) {
                    let line = format!(
                        "Received CONNECT from {} as {} (p{}, c{}, k{})",
                        self.client.peer(),
                        connect.client_id,
                        connect.protocol.level(),
                        u8::from(connect.clean_start),
                        connect.keep_alive
                    );
                    if traced {
                        tracing::info!("{line}");
                    } else {
                        tracing::debug!("{line}");
                    }
                }
            }
            _ => PacketLine {
                direction: Direction::Received,
                client: &self.label(),
                packet,
                version: self.client.session.version(),
            }
            .log(self.traced()),
        }
    }

    /// The connection is gone: tell the session (it closes).
    fn on_lost(&mut self, how: Lost) {
        self.wire.read_open = false;
        if self.wire.lost.is_none() {
            self.wire.lost = Some(how);
        }
        if !self.client.session.is_closed() {
            self.client.session.connection_lost(now());
        }
    }

    /// A request through the control slot: another connection takes the client identifier
    /// over (MQTT 5: DISCONNECT 0x8E; where to send the session waits in the slot), an
    /// administrative close (0x98), or the figures the admin operations ask for.
    fn on_control(&mut self, control: Control) {
        let session = &mut self.client.session;
        match control {
            Control::Takeover => session.take_over(now()),
            Control::Admin(AdminRequest::Close { discard_session }) => {
                session.administrative_close(discard_session, now());
            }
            Control::Admin(AdminRequest::Figures(reply)) => {
                let state = session.state();
                let _ = reply.send(LiveFigures {
                    peer: self.client.peer,
                    protocol: session.version(),
                    clean_start: session.clean_start,
                    inflight: state.outbound().len(),
                    subscriptions: state.subscription_count(),
                    session_expiry: session.session_expiry(),
                    keep_alive: session.keep_alive().seconds(),
                });
            }
        }
    }

    /// The broker is shutting down: say goodbye (MQTT 5: DISCONNECT 0x8B) and close.
    fn on_run_state(&mut self, state: RunState) {
        if state == RunState::Running || self.client.session.is_closed() {
            return;
        }
        let now = now();
        if self.client.session.is_connected() {
            self.client
                .session
                .server_disconnect(ReasonCode::ServerShuttingDown, now);
        } else {
            // Before CONNACK there is nothing to say: the connection just closes.
            self.client.session.connection_lost(now);
        }
    }

    /// Sends what is left (bounded in time) and shuts the write side down, settles the
    /// session (hand it over, end it, or keep it offline), then, if the broker had a last
    /// word (a DISCONNECT, a refusing CONNACK), reads and discards what the client still
    /// sends for a bounded time ([`Wire::drain_input`]) before the socket closes, so that
    /// the client can read that word.
    pub(crate) async fn finish(mut self) {
        // A session that never emitted Close (the broker stops under it) is closed as lost;
        // one that emitted it as the last acknowledgements were completed (a 3.x publish the
        // store refused) has it carried out here.
        if self.client.close.is_none() {
            if !self.client.session.is_closed() {
                self.client.session.connection_lost(now());
            }
            self.carry_out_commands().await;
        }
        if self.client.must_save_record() {
            Box::pin(self.client.save_changed_record(&self.shared)).await;
        }
        if self.client.discards_stored_will() {
            // A normal DISCONNECT: the will leaves the stored record before the socket closes.
            Box::pin(self.client.drop_stored_will(&self.shared)).await;
        }
        self.encode_transmits();
        // Nothing is flushed to a client that is gone, nor once the broker stops.
        let mut answered = false;
        if self.run_state_now() != RunState::Stopped && self.wire.lost.is_none() {
            let last_word = !self.wire.write_buf.is_empty();
            let flush = async {
                self.wire
                    .stream
                    .write_all_buf(&mut self.wire.write_buf)
                    .await?;
                self.wire.stream.shutdown().await
            };
            let timeout = self.shared.shutdown_timeout().min(Duration::from_secs(5));
            let flushed = tokio::time::timeout(timeout, flush).await;
            answered = last_word && matches!(flushed, Ok(Ok(())));
        }
        self.wire.release_all(self.shared.receive_limits());
        self.client.log_close(self.wire.lost);
        self.client.announce_close(&self.shared);
        let Connection {
            shared,
            client,
            mut wire,
            ..
        } = self;
        let control = Arc::clone(&client.control);
        client.settle(&shared).await;
        control.settled();
        if answered {
            wire.drain_input().await;
        }
    }
}

/// Never notified: what a connection without a mailbox would wait on (its branch is off).
static NO_MAILBOX: Signal = Signal::new();

/// The mailbox's wake-up, or one that never comes without a mailbox.
fn wake_up(mailbox: Option<&Mailbox>) -> &Signal {
    mailbox.map_or(&NO_MAILBOX, Mailbox::wake_up)
}
