//! [`TestClient`]: who calls, in a [`PluginHarness`](crate::PluginHarness) test.

use std::net::SocketAddr;
use std::sync::Arc;

use broker_core::hooks::{Attributes, ClientInfo, ListenerName, Username};
use broker_core::types::{ClientId, MqttString, ProtocolVersion};

use crate::harness::HarnessError;

/// A connection as a plugin sees it: an MQTT 5 client on the listener `test`, with no user
/// name, address or attributes until they are set.
#[derive(Debug, Clone)]
pub struct TestClient {
    info: ClientInfo,
}

impl TestClient {
    /// The client `client_id`.
    ///
    /// # Errors
    ///
    /// [`HarnessError::Client`] when `client_id` is no valid client identifier.
    pub fn new(client_id: &str) -> Result<TestClient, HarnessError> {
        let id =
            ClientId::new(client_id).map_err(|_| HarnessError::Client(client_id.to_owned()))?;
        Ok(TestClient {
            info: ClientInfo::new(id, ProtocolVersion::V5, ListenerName::new("test")),
        })
    }

    /// With the user name `username`.
    ///
    /// # Errors
    ///
    /// [`HarnessError::Client`] when it is not a valid MQTT string.
    pub fn username(mut self, username: &str) -> Result<TestClient, HarnessError> {
        let name =
            MqttString::new(username).map_err(|_| HarnessError::Client(username.to_owned()))?;
        self.info = self.info.with_username(Username::new(name));
        Ok(self)
    }

    /// Speaking `protocol`.
    #[must_use]
    pub fn protocol(mut self, protocol: ProtocolVersion) -> TestClient {
        self.info.protocol = protocol;
        self
    }

    /// From `addr`.
    #[must_use]
    pub fn peer_addr(mut self, addr: SocketAddr) -> TestClient {
        self.info = self.info.with_peer_addr(addr);
        self
    }

    /// Carrying `attributes`, as if an authentication hook had attached them.
    #[must_use]
    pub fn attributes(mut self, attributes: Attributes) -> TestClient {
        self.info = self.info.with_attributes(attributes);
        self
    }

    pub(crate) fn info(&self) -> Arc<ClientInfo> {
        Arc::new(self.info.clone())
    }
}
