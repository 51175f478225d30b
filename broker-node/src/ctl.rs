//! `skein ctl ...`: the admin API's client (docs/admin.md), as `vmq-admin` and `emqx ctl`
//! are their brokers'. Each subcommand is one request; the answer is printed as a table (or
//! as the API's JSON with `--json`). Exits 0 on success, 1 with the problem on standard
//! error.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use ureq::tls::{parse_pem, Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use ureq::Agent;

use crate::config_admin::DEFAULT_ADMIN_URL;
use crate::ctl_output;

/// The environment variable the token is read from when `--token` is not given.
const TOKEN_VARIABLE: &str = "SKEIN_ADMIN_TOKEN";
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read.
const MAX_ANSWER: u64 = 256 * 1024 * 1024;

/// `skein ctl ...`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub(crate) struct CtlArgs {
    #[command(flatten)]
    endpoint: EndpointArgs,
    #[command(subcommand)]
    command: CtlCommand,
}

/// `skein cluster ...`: the cluster's pages of the admin API, as `skein ctl cluster ...`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub(crate) struct ClusterArgs {
    #[command(flatten)]
    endpoint: EndpointArgs,
    #[command(subcommand)]
    command: ClusterCommand,
}

/// How to reach the admin endpoint, and how to print its answer.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
struct EndpointArgs {
    /// The admin endpoint's URL.
    #[arg(long, global = true, value_name = "URL", default_value = DEFAULT_ADMIN_URL)]
    url: String,
    /// The bearer token; default: the SKEIN_ADMIN_TOKEN environment variable.
    #[arg(long, global = true, value_name = "TOKEN")]
    token: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// The CA certificates (PEM) the endpoint's certificate is verified against (https).
    #[arg(long, global = true, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// The client certificate chain (PEM) to present (mTLS); with --key.
    #[arg(long, global = true, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, global = true, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
}

/// `skein cluster ...` (or `skein ctl cluster ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
enum ClusterCommand {
    /// This node (name, incarnation, cluster id) and each peer: address, state, incarnation,
    /// routes, route lag and forward queue.
    Status,
}

/// What to ask the broker.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
enum CtlCommand {
    /// The node's state: version, uptime, clients, sessions, subscriptions, retained messages.
    Status,
    /// The cluster as this node sees it (also `skein cluster ...`).
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Clients and their sessions.
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Subscriptions.
    Subscriptions {
        #[command(subcommand)]
        command: SubscriptionsCommand,
    },
    /// Retained messages.
    Retained {
        #[command(subcommand)]
        command: RetainedCommand,
    },
    /// Publish a message as the broker.
    Publish {
        /// The topic.
        #[arg(long, short = 't')]
        topic: String,
        /// The payload, as text.
        #[arg(long, short = 'm')]
        message: String,
        /// The QoS: 0, 1 or 2.
        #[arg(long, short = 'q', default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
        qos: u8,
        /// Retain the message (an empty message deletes the topic's retained one).
        #[arg(long, short = 'r')]
        retain: bool,
    },
}

