//! An MQTT 5 enhanced authentication in progress (MQTT 5.0 §4.12), as a connection keeps it
//! between the client's AUTH packets.

use crate::hooks::PendingAuth;
use crate::session::ConnectRequest;

/// An enhanced authentication waiting for the client's next AUTH 0x18.
pub(crate) struct AuthExchange {
    /// The hooks' side of the exchange.
    pub(crate) pending: PendingAuth,
    /// The CONNECT being authenticated; `None` for a re-authentication.
    pub(crate) connect: Option<ConnectRequest>,
}
