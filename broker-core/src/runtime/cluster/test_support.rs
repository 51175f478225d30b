//! What the cluster seam's tests share: topic names and filters from text, and a broker
//! started on a fake link.

use std::sync::Arc;

use crate::cluster::ClusterLink;
use crate::types::{TopicFilter, TopicName};
use crate::{Broker, BrokerHandle};

pub(super) fn topic(text: &str) -> TopicName {
    TopicName::new(text).unwrap_or_else(|error| panic!("{error}"))
}

pub(super) fn filter(text: &str) -> TopicFilter {
    TopicFilter::new(text).unwrap_or_else(|error| panic!("{error}"))
}

/// A broker without listeners whose peers are reached through `link`.
pub(super) async fn start<L: ClusterLink>(link: Arc<L>) -> (Broker, BrokerHandle) {
    let broker = Broker::builder()
        .no_listeners()
        .cluster_link(link as Arc<dyn ClusterLink>)
        .start()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let handle = broker.handle();
    (broker, handle)
}
