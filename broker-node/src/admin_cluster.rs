//! `GET /api/v1/cluster`: the cluster as this node sees it (docs/admin.md), from the
//! running cluster link's [`ClusterView`]; 404 `not_clustered` on a node that runs alone.

use broker_cluster::{ClusterStatus, ClusterView, DnsRecords, PeerReport};
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::admin_query::Params;
use crate::admin_routes::ApiError;

/// Answers `GET /api/v1/cluster`.
///
/// # Errors
///
/// 400 for a parameter (it takes none), 404 when the node is not in a cluster.
pub(crate) fn cluster(
    view: Option<&ClusterView>,
    query: Option<&str>,
) -> Result<(StatusCode, Value), ApiError> {
    Params::parse(query, &[])?;
    let Some(view) = view else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_clustered",
            "this node is not in a cluster ([cluster] enabled = false)".to_owned(),
        ));
    };
    Ok((StatusCode::OK, to_json(&view.status())))
}

/// The JSON of `status`.
pub(crate) fn to_json(status: &ClusterStatus) -> Value {
    let discovery = match &status.discovery {
        Some(dns) => json!({
            "kind": "dns",
            "records": match dns.records() {
                DnsRecords::Address { .. } => "a",
                DnsRecords::Srv => "srv",
            },
            "name": dns.name(),
            "port": dns.port(),
            "interval_seconds": dns.interval().as_secs(),
        }),
        None => json!({"kind": "static"}),
    };
    json!({
        "node": status.node.as_str(),
        "cluster_id": status.cluster_id.as_str(),
        "incarnation": status.incarnation.get(),
        "discovery": discovery,
        "routes": status.routes,
        "route_seq": status.route_seq,
        "peers": status.peers.iter().map(peer).collect::<Vec<_>>(),
    })
}

fn peer(peer: &PeerReport) -> Value {
    json!({
        "name": peer.name.as_ref().map(|name| name.as_str()),
        "address": peer.address,
        "state": peer.state.as_str(),
        "incarnation": peer.incarnation.map(|run| run.get()),
        "routes": peer.routes,
        "route_lag": peer.route_lag,
        "forward_queue": peer.forward_queue,
        "error": peer.error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_alone_has_no_cluster_page() {
        let refused = cluster(None, None).unwrap_err();
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        assert!(cluster(None, Some("x=1")).is_err());
    }
}
