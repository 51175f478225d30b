//! `skein ctl`'s tables: the API's answers as an operator reads them. Text a client chose
//! (identifiers, topics, payloads) has its control characters escaped.

use serde_json::Value;

/// What an answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Status,
    Cluster,
    Clients,
    Client,
    Kicked,
    Subscriptions,
    Retained,
    Deleted,
    Published,
}

/// The text of `answer`, a `kind` answer of the API.
pub(crate) fn render(kind: &Kind, answer: &Value) -> String {
    match kind {
        Kind::Status => fields(
            answer,
            &[
                ("Version", "version"),
                ("Uptime (s)", "uptime_seconds"),
                ("Connections", "connections_open"),
                ("Clients connected", "clients_connected"),
                ("Sessions offline", "sessions_offline"),
                ("Subscriptions", "subscriptions"),
                ("Retained messages", "retained_messages"),
                ("Queued messages", "queued_messages"),
            ],
        ),
        Kind::Cluster => {
            let mut text = fields(
                answer,
                &[
                    ("Node", "node"),
                    ("Cluster id", "cluster_id"),
                    ("Incarnation", "incarnation"),
                    ("Routes", "routes"),
                ],
            );
            let discovery = answer.get("discovery");
            let kind = discovery
                .and_then(|d| d.get("kind"))
                .and_then(Value::as_str);
            if kind == Some("dns") {
                let field = |name| cell(discovery.and_then(|d| d.get(name)));
                let srv = discovery
                    .and_then(|d| d.get("records"))
                    .and_then(Value::as_str)
                    == Some("srv");
                let name = if srv {
                    format!("srv {}", field("name"))
                } else {
                    format!("{}:{}", field("name"), field("port"))
                };
                text.push_str(&format!(
                    "Discovery    dns {name} every {}s\n",
                    field("interval_seconds")
                ));
            }
            text.push('\n');
            text.push_str(&table(
                answer.get("peers"),
                &[
                    ("PEER", "name"),
                    ("ADDRESS", "address"),
                    ("STATE", "state"),
                    ("INCARNATION", "incarnation"),
                    ("ROUTES", "routes"),
                    ("ROUTE LAG", "route_lag"),
                    ("FORWARD QUEUE", "forward_queue"),
                    ("ERROR", "error"),
                ],
            ));
            text
        }
        Kind::Clients => page(
            answer,
            &[
                ("CLIENT ID", "client_id"),
                ("CONNECTED", "connected"),
                ("PROTOCOL", "protocol"),
                ("ADDRESS", "remote_address"),
                ("USER", "username"),
                ("KEEPALIVE", "keep_alive"),
                ("SUBS", "subscription_count"),
                ("QUEUED", "queued_messages"),
                ("INFLIGHT", "inflight"),
            ],
        ),
        Kind::Client => {
            let mut text = fields(
                answer,
                &[
                    ("Client ID", "client_id"),
                    ("Connected", "connected"),
                    ("Connected at (Unix s)", "connected_at"),
                    ("Address", "remote_address"),
                    ("Protocol", "protocol"),
                    ("User name", "username"),
                    ("Keep alive (s)", "keep_alive"),
                    ("Clean start", "clean_start"),
                    ("Session expiry (s)", "session_expiry_interval"),
                    ("Queued messages", "queued_messages"),
                    ("Queued bytes", "queued_bytes"),
                    ("In flight", "inflight"),
                ],
            );
            text.push_str("\nSubscriptions:\n");
            text.push_str(&table(
                answer.get("subscriptions"),
                &subscription_columns()[1..],
            ));
            text
        }
        Kind::Kicked => {
            let id = cell(answer.get("client_id"));
            match (
                flag(answer, "disconnected"),
                flag(answer, "session_discarded"),
            ) {
                (true, true) => format!("Client {id} disconnected; its session discarded."),
                (true, false) => format!("Client {id} disconnected."),
                _ => format!("Session of client {id} discarded."),
            }
        }
        Kind::Subscriptions => page(answer, &subscription_columns()),
        Kind::Retained => page(
            answer,
            &[
                ("TOPIC", "topic"),
                ("QOS", "qos"),
                ("SIZE", "payload_size"),
                ("ENCODING", "payload_encoding"),
                ("PAYLOAD", "payload"),
            ],
        ),
        Kind::Deleted => format!(
            "Deleted {} retained message(s).",
            cell(answer.get("deleted"))
        ),
        Kind::Published => "Published.".to_owned(),
    }
}

fn subscription_columns() -> [(&'static str, &'static str); 7] {
    [
        ("CLIENT ID", "client_id"),
        ("FILTER", "filter"),
        ("QOS", "qos"),
        ("NO LOCAL", "no_local"),
        ("RETAIN AS PUBLISHED", "retain_as_published"),
        ("RETAIN HANDLING", "retain_handling"),
        ("SUBSCRIPTION ID", "subscription_identifier"),
    ]
}

