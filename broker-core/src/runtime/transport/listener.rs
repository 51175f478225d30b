//! One listener: its name and settings as its connections see them (each holds an `Arc`
//! of it). The task that accepts its connections is in [`accept`](super::accept).

use tokio_rustls::TlsAcceptor;

use crate::config::{ListenerConfig, Transport};
use crate::hooks::ListenerName;
use crate::runtime::transport::tls;
use crate::tls_error::TlsError;

/// A listener as its connections know it (each holds an `Arc` of it).
pub(crate) struct Listener {
    /// Its name, as hook requests carry it.
    pub(crate) name: ListenerName,
    /// Its settings.
    pub(crate) config: ListenerConfig,
    /// The TLS acceptor, when the listener uses TLS.
    pub(crate) tls: Option<TlsAcceptor>,
}

impl Listener {
    /// The listener for `config`, its TLS files read.
    ///
    /// # Errors
    ///
    /// The TLS settings cannot be used (a file unreadable or invalid).
    pub(crate) fn new(config: ListenerConfig) -> Result<Listener, TlsError> {
        let tls = match &config.tls {
            Some(tls) => Some(TlsAcceptor::from(tls::server_config(tls)?)),
            None => None,
        };
        Ok(Listener {
            name: ListenerName::new(config.name.as_str()),
            config,
            tls,
        })
    }

    /// Whether connections need a handshake (TLS or WebSocket) before MQTT.
    pub(crate) fn needs_handshake(&self) -> bool {
        self.tls.is_some() || self.config.transport != Transport::Mqtt || self.config.proxy_protocol
    }
}
