//! The parker: idle connections without a task of their own.
//!
//! A plain TCP connection that has had nothing to do for the broker's park delay hands its
//! socket and its compact state ([`Parked`](super::parked::Parked)) to the parker, and its task ends. The parker
//! keeps the socket in an epoll set of its own (mio), not in tokio's, so a parked
//! connection costs neither a task nor a tokio registration: what an idle connection keeps
//! is its [`Parked`](super::parked::Parked) record, its mailbox and its registry entry.
//!
//! A parked connection is resumed, in a new task ([`Parkable::resume`]), by whichever
//! comes first: its socket readable (a packet, or the close), its mailbox woken (a message),
//! a takeover request for its client identifier, its Keep Alive deadline, or the broker's
//! shutdown. The mailbox and the control slot wake the parker through the connection's
//! [`Ticket`], a [`Waker`] like any task's.
//!
//! The parker knows a parked connection only as a [`Parkable`]: it keeps it, watches its
//! socket and deadline, and hands it back to be resumed; it never imports the connection or
//! the shared state.

use std::future::poll_fn;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Poll, Wake, Waker};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll as MioPoll, Registry, Token};
use slab::Slab;
use tokio::io::unix::AsyncFd;

use super::deadlines::{Deadlines, MAX_TOKENS};
use crate::runtime::clipped::Clipped;
use crate::runtime::clock::now;
use crate::runtime::run_state::RunState;
use crate::runtime::tasks::TaskGuard;
use crate::types::ClientId;
/// Readiness events taken per poll of the parker's epoll set.
const EVENTS: usize = 256;

/// A parked connection as the parker keeps it.
pub(crate) trait Parkable: Send {
    /// Its socket, for the parker's epoll set.
    fn fd(&self) -> RawFd;
    /// The client identifier, for the log.
    fn client_id(&self) -> &ClientId;
    /// When it is resumed if nothing else comes first.
    fn deadline(&self) -> Option<Instant>;
    /// Whether `ticket` is its.
    fn has_ticket(&self, ticket: &Arc<Ticket>) -> bool;
    /// Makes `waker` what wakes it; returns whether something already waits.
    fn register(&self, waker: &Waker) -> bool;
    /// Runs it again, in a task of its own.
    fn resume(self: Box<Self>);
}

/// The parked connections of one broker, and what wakes them.
pub(crate) struct Parker {
    /// The parker's epoll set, to add and remove sockets from any task.
    registry: Registry,
    /// The epoll set itself, until the parker's task takes it.
    poll: Mutex<Option<MioPoll>>,
    state: Mutex<ParkerState>,
    /// Tickets woken since the parker last looked.
    woken: Mutex<Vec<Arc<Ticket>>>,
    /// The parker task's waker.
    task: AtomicWaker,
    /// A connection parked with a deadline earlier than the parker's timer.
    rearm: AtomicBool,
}

/// The parked connections, by token, and their deadlines in order.
struct ParkerState {
    /// Boxed: the slab grows by doubling, and moving the records themselves each time would
    /// leave large freed arrays behind.
    parked: Slab<Box<dyn Parkable>>,
    deadlines: Deadlines,
    /// Whether connections may still park (not once the broker shuts down).
    open: bool,
}

/// What resumes a parked connection, for the debug log.
#[derive(Debug, Clone, Copy)]
enum Cause {
    /// Its socket is readable (a packet, or the close).
    Socket,
    /// Its mailbox or its control slot woke it.
    Ticket,
    /// Its deadline passed.
    Deadline,
    /// The broker shuts down.
    Shutdown,
}

/// The waker of one parked connection: its mailbox and its control slot hold it while it
/// is parked.
pub(crate) struct Ticket {
    token: usize,
    parker: Weak<Parker>,
}

impl Wake for Ticket {
    fn wake(self: Arc<Self>) {
        if let Some(parker) = self.parker.upgrade() {
            lock(&parker.woken).push(self);
            parker.task.wake();
        }
    }
}

impl std::fmt::Debug for Parker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parker")
            .field("parked", &self.lock().parked.len())
            .finish_non_exhaustive()
    }
}

