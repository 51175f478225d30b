//! A persistent session's record written while it is online, when the store keeps messages:
//! at its CONNECT (before the CONNACK) and at each SUBSCRIBE (before the SUBACK) the broker
//! waits for the store; an UNSUBSCRIBE is written without waiting (losing it keeps a
//! subscription a restart should have dropped, never loses one).
//!
//! The record written while the session is online holds the connection's will, so that a
//! restart after a crash publishes it, as the loss of the connection would have
//! ([MQTT-3.1.2-8]). A normal DISCONNECT discards the will ([MQTT-3.1.2-10]): the record is
//! written again without it, and waited for, before the socket closes
//! ([`Client::drop_stored_will`]).

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

    /// Writes `state` as this persistent session's record, with the connection's will (none
    /// once the connection is closed), and waits until the store has it (at most
    /// [`LOAD_TIMEOUT`]). Returns whether it does; `true` when the connection no longer holds
    /// the session (what took it over writes instead).
    pub(crate) async fn save_record(
        &self,
        shared: &Shared,
        state: &SessionState,
        session_expiry: u32,
    ) -> bool {
        let will = self.session.will().cloned();
        let record = StoredSession::from_state(state, session_expiry, will);
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

    /// Whether the session's record must be written before its next packets leave: it
    /// changed ([`Session::record_changed`]) and the session is persistent with a store that
    /// keeps messages. Any other session forgets the change.
    ///
    /// [`Session::record_changed`]: crate::session::Session::record_changed
    pub(crate) fn must_save_record(&mut self) -> bool {
        if !self.session.record_changed() {
            return false;
        }
        if self.is_durable() {
            return true;
        }
        self.session.clear_record_changed();
        false
    }

    /// Writes the record of a persistent session whose record changed, and waits: before a
    /// stored QoS 2 PUBLISH or PUBREL leaves, so that a crash after it sends that exchange
    /// again under the same packet identifier, and before the PUBREC or PUBCOMP of a QoS 2
    /// message from the client, so that a repeat of it is known after a crash and a new
    /// message under a released identifier is not.
    pub(crate) async fn save_changed_record(&mut self, shared: &Shared) {
        // What the client has finished with goes first: a record that no longer lists a
        // completed exchange must not reach the store before the exchange's message is
        // forgotten, or a crash between the two would send that message again.
        if let Some((owner, seqs)) = self.finished_stored() {
            shared.persist().forget(&owner, seqs).await;
        }
        if !self
            .save_record(shared, self.session.state(), self.session.session_expiry())
            .await
        {
            tracing::warn!(client = %self.label(), "The session store did not take the session's QoS 2 exchanges; they go out anyway.");
        }
        self.session.clear_record_changed();
    }

    /// Hands this persistent session's record to the store now, without waiting. Returns
    /// `false` when there is no room in the store's channel now: a caller that must have it
    /// written takes the path that waits; one that need not (an UNSUBSCRIBE: a lost write
    /// keeps a subscription, and the next write repairs it) goes on.
    pub(crate) fn send_record(&mut self, shared: &Shared) -> bool {
        let Some(slot) = shared.persist().try_reserve() else {
            return false;
        };
        let record = StoredSession::from_state(
            self.session.state(),
            self.session.session_expiry(),
            self.session.will().cloned(),
        );
        if shared
            .registry()
            .save_online(&self.control, record, slot, None)
        {
            self.session.clear_record_changed();
        }
        true
    }

    /// Whether this connection's close discarded a will that the session's record holds (a
    /// normal DISCONNECT of a persistent session with a store that keeps messages).
    pub(crate) fn discards_stored_will(&self) -> bool {
        self.close
            .as_ref()
            .is_some_and(|close| close.discarded_will)
            && self.is_durable()
    }

    /// Writes the record without the will the close discarded, and waits (at most
    /// [`LOAD_TIMEOUT`]), before the socket closes: once the client's normal DISCONNECT has
    /// been acted on, no restart publishes the will ([MQTT-3.1.2-10], [MQTT-3.14.4-3]). If
    /// the store does not take it, a crash before the record's next write could still
    /// publish the will; the log says so.
    pub(crate) async fn drop_stored_will(&self, shared: &Shared) {
        let saved = self
            .save_record(shared, self.session.state(), self.session.session_expiry())
            .await;
        if !saved {
            tracing::warn!(client = %self.label(), "The session store did not take the session without its will; a crash now could still publish it.");
        }
    }
}
