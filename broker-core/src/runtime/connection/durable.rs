//! A persistent session's record written while it is online, when the store keeps messages:
//! at its CONNECT (before the CONNACK) and at each SUBSCRIBE (before the SUBACK) the broker
//! waits for the store; an UNSUBSCRIBE is written without waiting (losing it keeps a
//! subscription a restart should have dropped, never loses one).

use tokio::sync::oneshot;

use crate::runtime::clipped::Clipped;
use crate::runtime::connection::client::Client;
use crate::runtime::persist::handle::LOAD_TIMEOUT;
use crate::runtime::state::shared::Shared;
use crate::session::SessionState;
use crate::store::StoredSession;

impl Client {
    /// Whether this connection's session is persistent and the store keeps its messages.
    pub(crate) fn is_durable(&self) -> bool {
        self.key
            .as_ref()
            .is_some_and(|key| key.mailbox().durable_owner().is_some())
    }

    /// Writes `state` as this persistent session's record and waits until the store has it
    /// (at most [`LOAD_TIMEOUT`]). Returns whether it does; `true` when the connection no
    /// longer holds the session (what took it over writes instead).
    pub(crate) async fn save_record(
        &self,
        shared: &Shared,
        state: &SessionState,
        session_expiry: u32,
    ) -> bool {
        let record = StoredSession::from_state(state, session_expiry, None);
        let Some(slot) = shared.persist().reserve().await else {
            return false;
        };
        let (reply, answer) = oneshot::channel();
        if !shared
            .registry()
            .save_online(&self.control, record, slot, Some(reply))
        {
            return true;
        }
        match tokio::time::timeout(LOAD_TIMEOUT, answer).await {
            Ok(Ok(Ok(()))) => true,
            _ => {
                tracing::warn!(
                    "Client {}: the session store did not take its session.",
                    Clipped(state.client_id())
                );
                false
            }
        }
    }

    /// Hands this persistent session's record to the store now, without waiting, if it
    /// changed (see [`Session::record_changed`](crate::session::Session::record_changed)):
    /// before the copies of a message it published, so that the store never holds the copies
    /// without the QoS 2 identifier. Returns `false` when there is no room in the store's
    /// channel now (the caller takes the path that waits).
    pub(crate) fn save_record_before_copies(&mut self, shared: &Shared) -> bool {
        if !self.session.record_changed() || !self.is_durable() {
            return true;
        }
        let Some(slot) = shared.persist().try_reserve() else {
            return false;
        };
        let record =
            StoredSession::from_state(self.session.state(), self.session.session_expiry(), None);
        if shared
            .registry()
            .save_online(&self.control, record, slot, None)
        {
            self.session.clear_record_changed();
        }
        true
    }

    /// Writes this persistent session's record without waiting, if there is room in the
    /// store's channel now (a lost write is repaired by the next one).
    pub(crate) fn save_record_lazily(&self, shared: &Shared) {
        let record =
            StoredSession::from_state(self.session.state(), self.session.session_expiry(), None);
        match shared.persist().try_reserve() {
            Some(slot) => {
                shared
                    .registry()
                    .save_online(&self.control, record, slot, None);
            }
            None => tracing::debug!(
                "Client {}: the session store is busy; its record is written later.",
                Clipped(&record.client_id)
            ),
        }
    }
}
