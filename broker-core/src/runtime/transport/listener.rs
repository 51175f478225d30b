//! One listener: its name and settings as its connections see them (each holds an `Arc`
//! of it). The task that accepts its connections is in
//! [`accept`](crate::runtime::listener::accept); a stream listener has none, the embedder
//! hands its connections over.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use tokio_rustls::TlsAcceptor;

use crate::config::{ListenerConfig, Transport};
use crate::hooks::ListenerName;
use crate::listener_stats::ListenerStats;
use crate::runtime::transport::tls;
use crate::runtime::transport::traffic::ListenerTraffic;
use crate::tls_error::TlsError;

/// Where a listener's connections come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intake {
    /// The broker accepts them on its socket.
    Socket,
    /// The embedder accepts them and hands each stream over
    /// ([`BrokerHandle::serve_stream`](crate::BrokerHandle::serve_stream)).
    Streams,
}

/// A listener as its connections know it (each holds an `Arc` of it).
pub(crate) struct Listener {
    /// Its name, as hook requests carry it.
    pub(crate) name: ListenerName,
    /// Its settings.
    pub(crate) config: ListenerConfig,
    /// Where its connections come from.
    pub(crate) intake: Intake,
    /// The TLS acceptor, when the listener uses TLS; replaced whole by
    /// [`Listener::reload_tls`] (a handshake under way keeps the one it took).
    tls: Option<RwLock<TlsAcceptor>>,
    /// Its connections open now (parked ones included).
    open: AtomicUsize,
    /// Its traffic: what its connections count.
    traffic: ListenerTraffic,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// The listener for `config`, its TLS files read (or its rustls configuration taken).
    ///
    /// # Errors
    ///
    /// The TLS settings cannot be used (a file unreadable or invalid), or both files and a
    /// rustls configuration are given.
    pub(crate) fn new(config: ListenerConfig) -> Result<Listener, TlsError> {
        Listener::with_intake(config, Intake::Socket)
    }

    /// The listener for `config` whose connections come from `intake`.
    ///
    /// # Errors
    ///
    /// As [`Listener::new`].
    pub(crate) fn with_intake(
        config: ListenerConfig,
        intake: Intake,
    ) -> Result<Listener, TlsError> {
        let server_config = match (&config.tls, &config.rustls) {
            (Some(_), Some(_)) => {
                return Err(TlsError::Setting {
                    setting: "rustls",
                    message: "a listener takes TLS files (tls) or a rustls configuration \
                              (rustls), not both"
                        .to_owned(),
                })
            }
            (Some(tls), None) => Some(tls::server_config(tls)?),
            (None, Some(rustls)) => Some(Arc::clone(&rustls.0)),
            (None, None) => None,
        };
        let tls = server_config.map(|config| RwLock::new(TlsAcceptor::from(config)));
        Ok(Listener {
            name: ListenerName::new(config.name.as_str()),
            config,
            intake,
            tls,
            open: AtomicUsize::new(0),
            traffic: ListenerTraffic::default(),
        })
    }

    /// Whether connections need a handshake (PROXY header, TLS or WebSocket) before MQTT.
    pub(crate) fn needs_handshake(&self) -> bool {
        self.tls.is_some() || self.config.transport != Transport::Mqtt || self.config.proxy_protocol
    }

    /// Its traffic counters.
    pub(crate) fn traffic(&self) -> &ListenerTraffic {
        &self.traffic
    }

    /// Its figures now.
    pub(crate) fn stats(&self) -> ListenerStats {
        ListenerStats {
            name: self.name.as_str().to_owned(),
            connections_open: self.open.load(Ordering::Acquire),
            connections_accepted: self.traffic.accepted.load(Ordering::Relaxed),
            throttled: self.traffic.throttled.load(Ordering::Relaxed),
            received: self.traffic.received.snapshot(),
            sent: self.traffic.sent.snapshot(),
        }
    }

    /// One more connection open on the listener.
    pub(crate) fn connection_opened(&self) {
        self.open.fetch_add(1, Ordering::AcqRel);
    }

    /// One connection fewer.
    pub(crate) fn connection_closed(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }

    /// Whether the listener has more connections open than its
    /// [`max_connections`](ListenerConfig::max_connections) allows (the one asking included).
    pub(crate) fn over_limit(&self) -> Option<usize> {
        self.config
            .max_connections
            .filter(|max| self.open.load(Ordering::Acquire) > *max)
    }

    /// Whether the listener uses TLS.
    pub(crate) fn has_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The TLS acceptor a new connection's handshake uses: the current one.
    pub(crate) fn tls_acceptor(&self) -> Option<TlsAcceptor> {
        self.tls
            .as_ref()
            .map(|tls| tls.read().unwrap_or_else(PoisonError::into_inner).clone())
    }

    /// Reads the listener's certificate, key and CA files again and puts them in force for
    /// the handshakes that start from now on; connected clients keep their sessions. On an
    /// error the running files stay. `Ok(false)`: the listener has no TLS files (none, or a
    /// rustls configuration of the embedder's, which stays as it is).
    ///
    /// # Errors
    ///
    /// A file is unreadable or invalid (the files in force are kept).
    pub(crate) fn reload_tls(&self) -> Result<bool, TlsError> {
        let (Some(current), Some(config)) = (&self.tls, &self.config.tls) else {
            return Ok(false);
        };
        // Read and checked before the swap, outside the lock.
        let acceptor = TlsAcceptor::from(tls::server_config(config)?);
        *current.write().unwrap_or_else(PoisonError::into_inner) = acceptor;
        Ok(true)
    }
}
