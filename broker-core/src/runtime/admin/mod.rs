//! The admin operations behind [`BrokerHandle`](crate::BrokerHandle)'s listings and
//! disconnects: read from the registry, the router and the retained store under their
//! locks (copying only), and asking live connections through their control slots. Nothing
//! here is on the path of a publish.

pub(crate) mod clients;
pub(crate) mod retained;
pub(crate) mod subscriptions;