/// Locks `mutex`; a poisoned lock is taken over (every change under these locks is one call).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Parker {
    /// A parker with its own epoll set.
    ///
    /// # Errors
    ///
    /// The epoll set could not be made (out of file descriptors).
    pub(crate) fn new() -> io::Result<Arc<Parker>> {
        let poll = MioPoll::new()?;
        let registry = poll.registry().try_clone()?;
        Ok(Arc::new(Parker {
            registry,
            poll: Mutex::new(Some(poll)),
            state: Mutex::new(ParkerState {
                parked: Slab::new(),
                deadlines: Deadlines::new(now()),
                open: true,
            }),
            woken: Mutex::new(Vec::new()),
            task: AtomicWaker::new(),
            rearm: AtomicBool::new(false),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, ParkerState> {
        lock(&self.state)
    }

    /// Makes the parker's task look at its deadlines again.
    fn wake_task(&self) {
        self.rearm.store(true, Ordering::Release);
        self.task.wake();
    }

    /// Ready when tickets were woken or the deadlines changed.
    fn poll_woken(&self, cx: &std::task::Context<'_>) -> Poll<()> {
        self.task.register(cx.waker());
        if self.rearm.swap(false, Ordering::AcqRel) || !lock(&self.woken).is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// How many connections are parked now.
    pub(crate) fn len(&self) -> usize {
        self.lock().parked.len()
    }

    /// Parks `connection` in the form `make` gives it (woken through the ticket it is
    /// given), if it is quiet; gives it back otherwise (it goes on in its task). A parked
    /// connection whose socket cannot join the epoll set is resumed at once.
    // Given back by value, once per failed attempt: moving it costs less than a box.
    #[allow(clippy::result_large_err)]
    pub(crate) fn park<C, P: Parkable + 'static>(
        self: &Arc<Self>,
        connection: C,
        make: impl FnOnce(C, Arc<Ticket>) -> Result<P, C>,
    ) -> Result<(), C> {
        let mut state = self.lock();
        if !state.open {
            return Err(connection);
        }
        let entry = state.parked.vacant_entry();
        let token = entry.key();
        if token >= MAX_TOKENS {
            return Err(connection);
        }
        let ticket = Arc::new(Ticket {
            token,
            parker: Arc::downgrade(self),
        });
        let parked = Box::new(make(connection, Arc::clone(&ticket))?);
        let fd = parked.fd();
        if let Err(error) =
            self.registry
                .register(&mut SourceFd(&fd), Token(token), Interest::READABLE)
        {
            tracing::warn!(client = %Clipped(parked.client_id()), %error, "Could not park an idle connection.");
            drop(state);
            parked.resume();
            return Ok(());
        }
        let deadline = parked.deadline();
        let waker = Waker::from(Arc::clone(&ticket));
        let pending = parked.register(&waker);
        tracing::debug!(client = %Clipped(parked.client_id()), "Parked an idle connection.");
        entry.insert(parked);
        let first = state.deadlines.first().map(|(at, _)| at);
        if let Some(deadline) = deadline {
            state.deadlines.insert(deadline, token);
        }
        drop(state);
        if pending {
            // A message or a takeover request came while the connection was parking.
            waker.wake();
        } else if deadline.is_some_and(|d| first.is_none_or(|first| d < first)) {
            // The parker's timer must be set earlier.
            self.wake_task();
        }
        Ok(())
    }

    /// Takes the parked connection `token` out (if `ticket` is given: only if it is still
    /// the one the ticket was made for) and deregisters its socket.
    fn take(&self, token: usize, ticket: Option<&Arc<Ticket>>) -> Option<Box<dyn Parkable>> {
        let mut state = self.lock();
        let current = state.parked.get(token)?;
        if ticket.is_some_and(|ticket| !current.has_ticket(ticket)) {
            return None;
        }
        let parked = state.parked.remove(token);
        if let Some(deadline) = parked.deadline() {
            state.deadlines.remove(deadline, token);
        }
        // Under the lock: the token is not reused before its socket has left the set.
        let _ = self.registry.deregister(&mut SourceFd(&parked.fd()));
        Some(parked)
    }

    /// Resumes the parked connection `token` in a new task.
    fn resume(&self, token: usize, ticket: Option<&Arc<Ticket>>, why: Cause) {
        let Some(parked) = self.take(token, ticket) else {
            return;
        };
        tracing::debug!(client = %Clipped(parked.client_id()), ?why, "Resuming a parked connection.");
        parked.resume();
    }

    /// Resumes every connection whose deadline has passed at `now`.
    fn resume_due(&self, now: Instant) {
        loop {
            let due = {
                let state = self.lock();
                match state.deadlines.first() {
                    Some((at, token)) if at <= now => token,
                    _ => return,
                }
            };
            self.resume(due, None, Cause::Deadline);
        }
    }

    /// The earliest deadline of a parked connection.
    fn next_deadline(&self) -> Option<Instant> {
        self.lock().deadlines.first().map(|(at, _)| at)
    }

    /// Stops parking and resumes every parked connection (the broker shuts down).
    fn close(&self) {
        let tokens: Vec<usize> = {
            let mut state = self.lock();
            state.open = false;
            state.parked.iter().map(|(token, _)| token).collect()
        };
        for token in tokens {
            self.resume(token, None, Cause::Shutdown);
        }
    }
}

/// Drops whatever is still parked when the parker's task ends without resuming it (its
/// runtime shuts down): the parked connections hold the broker's shared state, which holds
/// the parker, so they would otherwise keep each other (and the sockets) alive.
struct ClearOnDrop(Arc<Parker>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        let parked = {
            let mut state = self.0.lock();
            state.open = false;
            state.deadlines.clear();
            std::mem::take(&mut state.parked)
        };
        drop(parked);
    }
}

/// The parker's task: waits for the parked connections' events and resumes them; at
/// shutdown, resumes them all (they say goodbye in their own tasks) and ends.
pub(crate) async fn run(
    parker: Arc<Parker>,
    mut run_state: tokio::sync::watch::Receiver<RunState>,
    _guard: TaskGuard,
) {
    let Some(poll) = lock(&parker.poll).take() else {
        return;
    };
    // The safe constructor, deprecated because a `T` might not own its descriptor: the
    // epoll set is owned by `poll`, which the `AsyncFd` owns and never replaces.
    #[allow(deprecated)]
    let registered = AsyncFd::with_interest(poll, tokio::io::Interest::READABLE);
    let mut poll = match registered {
        Ok(poll) => poll,
        Err(error) => {
            tracing::warn!(%error, "Idle connections cannot be parked.");
            parker.close();
            return;
        }
    };
    let _clear = ClearOnDrop(Arc::clone(&parker));
    let mut events = Events::with_capacity(EVENTS);
    loop {
        let deadline = parker.next_deadline();
        tokio::select! {
            biased;
            changed = run_state.changed() => {
                if changed.is_err() || *run_state.borrow() != RunState::Running {
                    parker.close();
                    return;
                }
            }
            ready = poll.readable_mut() => match ready {
                Ok(mut ready) => {
                    events.clear();
                    if let Err(error) = ready.get_inner_mut().poll(&mut events, Some(Duration::ZERO)) {
                        if error.kind() != io::ErrorKind::Interrupted {
                            tracing::warn!(%error, "Polling the parked connections failed.");
                        }
                    }
                    if events.is_empty() {
                        ready.clear_ready();
                    }
                    for event in &events {
                        parker.resume(event.token().0, None, Cause::Socket);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "The parked connections cannot be watched; resuming them.");
                    parker.close();
                    return;
                }
            },
            () = poll_fn(|cx| parker.poll_woken(cx)) => {
                let woken = std::mem::take(&mut *lock(&parker.woken));
                for ticket in &woken {
                    parker.resume(ticket.token, Some(ticket), Cause::Ticket);
                }
            }
            () = tokio::time::sleep_until(deadline.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std)), if deadline.is_some() => {
                parker.resume_due(now());
            }
        }
    }
}
