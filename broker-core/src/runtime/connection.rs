//! One task per network connection: reads and decodes packets into the connection's
//! [`Session`], carries out the session's commands, drains the client's mailbox into the
//! session, and writes what the session transmits, batched.
//!
//! The order after every input is the session's contract: first every command
//! ([`Session::poll_command`]) is carried out, synchronously, then the packets
//! ([`Session::poll_transmit`]) are encoded into the write buffer. So the router knows a
//! subscription before its SUBACK leaves, and a message is routed before its PUBACK.
//!
//! Backpressure: the task pulls from the mailbox only while its unwritten bytes are below
//! [`WRITE_HIGH_WATER`], so a slow subscriber backs up into its own bounded mailbox; it stops
//! reading while they are above [`READ_PAUSE`] (a client that publishes without reading its
//! acknowledgements).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

use super::control::{Control, Handover};
use super::log_lines::{Direction, PacketLine};
use super::mailbox::{Mailbox, SubscriberKey};
use super::routing;
use super::shared::{now, RunState, Shared};
use super::tasks::TaskGuard;
use crate::codec::{Decoder, Packet};
use crate::router::Delivery as Route;
use crate::session::{Close, Command, DeliverOutcome as Delivery, Session};
use crate::types::ReasonCode;

/// Unwritten bytes above which the task stops taking messages from the mailbox.
pub(crate) const WRITE_HIGH_WATER: usize = 64 * 1024;
/// Unwritten bytes above which the task stops reading from the client.
pub(crate) const READ_PAUSE: usize = 256 * 1024;
/// Bytes read from the socket at most per wake-up, so that one busy client does not starve
/// the rest of its own work (timers, mailbox).
const READ_CHUNK: usize = 64 * 1024;
/// Messages moved from the mailbox into the session per lock of the mailbox.
const PULL_BATCH: usize = 64;
/// The capacities of an empty write buffer that are kept for the next packets. A larger
/// buffer is given back (idle connections stay small); so is a tiny one, such as the one a
/// CONNACK or a PINGRESP grew: allocating it again costs less than keeping it for every
/// idle connection.
const KEEP_WRITE_CAPACITY: std::ops::RangeInclusive<usize> = 256..=16 * 1024;
/// How long the control channel holds messages; one is enough in practice.
const CONTROL_CAPACITY: usize = 4;
/// How long a takeover waits for the old connection to hand its session over.
pub(crate) const HANDOVER_TIMEOUT: Duration = Duration::from_secs(5);

/// How a connection was lost, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lost {
    /// The client closed the connection.
    Eof,
    /// Reading or writing failed.
    Error,
}

/// One network connection's task state.
pub(crate) struct Connection {
    pub(crate) shared: Arc<Shared>,
    pub(crate) session: Session,
    pub(crate) conn_id: u64,
    pub(crate) peer: SocketAddr,
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    read_buf: BytesMut,
    write_buf: BytesMut,
    decoder: Decoder,
    pub(crate) control_tx: mpsc::Sender<Control>,
    pub(crate) control_rx: mpsc::Receiver<Control>,
    run_state: watch::Receiver<RunState>,
    /// The client's mailbox, once the CONNECT is accepted.
    pub(crate) mailbox: Option<Arc<Mailbox>>,
    /// The router key of the mailbox (for No Local and subscriptions).
    pub(crate) key: Option<SubscriberKey>,
    /// A reusable buffer for router matches.
    pub(crate) scratch: Vec<Route<SubscriberKey>>,
    /// A reusable buffer for copies waiting for room in a full queue.
    pub(crate) blocked: Vec<routing::Blocked>,
    /// The client identifier, or the peer address before CONNECT: for the log.
    pub(crate) label: String,
    /// The session's Close command, once it came.
    pub(crate) close: Option<Box<Close>>,
    /// Where to send the session when another connection takes it over.
    pub(crate) takeover_reply: Option<oneshot::Sender<Handover>>,
    /// How the connection was lost, if it was.
    pub(crate) lost: Option<Lost>,
    read_open: bool,
    /// Whether what the CONNECT exchange grew has been given back.
    handshake_done: bool,
    _guard: TaskGuard,
    _count: ConnectionCount,
}

