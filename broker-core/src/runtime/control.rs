//! What one connection task asks another: hand over a client's session.

use tokio::sync::oneshot;

use crate::session::{SessionState, WillMessage};

/// A message to a connection task, sent by the task that takes its client identifier over.
#[derive(Debug)]
pub(crate) enum Control {
    /// Close the connection (MQTT 5: DISCONNECT 0x8E) and send the session back.
    Takeover(oneshot::Sender<Handover>),
}

/// What a connection hands to the one taking its client identifier over.
#[derive(Debug)]
pub(crate) struct Handover {
    /// The session's persistent part.
    pub(crate) state: SessionState,
    /// The old connection's will, if it is still to be dealt with.
    pub(crate) will: Option<WillMessage>,
    /// The old connection's Session Expiry Interval at its close: 0 means its session ended
    /// with it and cannot be resumed.
    pub(crate) session_expiry: u32,
}