/// `skein ctl clients ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
enum ClientsCommand {
    /// List clients, connected and offline (one page).
    List {
        /// Only connected clients.
        #[arg(long, conflicts_with = "offline")]
        connected: bool,
        /// Only persistent sessions waiting offline.
        #[arg(long)]
        offline: bool,
        /// Client identifiers starting with this.
        #[arg(long)]
        prefix: Option<String>,
        /// Client identifiers containing this.
        #[arg(long)]
        contains: Option<String>,
        /// Clients that connected with this user name.
        #[arg(long)]
        username: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one client, its session and its subscriptions.
    Show {
        /// The client identifier.
        client_id: String,
    },
    /// Disconnect a client (MQTT 5: DISCONNECT 0x98 Administrative action).
    Kick {
        /// The client identifier.
        client_id: String,
        /// End its session too (also ends an offline session).
        #[arg(long)]
        discard_session: bool,
    },
}

/// `skein ctl subscriptions ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
enum SubscriptionsCommand {
    /// List subscriptions (one page).
    List {
        /// One client's.
        #[arg(long)]
        client_id: Option<String>,
        /// Those to this exact filter.
        #[arg(long)]
        filter: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
}

/// `skein ctl retained ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
enum RetainedCommand {
    /// List retained messages (one page).
    List {
        /// Those whose topic matches this filter (default `#`).
        #[arg(long)]
        filter: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Delete one topic's retained message, or every one matching a filter.
    Delete {
        /// The topic.
        #[arg(long, conflicts_with = "filter", required_unless_present = "filter")]
        topic: Option<String>,
        /// The topic filter.
        #[arg(long)]
        filter: Option<String>,
    },
}

/// The page a listing asks for.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
struct PageArgs {
    /// The most items shown.
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// The page after the one that printed this cursor.
    #[arg(long, value_name = "CURSOR")]
    cursor: Option<String>,
}

impl PageArgs {
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if let Some(limit) = self.limit {
            params.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = &self.cursor {
            params.push(("cursor", cursor.clone()));
        }
        params
    }
}

/// One request to the API.
struct Call {
    method: &'static str,
    path: String,
    params: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Call {
    fn get(path: impl Into<String>, params: Vec<(&'static str, String)>) -> Call {
        Call {
            method: "GET",
            path: path.into(),
            params,
            body: None,
        }
    }
}

/// Runs `skein ctl ...`.
pub(crate) fn run(args: &CtlArgs) -> anyhow::Result<ExitCode> {
    ask(&args.endpoint, &call(&args.command), args.command_kind())
}

/// Runs `skein cluster ...`.
pub(crate) fn run_cluster(args: &ClusterArgs) -> anyhow::Result<ExitCode> {
    let command = CtlCommand::Cluster {
        command: args.command,
    };
    ask(&args.endpoint, &call(&command), ctl_output::Kind::Cluster)
}

/// Sends `call` to `endpoint` and prints the answer, a `kind` one.
fn ask(endpoint: &EndpointArgs, call: &Call, kind: ctl_output::Kind) -> anyhow::Result<ExitCode> {
    let answer = send(endpoint, call)?;
    let text = if endpoint.json {
        serde_json::to_string_pretty(&answer).context("formatting the answer")?
    } else {
        ctl_output::render(&kind, &answer)
    };
    writeln!(std::io::stdout(), "{}", text.trim_end()).context("writing to standard output")?;
    Ok(ExitCode::SUCCESS)
}

impl CtlArgs {
    /// What the answer is, for its table.
    fn command_kind(&self) -> ctl_output::Kind {
        use ctl_output::Kind;
        match &self.command {
            CtlCommand::Status => Kind::Status,
            CtlCommand::Cluster { .. } => Kind::Cluster,
            CtlCommand::Clients { command } => match command {
                ClientsCommand::List { .. } => Kind::Clients,
                ClientsCommand::Show { .. } => Kind::Client,
                ClientsCommand::Kick { .. } => Kind::Kicked,
            },
            CtlCommand::Subscriptions { .. } => Kind::Subscriptions,
            CtlCommand::Retained { command } => match command {
                RetainedCommand::List { .. } => Kind::Retained,
                RetainedCommand::Delete { .. } => Kind::Deleted,
            },
            CtlCommand::Publish { .. } => Kind::Published,
        }
    }
}

/// The request `command` makes.
fn call(command: &CtlCommand) -> Call {
    match command {
        CtlCommand::Status => Call::get("status", Vec::new()),
        CtlCommand::Cluster {
            command: ClusterCommand::Status,
        } => Call::get("cluster", Vec::new()),
        CtlCommand::Clients { command } => match command {
            ClientsCommand::List {
                connected,
                offline,
                prefix,
                contains,
                username,
                page,
            } => {
                let mut params = page.params();
                if *connected || *offline {
                    params.push(("connected", connected.to_string()));
                }
                for (name, value) in [
                    ("prefix", prefix),
                    ("contains", contains),
                    ("username", username),
                ] {
                    if let Some(value) = value {
                        params.push((name, value.clone()));
                    }
                }
                Call::get("clients", params)
            }
            ClientsCommand::Show { client_id } => {
                Call::get(format!("clients/{}", percent_encode(client_id)), Vec::new())
            }
            ClientsCommand::Kick {
                client_id,
                discard_session,
            } => Call {
                method: "DELETE",
                path: format!("clients/{}", percent_encode(client_id)),
                params: vec![("discard_session", discard_session.to_string())],
                body: None,
            },
        },
        CtlCommand::Subscriptions {
            command:
                SubscriptionsCommand::List {
                    client_id,
                    filter,
                    page,
                },
        } => {
            let mut params = page.params();
            for (name, value) in [("client_id", client_id), ("filter", filter)] {
                if let Some(value) = value {
                    params.push((name, value.clone()));
                }
            }
            Call::get("subscriptions", params)
        }
        CtlCommand::Retained { command } => match command {
            RetainedCommand::List { filter, page } => {
                let mut params = page.params();
                if let Some(filter) = filter {
                    params.push(("filter", filter.clone()));
                }
                Call::get("retained", params)
            }
            RetainedCommand::Delete { topic, filter } => {
                let params = match (topic, filter) {
                    (Some(topic), _) => vec![("topic", topic.clone())],
                    (None, Some(filter)) => vec![("filter", filter.clone())],
                    (None, None) => Vec::new(),
                };
                Call {
                    method: "DELETE",
                    path: "retained".to_owned(),
                    params,
                    body: None,
                }
            }
        },
        CtlCommand::Publish {
            topic,
            message,
            qos,
            retain,
        } => Call {
            method: "POST",
            path: "publish".to_owned(),
            params: Vec::new(),
            body: Some(json!({"topic": topic, "payload": message, "qos": qos, "retain": retain})),
        },
    }
}

/// `text` percent-encoded as one path segment or query value (every byte but the
/// unreserved ones).
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Sends `call`; the answer's JSON on success.
fn send(args: &EndpointArgs, call: &Call) -> anyhow::Result<Value> {
    let agent = agent(args)?;
    let base = args.url.trim_end_matches('/');
    let query: Vec<String> = call
        .params
        .iter()
        .map(|(name, value)| format!("{name}={}", percent_encode(value)))
        .collect();
    let mut url = format!("{base}/api/v1/{}", call.path);
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var(TOKEN_VARIABLE).ok());
    let mut request = ureq::http::Request::builder()
        .method(call.method)
        .uri(url.as_str());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = call
        .body
        .as_ref()
        .map(serde_json::to_vec)
        .transpose()
        .context("encoding the request")?
        .unwrap_or_default();
    if call.body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(body)
        .with_context(|| format!("the URL {url:?}"))?;
    let mut response = agent
        .run(request)
        .map_err(|error| unreachable(&args.url, error))?;
    let status = response.status();
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_string()
        .with_context(|| format!("reading the answer of {url}"))?;
    let value: Option<Value> = serde_json::from_str(&text).ok();
    if status.is_success() {
        return value.with_context(|| format!("{url} answered {status} without JSON"));
    }
    let message = value
        .as_ref()
        .and_then(|value| value.pointer("/error/message"))
        .and_then(Value::as_str)
        .map_or_else(|| text.trim().to_owned(), str::to_owned);
    bail!("{message} (HTTP {})", status.as_u16())
}

/// The error of a request that got no answer, with the likely cause.
fn unreachable(url: &str, error: ureq::Error) -> anyhow::Error {
    let refused = matches!(
        &error,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused
    ) || matches!(error, ureq::Error::ConnectionFailed);
    if refused {
        anyhow::anyhow!(
            "cannot reach the admin endpoint at {url}: {error}; is the admin endpoint enabled? ([admin] bind)"
        )
    } else {
        anyhow::anyhow!("the request to {url} failed: {error}")
    }
}

/// The HTTP client: answers of any status are read, TLS as `--cacert`, `--cert` and
/// `--key` say.
fn agent(args: &EndpointArgs) -> anyhow::Result<Agent> {
    let mut tls = TlsConfig::builder();
    if let Some(path) = &args.cacert {
        let certificates = certificates(path)?;
        tls = tls.root_certs(RootCerts::new_with_certs(&certificates));
    }
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        let chain = certificates(cert)?;
        let pem = read(key)?;
        let key = PrivateKey::from_pem(&pem)
            .map_err(|error| anyhow::anyhow!("{}: no private key: {error}", key.display()))?;
        tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    Ok(Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .tls_config(tls.build())
        .build()
        .new_agent())
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The certificates of a PEM file.
fn certificates(path: &Path) -> anyhow::Result<Vec<Certificate<'static>>> {
    let pem = read(path)?;
    let mut certificates = Vec::new();
    for item in parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(certificate)) => certificates.push(certificate),
            Ok(_) => {}
            Err(error) => bail!("{}: {error}", path.display()),
        }
    }
    if certificates.is_empty() {
        bail!("{}: no certificate in it", path.display());
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    use clap::Parser as _;

    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<CtlArgs, clap::Error> {
        let cli = Cli::try_parse_from(["skein", "ctl"].iter().chain(args))?;
        match cli.command {
            Some(Command::Ctl(args)) => Ok(args),
            other => panic!("not ctl: {other:?}"),
        }
    }

    fn request(args: &[&str]) -> (&'static str, String, Vec<(&'static str, String)>) {
        let call = call(&parse(args).unwrap().command);
        (call.method, call.path, call.params)
    }

