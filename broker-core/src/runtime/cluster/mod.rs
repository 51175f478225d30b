//! The runtime's side of the [`ClusterLink`](crate::cluster::ClusterLink) seam: the node's
//! [`node_link::NodeLink`] (the link, the local routes it was told, one outbox per peer).
//! The task that drains a peer's outbox into the link is a background task
//! ([`peer_outbox`](crate::runtime::background::peer_outbox)).
//!
//! # What this module must never do
//!
//! Add anything to the publish path of a node without peers, or await on the publish path
//! of one with peers: a peer is a subscriber key of the router like a client's mailbox.

pub(crate) mod node_link;

#[cfg(test)]
mod node_link_test;
#[cfg(test)]
mod retained_test;
#[cfg(test)]
mod takeover_test;
#[cfg(test)]
mod test_support;
