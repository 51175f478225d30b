//! The embedding API: build a broker, start it inside your own tokio runtime, publish and
//! subscribe in-process through a [`BrokerHandle`], and shut it down gracefully.
//!
//! ```no_run
//! # async fn demo() -> Result<(), broker_core::BrokerError> {
//! use broker_core::config::BrokerConfig;
//! use broker_core::types::{QoS, TopicFilter, TopicName};
//! use broker_core::Broker;
//!
//! let broker = Broker::builder().config(BrokerConfig::default()).start().await?;
//! let handle = broker.handle();
//! let mut sub = handle.subscribe(TopicFilter::new("sensors/#").unwrap(), QoS::AtLeastOnce).await?;
//! handle
//!     .publish(TopicName::new("sensors/1").unwrap(), "21.5".into(), QoS::AtLeastOnce, false)
//!     .await?;
//! let message = sub.recv().await;
//! assert_eq!(message.map(|m| m.payload), Some("21.5".into()));
//! broker.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;

pub use crate::broker_builder::BrokerBuilder;
pub use crate::broker_error::BrokerError;
pub use crate::broker_handle::BrokerHandle;
pub use crate::broker_stats::{BrokerStats, DroppedMessages, PerQos};
pub use crate::broker_subscription::Subscription;

/// A running broker: its listeners are bound and accepting.
///
/// Dropping a `Broker` without [`shutdown`](Self::shutdown) stops it at once: every task
/// ends, connections are closed without a goodbye.
#[derive(Debug)]
pub struct Broker {
    shared: Arc<Shared>,
    local_addrs: Vec<(String, SocketAddr)>,
}

impl Broker {
    /// A builder, with [`BrokerConfig::default`](crate::config::BrokerConfig) until
    /// [`BrokerBuilder::config`] says otherwise.
    pub fn builder() -> BrokerBuilder {
        BrokerBuilder::new()
    }

    pub(crate) fn new(shared: Arc<Shared>, local_addrs: Vec<(String, SocketAddr)>) -> Self {
        Broker {
            shared,
            local_addrs,
        }
    }

    /// Each listener's name and the address it is bound to (the port chosen when the
    /// configuration said port 0).
    #[must_use]
    pub fn local_addrs(&self) -> Vec<(String, SocketAddr)> {
        self.local_addrs.clone()
    }

    /// The broker's hook chain, as built at start: to forget cached authorization decisions
    /// after the hooks' rules changed ([`HookChain::invalidate_all`]).
    ///
    /// [`HookChain::invalidate_all`]: crate::hooks::HookChain::invalidate_all
    #[must_use]
    pub fn hooks(&self) -> Arc<crate::hooks::HookChain> {
        Arc::clone(&self.shared.hooks().chain)
    }

    /// A handle to publish and subscribe in-process; cheap to clone, usable from any task.
    #[must_use]
    pub fn handle(&self) -> BrokerHandle {
        BrokerHandle::new(Arc::clone(&self.shared))
    }

    /// Shuts the broker down gracefully: the listeners stop accepting, every connected MQTT
    /// 5 client gets DISCONNECT 0x8B (Server shutting down), every socket is flushed and
    /// closed. Bounded by the shutdown timeout ([`BrokerBuilder::shutdown_timeout`]); after
    /// it, the connections left are closed without waiting. Every task of the broker has
    /// ended when this returns (in-process subscriptions then yield `None`).
    pub async fn shutdown(self) {
        let shared = Arc::clone(&self.shared);
        tracing::info!("Shutting down.");
        shared.set_run_state(RunState::Draining);
        let drained = tokio::time::timeout(
            shared.shutdown_timeout(),
            shared.network_tasks().wait_idle(),
        )
        .await;
        if drained.is_err() {
            tracing::warn!(
                "{} connections still open after the shutdown timeout; closing them.",
                shared.network_tasks().running()
            );
        }
        shared.set_run_state(RunState::Stopped);
        let grace = std::time::Duration::from_secs(1);
        let _ = tokio::time::timeout(grace, shared.network_tasks().wait_idle()).await;
        let _ = tokio::time::timeout(grace, shared.background_tasks().wait_idle()).await;
        tracing::info!("Shut down.");
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if self.shared.run_state() != RunState::Stopped {
            self.shared.set_run_state(RunState::Stopped);
        }
    }
}