/// Counts one open connection in [`Shared::connections`] while it lives.
struct ConnectionCount(Arc<Shared>);

impl Drop for ConnectionCount {
    fn drop(&mut self) {
        self.0
            .connections
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Serves one accepted connection until it closes.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    guard: TaskGuard,
) {
    // Built by a plain function: locals of this future would stay in it while it waits.
    let mut connection = Connection::new(shared, stream, peer, guard);
    connection.run().await;
    // The end runs once per connection, so its future (a bounded flush, the session's
    // settlement, a late handover) is kept on the heap for that moment rather than making
    // every connection's task larger: a task's memory is the size of its largest state.
    Box::pin(connection.finish()).await;
}

impl Connection {
    /// The state of a connection just accepted, counted in [`Shared::connections`].
    fn new(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, guard: TaskGuard) -> Self {
        shared
            .connections
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let count = ConnectionCount(Arc::clone(&shared));
        // MQTT packets are small and latency matters more than segment count.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%peer, %error, "Could not set TCP_NODELAY.");
        }
        let (reader, writer) = stream.into_split();
        let (control_tx, control_rx) = mpsc::channel(CONTROL_CAPACITY);
        let session = Session::new(Arc::clone(&shared.session_config), now());
        let decoder = Decoder::new().max_packet_size(shared.session_config.decoder_limit());
        let run_state = shared.run_state.subscribe();
        Connection {
            conn_id: shared.next_conn_id(),
            shared,
            session,
            peer,
            reader,
            writer,
            read_buf: BytesMut::new(),
            write_buf: BytesMut::new(),
            decoder,
            control_tx,
            control_rx,
            run_state,
            mailbox: None,
            key: None,
            scratch: Vec::new(),
            blocked: Vec::new(),
            label: peer.to_string(),
            close: None,
            takeover_reply: None,
            lost: None,
            read_open: true,
            handshake_done: false,
            _guard: guard,
            _count: count,
        }
    }
}

