//! The shared state as a connection holds it: counted as an open connection, of the broker
//! and of its listener, while it lives.

use std::sync::Arc;

use crate::runtime::state::shared::Shared;
use crate::runtime::transport::listener::Listener;

/// The broker's shared state, as a connection holds it: the connection is counted in
/// [`Shared::open_connections`] and in its listener's count while it lives.
pub(crate) struct Counted(Arc<Shared>, Arc<Listener>);

impl Counted {
    /// Counts one more open connection on `listener` until the handle is dropped.
    pub(crate) fn new(shared: Arc<Shared>, listener: Arc<Listener>) -> Counted {
        shared.connection_opened();
        listener.connection_opened();
        Counted(shared, listener)
    }
}

impl Counted {
    /// The listener the connection came through.
    pub(crate) fn listener(&self) -> &Listener {
        &self.1
    }
}

impl std::ops::Deref for Counted {
    type Target = Arc<Shared>;

    fn deref(&self) -> &Arc<Shared> {
        &self.0
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.connection_closed();
        self.1.connection_closed();
    }
}
