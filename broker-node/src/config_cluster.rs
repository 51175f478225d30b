//! The `[cluster]` table: this node's place in a cluster (docs/cluster.md), off unless
//! `enabled = true`.
//!
//! ```toml
//! [cluster]
//! enabled = true
//! node = "skein-1"                    # unique in the cluster
//! cluster_id = "prod"                 # the same on every node
//! bind = "0.0.0.0:7400"               # gRPC, for the peers
//! peers = ["skein-2=10.0.0.2:7400", "skein-3=skein-3.internal:7400"]
//! route_ack_timeout_ms = 2000
//! ```

use std::time::Duration;

use broker_cluster::{ClusterConfig, ClusterId, NodeName, PeerConfig, DEFAULT_ROUTE_ACK_TIMEOUT};
use serde::Deserialize;

use crate::config_duration::{DurationIn, Millis};
use crate::config_resolve::Checker;

/// The `[cluster]` table, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ClusterSection {
    pub(crate) enabled: bool,
    pub(crate) node: Option<String>,
    pub(crate) cluster_id: String,
    pub(crate) bind: String,
    pub(crate) peers: Vec<String>,
    pub(crate) route_ack_timeout_ms: Millis,
}

impl Default for ClusterSection {
    fn default() -> Self {
        ClusterSection {
            enabled: false,
            node: None,
            cluster_id: "skein".to_owned(),
            bind: "0.0.0.0:7400".to_owned(),
            peers: Vec::new(),
            route_ack_timeout_ms: DurationIn(
                u64::try_from(DEFAULT_ROUTE_ACK_TIMEOUT.as_millis()).unwrap_or(2000),
            ),
        }
    }
}

/// Checks the `[cluster]` table: `None` when the cluster is off.
pub(crate) fn resolve(check: &mut Checker, section: &ClusterSection) -> Option<ClusterConfig> {
    if !section.enabled {
        return None;
    }
    let node = match section.node.as_deref().map(NodeName::new) {
        Some(Ok(node)) => Some(node),
        Some(Err(error)) => {
            check.problem("cluster.node", error.to_string());
            None
        }
        None => {
            let why =
                "must be set when the cluster is enabled: this node's name, unique in the cluster";
            check.problem("cluster.node", why.to_owned());
            None
        }
    };
    let cluster_id = ClusterId::new(section.cluster_id.as_str())
        .map_err(|error| check.problem("cluster.cluster_id", error.to_string()))
        .ok();
    let bind = section
        .bind
        .parse()
        .map_err(|_| {
            let why = format!("{:?} is not IP:PORT", section.bind);
            check.problem("cluster.bind", why);
        })
        .ok();
    let peers: Vec<PeerConfig> = section
        .peers
        .iter()
        .enumerate()
        .filter_map(|(n, peer)| {
            peer.parse()
                .map_err(|error: broker_cluster::ConfigError| {
                    check.problem(&format!("cluster.peers[{n}]"), error.to_string());
                })
                .ok()
        })
        .collect();
    let timeout = check.range(
        "cluster.route_ack_timeout_ms",
        section.route_ack_timeout_ms.0,
        1,
        60_000u64,
        2_000u64,
    );
    let (node, cluster_id, bind) = (node?, cluster_id?, bind?);
    ClusterConfig::new(node, cluster_id, bind, peers)
        .map_err(|error| check.problem("cluster.peers", error.to_string()))
        .ok()
        .map(|config| config.with_route_ack_timeout(Duration::from_millis(timeout)))
}

/// Replaces the peers of `config` with `peers` (`--peer`), checked as the file's are.
pub(crate) fn override_peers(
    config: &mut Option<ClusterConfig>,
    peers: &[PeerConfig],
) -> anyhow::Result<()> {
    if peers.is_empty() {
        return Ok(());
    }
    let Some(current) = config.take() else {
        anyhow::bail!(
            "--peer needs a cluster: set [cluster] enabled = true and node in the configuration"
        );
    };
    let timeout = current.route_ack_timeout;
    let replaced = ClusterConfig::new(
        current.node,
        current.cluster_id,
        current.bind,
        peers.to_vec(),
    )?;
    *config = Some(replaced.with_route_ack_timeout(timeout));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(section: &ClusterSection) -> Result<Option<ClusterConfig>, Vec<String>> {
        let mut check = Checker::default();
        let config = resolve(&mut check, section);
        check.finish(config).map_err(|problems| {
            problems
                .into_iter()
                .map(|p| format!("{}: {}", p.key, p.message))
                .collect()
        })
    }

    #[test]
    fn the_cluster_is_off_by_default() {
        assert_eq!(resolved(&ClusterSection::default()), Ok(None));
    }

    #[test]
    fn an_enabled_cluster_needs_a_node_name_and_valid_peers() {
        let mut section = ClusterSection {
            enabled: true,
            ..ClusterSection::default()
        };
        let problems = resolved(&section).unwrap_err();
        assert!(problems[0].starts_with("cluster.node"), "{problems:?}");
        section.node = Some("a".into());
        section.peers = vec!["b=127.0.0.1:7401".into(), "c".into()];
        let problems = resolved(&section).unwrap_err();
        assert!(problems[0].starts_with("cluster.peers[1]"), "{problems:?}");
        section.peers.pop();
        let config = resolved(&section).unwrap().unwrap();
        assert_eq!(config.node.as_str(), "a");
        assert_eq!(config.peers.len(), 1);
        assert_eq!(config.bind, "0.0.0.0:7400".parse().unwrap());
    }

    #[test]
    fn peers_from_the_command_line_replace_the_files() {
        let mut config = None;
        let peers = vec!["b=127.0.0.1:7401".parse().unwrap()];
        assert!(override_peers(&mut config, &peers).is_err(), "no cluster");
        let section = ClusterSection {
            enabled: true,
            node: Some("a".into()),
            peers: vec!["x=h:1".into()],
            ..ClusterSection::default()
        };
        let mut config = resolved(&section).unwrap();
        override_peers(&mut config, &peers).unwrap();
        let names: Vec<_> = config
            .unwrap()
            .peers
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        assert_eq!(names, ["b"]);
    }
}