fn flag(answer: &Value, name: &str) -> bool {
    answer.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// A listing's table, and the way to the next page.
fn page(answer: &Value, columns: &[(&str, &str)]) -> String {
    let mut text = table(answer.get("data"), columns);
    if let Some(next) = answer.get("next_cursor").and_then(Value::as_str) {
        text.push_str(&format!("More: --cursor {next}\n"));
    }
    text
}

/// `label: value` lines.
fn fields(answer: &Value, rows: &[(&str, &str)]) -> String {
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(label, key)| format!("{label:<width$}  {}\n", cell(answer.get(*key))))
        .collect()
}

/// The items as a table with `columns` (header, field).
fn table(items: Option<&Value>, columns: &[(&str, &str)]) -> String {
    let items = items
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if items.is_empty() {
        return "(none)\n".to_owned();
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|(_, key)| cell(item.get(*key)))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(n, (header, _))| {
            rows.iter()
                .filter_map(|row| row.get(n))
                .map(|value| value.chars().count())
                .chain(std::iter::once(header.len()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut line = String::new();
        for (n, (value, width)) in cells.iter().zip(&widths).enumerate() {
            if n > 0 {
                line.push_str("  ");
            }
            line.push_str(value);
            if n + 1 < cells.len() {
                line.push_str(&" ".repeat(width.saturating_sub(value.chars().count())));
            }
        }
        line.push('\n');
        line
    };
    let mut text = line(columns.iter().map(|(header, _)| *header).collect());
    for row in &rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

/// One value as a cell: `-` for none, text with its control characters escaped.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(text)) => text
            .chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_listing_is_a_table_with_the_next_cursor() {
        let answer = json!({
            "data": [
                {"client_id": "a", "connected": true, "protocol": "5.0", "keep_alive": 60},
                {"client_id": "long\nid", "connected": false, "protocol": null},
            ],
            "next_cursor": "bG9uZw",
        });
        let text = render(&Kind::Clients, &answer);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("CLIENT ID  CONNECTED  PROTOCOL"),
            "{text}"
        );
        assert!(lines[1].starts_with("a          true       5.0"), "{text}");
        assert!(lines[2].starts_with("long\\nid   false      -"), "{text}");
        assert_eq!(lines[3], "More: --cursor bG9uZw");
    }

    #[test]
    fn an_empty_listing_says_none() {
        let text = render(&Kind::Retained, &json!({"data": [], "next_cursor": null}));
        assert_eq!(text, "(none)\n");
    }

    #[test]
    fn a_kick_says_what_happened() {
        let both = json!({"client_id": "c", "disconnected": true, "session_discarded": true});
        assert_eq!(
            render(&Kind::Kicked, &both),
            "Client c disconnected; its session discarded."
        );
    }

    #[test]
    fn cluster_status_shows_the_node_then_a_peer_table() {
        let answer = json!({
            "node": "skein-0", "cluster_id": "prod", "incarnation": 7, "routes": 2,
            "route_seq": 3,
            "discovery": {"kind": "dns", "name": "skein-headless", "port": 7400, "interval_seconds": 10},
            "peers": [
                {"name": "skein-1", "address": "10.0.0.2:7400", "state": "connected",
                 "incarnation": 9, "routes": 1, "route_lag": 0, "forward_queue": 0, "error": null},
                {"name": null, "address": "10.0.0.9:7400", "state": "refused",
                 "incarnation": null, "routes": 0, "route_lag": 0, "forward_queue": 0,
                 "error": "another cluster"},
            ],
        });
        let text = render(&Kind::Cluster, &answer);
        assert!(text.starts_with("Node         skein-0\n"), "{text}");
        assert!(
            text.contains("Discovery    dns skein-headless:7400 every 10s"),
            "{text}"
        );
        let mut by_srv = answer.clone();
        by_srv["discovery"] = json!({"kind": "dns", "records": "srv",
            "name": "_cluster._tcp.skein-headless", "port": null, "interval_seconds": 10});
        let text = render(&Kind::Cluster, &by_srv);
        assert!(
            text.contains("Discovery    dns srv _cluster._tcp.skein-headless every 10s"),
            "{text}"
        );
        let peers: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("PEER"))
            .collect();
        assert_eq!(peers.len(), 3, "{text}");
        assert!(
            peers[1].starts_with("skein-1  10.0.0.2:7400  connected  9"),
            "{text}"
        );
        assert!(
            peers[2].starts_with("-        10.0.0.9:7400  refused"),
            "{text}"
        );
    }
}