    #[test]
    fn each_subcommand_makes_its_request() {
        assert_eq!(
            request(&[
                "clients",
                "list",
                "--connected",
                "--prefix",
                "a/b",
                "--limit",
                "5"
            ]),
            (
                "GET",
                "clients".to_owned(),
                vec![
                    ("limit", "5".to_owned()),
                    ("connected", "true".to_owned()),
                    ("prefix", "a/b".to_owned())
                ]
            )
        );
        assert_eq!(
            request(&["clients", "list", "--offline"]).2,
            [("connected", "false".to_owned())]
        );
        assert_eq!(
            request(&["clients", "kick", "a/b", "--discard-session"]),
            (
                "DELETE",
                "clients/a%2Fb".to_owned(),
                vec![("discard_session", "true".to_owned())]
            )
        );
        assert_eq!(
            request(&["retained", "delete", "--filter", "x/#"]),
            (
                "DELETE",
                "retained".to_owned(),
                vec![("filter", "x/#".to_owned())]
            )
        );
        let publish = call(
            &parse(&["publish", "-t", "a", "-m", "hi", "-q", "2", "-r"])
                .unwrap()
                .command,
        );
        assert_eq!(
            publish.body,
            Some(json!({"topic": "a", "payload": "hi", "qos": 2, "retain": true}))
        );
    }

