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
//! discovery = "dns"                   # or "static" (the default): only `peers`
//! dns_name = "skein-headless.mqtt.svc.cluster.local"
//! dns_record = "a"                    # A / AAAA (the default), or "srv"
//! dns_port = 7400                     # with "a": the peers' cluster port; default: bind's
//! dns_interval = "10s"                # how often the name is resolved again
//! ```
//!
//! With `dns_record = "srv"`, `dns_name` is an SRV name
//! (`_cluster._tcp.skein-headless.mqtt.svc.cluster.local`) whose records give each peer's
//! host and port, and `dns_port` is refused.

use std::time::Duration;

use broker_cluster::{
    ClusterConfig, ClusterId, DnsDiscovery, NodeName, PeerConfig, DEFAULT_RESOLVE_INTERVAL,
    DEFAULT_ROUTE_ACK_TIMEOUT,
};
use serde::Deserialize;

use crate::config_duration::{DurationIn, Millis, Seconds};
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
    pub(crate) discovery: Discovery,
    pub(crate) dns_name: Option<String>,
    pub(crate) dns_record: DnsRecord,
    pub(crate) dns_port: Option<u64>,
    pub(crate) dns_interval: Seconds,
}

/// How a node finds its peers besides `peers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Discovery {
    /// Only the listed peers.
    #[default]
    Static,
    /// The addresses `dns_name` resolves to, too.
    Dns,
}

/// Which records of `dns_name` list the peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DnsRecord {
    /// A / AAAA records: the peers' addresses, on `dns_port`.
    #[default]
    #[serde(alias = "A")]
    A,
    /// SRV records: each peer's host and port.
    #[serde(alias = "SRV")]
    Srv,
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
            discovery: Discovery::Static,
            dns_name: None,
            dns_record: DnsRecord::A,
            dns_port: None,
            dns_interval: DurationIn(DEFAULT_RESOLVE_INTERVAL.as_secs()),
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
    let discovery =
        bind.and_then(|bind: std::net::SocketAddr| discovery(check, section, bind.port()));
    let (node, cluster_id, bind, discovery) = (node?, cluster_id?, bind?, discovery?);
    ClusterConfig::new(node, cluster_id, bind, peers)
        .map_err(|error| check.problem("cluster.peers", error.to_string()))
        .ok()
        .map(|config| {
            let config = config.with_route_ack_timeout(Duration::from_millis(timeout));
            match discovery {
                Some(dns) => config.with_discovery(dns),
                None => config,
            }
        })
}

