//! The identity of one connection, as every hook request carries it.

use std::net::SocketAddr;

use super::{Attributes, CertificateDer, ListenerName, Username};
use crate::types::{ClientId, ProtocolVersion};

/// Who a connection is: what its CONNECT said, and where it came from.
///
/// The runtime builds one per connection when the CONNECT arrives and shares it
/// (`Arc<ClientInfo>`) with every request the connection makes, so a request costs a
/// reference count, not copies of strings. It maps onto the WIT `client` resource the
/// plugin host hands to plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client identifier: the client's, or the one the server assigned.
    pub client_id: ClientId,
    /// The CONNECT User Name, if any.
    pub username: Option<Username>,
    /// The protocol version the connection speaks.
    pub protocol: ProtocolVersion,
    /// The remote address; `None` for in-process clients.
    pub peer_addr: Option<SocketAddr>,
    /// The listener the connection arrived on.
    pub listener: ListenerName,
    /// The TLS client certificate, when the listener asked for one and the client sent it.
    pub certificate: Option<CertificateDer>,
    /// What the hook that authenticated the connection attached to it
    /// ([`AuthSuccess::attributes`](super::AuthSuccess::attributes)); empty before.
    pub attributes: Attributes,
}

impl ClientInfo {
    /// A client with no user name, no peer address and no certificate.
    #[must_use]
    pub fn new(client_id: ClientId, protocol: ProtocolVersion, listener: ListenerName) -> Self {
        ClientInfo {
            client_id,
            username: None,
            protocol,
            peer_addr: None,
            listener,
            certificate: None,
            attributes: Attributes::default(),
        }
    }

    /// Sets the user name.
    #[must_use]
    pub fn with_username(mut self, username: Username) -> Self {
        self.username = Some(username);
        self
    }

    /// Sets the remote address.
    #[must_use]
    pub fn with_peer_addr(mut self, peer_addr: SocketAddr) -> Self {
        self.peer_addr = Some(peer_addr);
        self
    }

    /// Sets the attributes an authentication hook attached.
    #[must_use]
    pub fn with_attributes(mut self, attributes: Attributes) -> Self {
        self.attributes = attributes;
        self
    }

    /// Sets the TLS client certificate.
    #[must_use]
    pub fn with_certificate(mut self, certificate: CertificateDer) -> Self {
        self.certificate = Some(certificate);
        self
    }
}
