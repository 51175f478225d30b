//! The shared state as a connection holds it: counted as an open connection while it lives.

use std::sync::Arc;

use crate::runtime::state::shared::Shared;

/// The broker's shared state, as a connection holds it: the connection is counted in
/// [`Shared::open_connections`] while it lives.
pub(crate) struct Counted(Arc<Shared>);

impl Counted {
    /// Counts one more open connection until the handle is dropped.
    pub(crate) fn new(shared: Arc<Shared>) -> Counted {
        shared.connection_opened();
        Counted(shared)
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
    }
}