    #[test]
    fn contradictory_or_missing_options_are_refused() {
        assert!(parse(&["retained", "delete"]).is_err());
        assert!(parse(&["retained", "delete", "--topic", "a", "--filter", "a/#"]).is_err());
        assert!(parse(&["clients", "list", "--connected", "--offline"]).is_err());
        assert!(parse(&["publish", "-t", "a", "-m", "x", "-q", "3"]).is_err());
        assert!(
            parse(&["--cert", "c.pem", "status"]).is_err(),
            "--cert needs --key"
        );
        assert!(parse(&["clients", "show"]).is_err());
    }

    #[test]
    fn options_go_before_or_after_the_subcommand() {
        let before = parse(&["--json", "--url", "http://127.0.0.1:1", "status"]).unwrap();
        let after = parse(&["status", "--json", "--url", "http://127.0.0.1:1"]).unwrap();
        assert_eq!(before, after);
        assert!(before.endpoint.json);
        assert_eq!(parse(&["status"]).unwrap().endpoint.url, DEFAULT_ADMIN_URL);
    }

    #[test]
    fn cluster_status_asks_the_cluster_page_under_both_names() {
        assert_eq!(
            request(&["cluster", "status"]),
            ("GET", "cluster".to_owned(), Vec::new())
        );
        let cli = Cli::try_parse_from(["skein", "cluster", "status", "--url", "http://h:1"]);
        let Ok(Cli {
            command: Some(Command::Cluster(args)),
            ..
        }) = cli
        else {
            panic!("not cluster: {cli:?}");
        };
        assert_eq!(args.endpoint.url, "http://h:1");
        assert_eq!(args.command, ClusterCommand::Status);
    }

    #[test]
    fn percent_encoding_escapes_all_but_unreserved_bytes() {
        assert_eq!(percent_encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(percent_encode("a/b c+%é"), "a%2Fb%20c%2B%25%C3%A9");
    }
}
