//! What one connection task asks another: hand over a client's session; and what the admin
//! operations ask a connection: its figures now, or to close ([`AdminRequest`]).
//!
//! A connection is asked at most once: the registry holds its [`ControlSlot`] as the holder
//! of its client identifier, and the connection that takes the identifier over moves it out
//! of the registry and asks through it. So one slot, not a channel, carries the request;
//! it costs one small allocation per connection.
//!
//! The session goes over as a [`StoredSession`]: the one form a session has whenever it
//! leaves its connection, whether to a connection on this node, to the store, or to a peer
//! node that takes the client over (through `ClusterLink::take_over`, in its versioned byte
//! form). Its Session Expiry Interval is the old connection's at its close (0: the session
//! ended with it), and its will is the old connection's, if still to be dealt with.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use tokio::sync::oneshot;

use crate::runtime::state::admin_request::{AdminRequest, LiveFigures};
use crate::store::StoredSession;

/// Where a takeover request waits for the connection it is for.
///
/// The connection holds one reference (and waits with [`ControlSlot::takeover_requested`]),
/// the registry or the connection taking over the other. A request left in the slot when the
/// last reference goes is dropped with it, so the one asking learns that no session comes.
#[derive(Default)]
pub(crate) struct ControlSlot {
    state: Mutex<SlotState>,
}

/// The request, whether the connection has seen it, and the waker of the connection
/// waiting for one. A seen request stays here until the session is handed over
/// ([`ControlSlot::take_reply`]). The admin requests not seen yet wait beside it, and the
/// waiters of an administrative close until the connection has settled its session.
#[derive(Default)]
struct SlotState {
    request: Request,
    /// Boxed when the first admin request comes: most connections never see one, and the
    /// slot is part of every connection's memory.
    admin: Option<Box<AdminQueue>>,
    waker: Option<Waker>,
}

/// The admin requests a connection has not seen yet, and the waiters of an administrative
/// close.
#[derive(Default)]
struct AdminQueue {
    requests: VecDeque<AdminRequest>,
    settled: Vec<oneshot::Sender<()>>,
}

/// What a connection is asked ([`ControlSlot::requested`]).
pub(crate) enum Control {
    /// Close and hand the session over ([`ControlSlot::take_reply`] says where).
    Takeover,
    /// An admin request.
    Admin(AdminRequest),
}

/// A takeover request, as far as the connection has seen it.
#[derive(Default)]
enum Request {
    /// None came.
    #[default]
    None,
    /// One came; the connection has not seen it yet.
    Unseen(oneshot::Sender<StoredSession>),
    /// The connection has seen it and closes; the session goes here.
    Seen(oneshot::Sender<StoredSession>),
}

impl ControlSlot {
    /// An empty slot.
    pub(crate) fn new() -> Arc<ControlSlot> {
        Arc::new(ControlSlot::default())
    }

    /// Locks the state. A poisoned lock is taken over: every mutation is one assignment.
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the connection to close (MQTT 5: DISCONNECT 0x8E) and send its session through
    /// `reply`. Takes the caller's reference: if the connection is gone, the request is
    /// dropped here and `reply` is closed.
    pub(crate) fn request_takeover(self: Arc<Self>, reply: oneshot::Sender<StoredSession>) {
        let waker = {
            let mut state = self.lock();
            state.request = Request::Unseen(reply);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Asks the connection for its figures now ([`AdminRequest::Figures`]), and wakes it.
    /// Takes the caller's reference: if the connection is gone, the request is dropped here
    /// and `reply` is closed.
    pub(crate) fn request_figures(self: Arc<Self>, reply: oneshot::Sender<LiveFigures>) {
        self.request_admin(AdminRequest::Figures(reply), None);
    }

    /// Asks the connection to close (MQTT 5: DISCONNECT 0x98 Administrative action), its
    /// session ended with it when `discard_session`; `settled` is answered (or closed) once
    /// the connection has settled its session.
    pub(crate) fn request_close(
        self: Arc<Self>,
        discard_session: bool,
        settled: oneshot::Sender<()>,
    ) {
        self.request_admin(AdminRequest::Close { discard_session }, Some(settled));
    }

    fn request_admin(&self, request: AdminRequest, settled: Option<oneshot::Sender<()>>) {
        let waker = {
            let mut state = self.lock();
            let queue = state.admin.get_or_insert_with(Box::default);
            queue.settled.extend(settled);
            queue.requests.push_back(request);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The connection has settled its session: the waiters of an administrative close are
    /// answered, and the admin requests it will not see are dropped.
    pub(crate) fn settled(&self) {
        let queue = self.lock().admin.take();
        for waiter in queue.map(|queue| queue.settled).unwrap_or_default() {
            let _ = waiter.send(());
        }
    }

    /// Waits for a takeover request not seen yet, and marks it seen: where to send the
    /// session is then [`ControlSlot::take_reply`]'s.
    pub(crate) fn takeover_requested(&self) -> impl std::future::Future<Output = ()> + '_ {
        // The poll function itself, not an `async fn` around it: the smallest future.
        poll_fn(|cx| {
            let mut state = self.lock();
            if state.take_unseen() {
                return Poll::Ready(());
            }
            state.set_waker(cx.waker());
            Poll::Pending
        })
    }

    /// Waits for a request not seen yet: a takeover first (marked seen, as
    /// [`ControlSlot::takeover_requested`] does), then the admin requests in their order.
    pub(crate) fn requested(&self) -> impl std::future::Future<Output = Control> + '_ {
        poll_fn(|cx| {
            let mut state = self.lock();
            if state.take_unseen() {
                return Poll::Ready(Control::Takeover);
            }
            if let Some(request) = state
                .admin
                .as_mut()
                .and_then(|queue| queue.requests.pop_front())
            {
                return Poll::Ready(Control::Admin(request));
            }
            state.set_waker(cx.waker());
            Poll::Pending
        })
    }

    /// Makes `waker` the one a request wakes (the parker's, while the connection is
    /// parked). Returns whether a request not seen yet waits (its waker may not be called
    /// for it).
    pub(crate) fn register(&self, waker: &Waker) -> bool {
        let mut state = self.lock();
        state.waker = Some(waker.clone());
        matches!(state.request, Request::Unseen(_))
            || state
                .admin
                .as_ref()
                .is_some_and(|queue| !queue.requests.is_empty())
    }
}

impl SlotState {
    /// Marks a takeover request not seen yet seen; returns whether there was one.
    fn take_unseen(&mut self) -> bool {
        match std::mem::take(&mut self.request) {
            Request::Unseen(reply) => {
                self.request = Request::Seen(reply);
                true
            }
            other => {
                self.request = other;
                false
            }
        }
    }

    fn set_waker(&mut self, waker: &Waker) {
        match &mut self.waker {
            Some(held) => held.clone_from(waker),
            None => self.waker = Some(waker.clone()),
        }
    }
}

impl ControlSlot {
    /// Where to send the session, once a takeover request was seen
    /// ([`ControlSlot::takeover_requested`]); `None` before, and once taken.
    pub(crate) fn take_reply(&self) -> Option<oneshot::Sender<StoredSession>> {
        let mut state = self.lock();
        match std::mem::take(&mut state.request) {
            Request::Seen(reply) => Some(reply),
            other => {
                state.request = other;
                None
            }
        }
    }
}

impl fmt::Debug for ControlSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlSlot")
            .field(
                "takeover_requested",
                &!matches!(self.lock().request, Request::None),
            )
            .finish()
    }
}