/// Checks the discovery keys: `Some(None)` for static peers only, `Some(Some(dns))` with
/// DNS discovery (by A / AAAA records its port defaults to `bind_port`; SRV records carry
/// their own), `None` after a problem.
fn discovery(
    check: &mut Checker,
    section: &ClusterSection,
    bind_port: u16,
) -> Option<Option<DnsDiscovery>> {
    let interval = check.range(
        "cluster.dns_interval",
        section.dns_interval.0,
        DnsDiscovery::MIN_INTERVAL.as_secs(),
        3_600u64,
        DEFAULT_RESOLVE_INTERVAL.as_secs(),
    );
    let port: u16 = match section.dns_port {
        Some(port) => check.range("cluster.dns_port", port, 1, u16::MAX, bind_port),
        None => bind_port,
    };
    if section.discovery == Discovery::Static {
        return Some(None);
    }
    let srv = section.dns_record == DnsRecord::Srv;
    if srv && section.dns_port.is_some() {
        let why = "is not used with dns_record = \"srv\": each SRV record gives its peer's \
                   port; remove it";
        check.problem("cluster.dns_port", why.to_owned());
    }
    let Some(name) = section.dns_name.as_deref() else {
        let why = if srv {
            "must be set when discovery = \"dns\": the SRV name of the nodes' cluster port \
             (for a Kubernetes headless service, _<port name>._tcp.<service>.<namespace>.svc.\
             cluster.local)"
        } else {
            "must be set when discovery = \"dns\": the DNS name of the nodes (a Kubernetes \
             headless service)"
        };
        check.problem("cluster.dns_name", why.to_owned());
        return None;
    };
    let dns = if srv {
        DnsDiscovery::srv(name)
    } else {
        DnsDiscovery::new(name, port)
    };
    let dns = dns
        .map_err(|error| check.problem("cluster.dns_name", error.to_string()))
        .ok()?;
    if srv && section.dns_port.is_some() {
        return None;
    }
    Some(Some(dns.with_interval(Duration::from_secs(interval))))
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
    let discovery = current.discovery;
    let mut replaced = ClusterConfig::new(
        current.node,
        current.cluster_id,
        current.bind,
        peers.to_vec(),
    )?
    .with_route_ack_timeout(timeout);
    replaced.discovery = discovery;
    *config = Some(replaced);
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

    #[test]
    fn dns_discovery_needs_a_name_and_takes_the_bind_port_by_default() {
        let mut section = ClusterSection {
            enabled: true,
            node: Some("skein-0".into()),
            bind: "0.0.0.0:7400".into(),
            discovery: Discovery::Dns,
            ..ClusterSection::default()
        };
        let problems = resolved(&section).unwrap_err();
        assert!(problems[0].starts_with("cluster.dns_name"), "{problems:?}");
        section.dns_name = Some("skein-headless.mqtt.svc.cluster.local".into());
        let config = resolved(&section).unwrap().unwrap();
        let dns = config.discovery.unwrap();
        assert_eq!(dns.name(), "skein-headless.mqtt.svc.cluster.local");
        assert_eq!(dns.port(), Some(7400));
        assert_eq!(dns.interval(), DEFAULT_RESOLVE_INTERVAL);
        section.dns_port = Some(7500);
        section.dns_interval = DurationIn(30);
        let dns = resolved(&section).unwrap().unwrap().discovery.unwrap();
        assert_eq!(
            (dns.port(), dns.interval()),
            (Some(7500), Duration::from_secs(30))
        );
        section.dns_interval = DurationIn(0);
        let problems = resolved(&section).unwrap_err();
        assert!(
            problems[0].starts_with("cluster.dns_interval"),
            "{problems:?}"
        );
        section.dns_interval = DurationIn(10);
        section.dns_name = Some("not a name".into());
        assert!(resolved(&section).is_err());
        section.discovery = Discovery::Static;
        assert_eq!(resolved(&section).unwrap().unwrap().discovery, None);
    }

    #[test]
    fn discovery_is_read_from_the_file_with_a_duration_in_units() {
        let section: ClusterSection = toml::from_str(
            "enabled = true\nnode = \"a\"\ndiscovery = \"dns\"\ndns_name = \"localhost\"\ndns_interval = \"1m\"",
        )
        .unwrap();
        let dns = resolved(&section).unwrap().unwrap().discovery.unwrap();
        assert_eq!(dns.interval(), Duration::from_secs(60));
        assert!(toml::from_str::<ClusterSection>("discovery = \"srv\"").is_err());
    }

    #[test]
    fn srv_discovery_reads_the_port_from_the_records() {
        let name = "_cluster._tcp.skein-headless.mqtt.svc.cluster.local";
        let section: ClusterSection = toml::from_str(&format!(
            "enabled = true\nnode = \"skein-0\"\ndiscovery = \"dns\"\ndns_name = \"{name}\"\n\
             dns_record = \"srv\"\ndns_interval = \"5s\""
        ))
        .unwrap();
        assert_eq!(section.dns_record, DnsRecord::Srv);
        let dns = resolved(&section).unwrap().unwrap().discovery.unwrap();
        assert_eq!(dns.name(), name);
        assert_eq!(dns.records(), broker_cluster::DnsRecords::Srv);
        assert_eq!(dns.port(), None);
        assert_eq!(dns.interval(), Duration::from_secs(5));
        // The record type as DNS writes it is taken too; the default is A / AAAA.
        let upper: ClusterSection = toml::from_str("dns_record = \"SRV\"").unwrap();
        assert_eq!(upper.dns_record, DnsRecord::Srv);
        assert_eq!(ClusterSection::default().dns_record, DnsRecord::A);
        let a: ClusterSection = toml::from_str("dns_record = \"a\"").unwrap();
        assert_eq!(a.dns_record, DnsRecord::A);
    }

    #[test]
    fn srv_discovery_refuses_a_port_and_needs_a_valid_name() {
        let mut section = ClusterSection {
            enabled: true,
            node: Some("skein-0".into()),
            discovery: Discovery::Dns,
            dns_record: DnsRecord::Srv,
            ..ClusterSection::default()
        };
        let problems = resolved(&section).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("cluster.dns_name: must be set")
                && problems[0].contains("_tcp"),
            "{problems:?}"
        );
        section.dns_name = Some("_cluster._tcp.skein-headless".into());
        section.dns_port = Some(7400);
        let problems = resolved(&section).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("cluster.dns_port: is not used with dns_record = \"srv\""),
            "{problems:?}"
        );
        section.dns_port = None;
        section.dns_name = Some("_cluster _tcp".into());
        let problems = resolved(&section).unwrap_err();
        assert!(
            problems[0].starts_with("cluster.dns_name: invalid DNS name"),
            "{problems:?}"
        );
        // A record type that does not exist is refused by name.
        let error = toml::from_str::<ClusterSection>("dns_record = \"mx\"").unwrap_err();
        assert!(error.to_string().contains("dns_record"), "{error}");
        // Static discovery does not read the DNS keys.
        section.discovery = Discovery::Static;
        assert_eq!(resolved(&section).unwrap().unwrap().discovery, None);
    }
}