impl Connection {
    /// Serves the connection until it closes, by reference: a method taking `self` by value
    /// would keep a second copy of the connection in its future.
    async fn run(&mut self) {
        // A shutdown that began before this task started.
        if !self.shared.is_running() {
            self.on_run_state(self.shared.run_state());
        }
        loop {
            self.step().await;
            if self.close.is_some() || self.run_state_now() == RunState::Stopped {
                break;
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
        if self.close.is_none() {
            self.pull_mailbox(now());
            self.carry_out_commands().await;
        }
        self.encode_transmits();
        if !self.handshake_done && self.session.is_connected() {
            self.handshake_done = true;
            // Most connections then wait, often for long: keep nothing the CONNECT exchange
            // grew (the session's packet and command queues). The CONNACK still in the
            // write buffer is written first; the buffer is given back once empty.
            self.session.release_buffers();
        }
    }

    /// Drains [`Session::poll_command`], carrying each out in order.
    pub(crate) async fn carry_out_commands(&mut self) {
        // `let else` rather than `while let`: the scrutinee of a `while let` would keep a
        // second command-sized slot in this future while a branch awaits.
        loop {
            let Some(command) = self.session.poll_command() else {
                break;
            };
            match command {
                // Once per connection, and its future (a takeover waits for the old
                // connection) is larger than the rest: on the heap, not in every task.
                Command::Connect(request) => Box::pin(self.on_connect(request)).await,
                Command::Publish(request) => {
                    if let Some(wait) = self.on_publish(request) {
                        // Boxed: the rare waiting path stays out of every connection's task.
                        Box::pin(self.finish_publish(wait)).await;
                    }
                }
                Command::Subscribe(request) => self.on_subscribe(request),
                Command::Unsubscribe(request) => self.on_unsubscribe(request),
                Command::Close(close) => {
                    self.close = Some(Box::new(close));
                }
            }
        }
    }

    /// Encodes every packet the session wants sent into the write buffer.
    fn encode_transmits(&mut self) {
        while let Some(packet) = self.session.poll_transmit() {
            let Some(version) = self.session.version().or(self.decoder.version()) else {
                // Nothing can be encoded before the version is known; the session sends
                // nothing then either.
                tracing::debug!(client = %self.label, "Dropping a packet before the version is known.");
                continue;
            };
            tracing::debug!(
                "{}",
                PacketLine {
                    direction: Direction::Sending,
                    client: &self.label,
                    packet: &packet,
                    version: Some(version),
                }
            );
            if let Err(error) = packet.encode(version, &mut self.write_buf) {
                tracing::warn!(client = %self.label, %error, "Could not encode a packet; it is not sent.");
            }
        }
    }

    /// Moves messages from the mailbox into the session while it can take them and the
    /// write buffer has room; a message the session cannot take goes back to the front.
    fn pull_mailbox(&mut self, now: Instant) {
        let Some(mailbox) = self.mailbox.clone() else {
            return;
        };
        if mailbox.take_overflowed() && self.session.is_connected() {
            tracing::info!(
                "Client {} is too slow for its traffic (queue full), disconnecting.",
                self.label
            );
            self.session
                .server_disconnect(ReasonCode::QuotaExceeded, now);
            return;
        }
        let mut expired = Vec::new();
        while self.session.is_connected() && self.write_buf.len() < WRITE_HIGH_WATER {
            let mut queue = mailbox.lock();
            let mut moved = 0;
            while moved < PULL_BATCH {
                let Some(qos) = queue.front_qos() else { break };
                if !self.session.can_deliver(qos) {
                    break;
                }
                let Some(message) = queue.pop(now, &mut expired) else {
                    break;
                };
                match self.session.deliver(message, now) {
                    Delivery::Sent => moved += 1,
                    Delivery::Blocked(message) => {
                        queue.put_back(message);
                        break;
                    }
                    Delivery::Dropped(dropped) => {
                        routing::log_drop(&self.shared, &mailbox, &dropped)
                    }
                }
            }
            let more = moved == PULL_BATCH;
            let drained = moved > 0 && queue.mark_drained();
            drop(queue);
            if drained {
                mailbox.wake_publishers();
            }
            for dropped in expired.drain(..) {
                routing::log_drop(&self.shared, &mailbox, &dropped);
            }
            self.encode_transmits();
            if !more {
                break;
            }
        }
    }

    /// Waits for one event: a control message, a change of run state, the socket (read or
    /// write), the mailbox, or the session's timer.
    async fn wait(&mut self) {
        let deadline = self.session.poll_timeout();
        let can_pull = self.mailbox.is_some()
            && self.session.is_connected()
            && self.write_buf.len() < WRITE_HIGH_WATER;
        let can_read = self.read_open && self.write_buf.len() < READ_PAUSE;
        let mailbox = self.mailbox.clone();
        tokio::select! {
            biased;
            Some(control) = self.control_rx.recv() => self.on_control(control),
            changed = self.run_state.changed() => {
                let state = if changed.is_ok() { self.run_state_now() } else { RunState::Stopped };
                self.on_run_state(state);
            }
            written = self.writer.write_buf(&mut self.write_buf), if !self.write_buf.is_empty() => {
                match written {
                    Ok(0) | Err(_) => self.on_lost(Lost::Error),
                    Ok(_) => {
                        if self.write_buf.is_empty() && !KEEP_WRITE_CAPACITY.contains(&self.write_buf.capacity()) {
                            self.write_buf = BytesMut::new();
                        }
                    }
                }
            }
            readable = self.reader.readable(), if can_read => match readable {
                Ok(()) => self.on_readable().await,
                Err(_) => self.on_lost(Lost::Error),
            },
            () = notified(mailbox.as_deref()), if can_pull => {}
            () = sleep_until(deadline), if deadline.is_some() => {
                self.session.handle_timeout(now());
            }
        }
    }

    /// Reads what the socket has (up to [`READ_CHUNK`]) and feeds every complete packet to
    /// the session.
    async fn on_readable(&mut self) {
        let mut read = 0;
        while read < READ_CHUNK {
            if self.read_buf.capacity() - self.read_buf.len() < 4096 {
                self.read_buf.reserve(8192);
            }
            match self.reader.try_read_buf(&mut self.read_buf) {
                Ok(0) => {
                    self.decode_all().await;
                    self.on_lost(Lost::Eof);
                    return;
                }
                Ok(n) => read += n,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.decode_all().await;
                    self.on_lost(Lost::Error);
                    return;
                }
            }
        }
        self.decode_all().await;
        if self.read_buf.is_empty() {
            // Give the buffer back while idle; decoded packets keep their own bytes alive.
            self.read_buf = BytesMut::new();
        }
    }

    /// Decodes every complete packet in the read buffer into the session, carrying out the
    /// commands after each.
    async fn decode_all(&mut self) {
        while self.decode_one() {
            self.carry_out_commands().await;
        }
    }

    /// Decodes the next complete packet and feeds it to the session. Returns whether it did
    /// (then its commands are to be carried out). A plain function, so that no packet-sized
    /// storage stays in the connection's future while commands are carried out.
    fn decode_one(&mut self) -> bool {
        if !self.read_open || self.session.is_closed() {
            return false;
        }
        match self.decoder.decode(&mut self.read_buf) {
            Ok(Some(packet)) => {
                self.log_received(&packet);
                self.session.handle_packet(packet, now());
                true
            }
            Ok(None) => false,
            Err(error) => {
                tracing::info!(
                    "Client {} sent a bad packet, disconnecting: {error}",
                    self.label
                );
                self.session.handle_decode_error(&error, now());
                self.read_open = false;
                false
            }
        }
    }

    fn log_received(&self, packet: &Packet) {
        match packet {
            Packet::Connect(connect) => tracing::debug!(
                "Received CONNECT from {} as {} (p{}, c{}, k{})",
                self.peer,
                connect.client_id,
                connect.protocol.level(),
                u8::from(connect.clean_start),
                connect.keep_alive
            ),
            _ => tracing::debug!(
                "{}",
                PacketLine {
                    direction: Direction::Received,
                    client: &self.label,
                    packet,
                    version: self.session.version(),
                }
            ),
        }
    }

    /// The connection is gone: tell the session (it closes).
    fn on_lost(&mut self, how: Lost) {
        self.read_open = false;
        if self.lost.is_none() {
            self.lost = Some(how);
        }
        if !self.session.is_closed() {
            self.session.connection_lost(now());
        }
    }

    /// A message from another connection.
    fn on_control(&mut self, control: Control) {
        match control {
            Control::Takeover(reply) => {
                self.takeover_reply = Some(reply);
                self.session.take_over(now());
            }
        }
    }

    /// The broker is shutting down: say goodbye (MQTT 5: DISCONNECT 0x8B) and close.
    fn on_run_state(&mut self, state: RunState) {
        if state == RunState::Running || self.session.is_closed() {
            return;
        }
        let now = now();
        if self.session.is_connected() {
            self.session
                .server_disconnect(ReasonCode::ServerShuttingDown, now);
        } else {
            // Before CONNACK there is nothing to say: the connection just closes.
            self.session.connection_lost(now);
        }
    }

    /// Sends what is left (bounded in time), closes the socket, then settles the session:
    /// hand it over, end it, or keep it offline.
    async fn finish(mut self) {
        // A session that never emitted Close (the broker stops under it) is closed as lost.
        if self.close.is_none() && !self.session.is_closed() {
            self.session.connection_lost(now());
            self.carry_out_commands().await;
        }
        self.encode_transmits();
        // Nothing is flushed to a client that is gone, nor once the broker stops.
        if self.run_state_now() != RunState::Stopped && self.lost.is_none() {
            let flush = async {
                self.writer.write_all_buf(&mut self.write_buf).await?;
                self.writer.shutdown().await
            };
            let timeout = self.shared.shutdown_timeout.min(Duration::from_secs(5));
            let _ = tokio::time::timeout(timeout, flush).await;
        }
        self.log_close();
        self.settle().await;
    }
}

/// Waits for a mailbox wake-up; never returns without a mailbox.
async fn notified(mailbox: Option<&Mailbox>) {
    match mailbox {
        Some(mailbox) => mailbox.notified().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`; never returns without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
