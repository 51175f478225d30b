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
