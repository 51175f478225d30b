//! The answer to a route announcement.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::ClusterError;

/// Completes once every reachable peer has recorded a route ([`ClusterLink::route_added`]).
///
/// [`RouteAck::done`] is complete already and allocates nothing: what a link without peers
/// returns, so a lone node's SUBSCRIBE path pays nothing for the cluster.
///
/// [`ClusterLink::route_added`]: super::ClusterLink::route_added
#[must_use = "a SUBACK waits for the route to be known"]
pub struct RouteAck(Option<Waiting>);

/// What a pending acknowledgement waits on.
type Waiting = Pin<Box<dyn Future<Output = Result<(), ClusterError>> + Send>>;

impl RouteAck {
    /// Complete: no peer has to record anything.
    pub const fn done() -> Self {
        RouteAck(None)
    }

    /// Completes when `until` does.
    pub fn pending(until: impl Future<Output = Result<(), ClusterError>> + Send + 'static) -> Self {
        RouteAck(Some(Box::pin(until)))
    }

    /// Whether it is complete already, so that nothing is to be awaited.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.0.is_none()
    }
}

impl Future for RouteAck {
    type Output = Result<(), ClusterError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            None => Poll::Ready(Ok(())),
            Some(until) => {
                let result = std::task::ready!(until.as_mut().poll(cx));
                self.0 = None;
                Poll::Ready(result)
            }
        }
    }
}

impl fmt::Debug for RouteAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RouteAck")
            .field(&if self.is_done() { "done" } else { "pending" })
            .finish()
    }
}
