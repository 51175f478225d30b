//! The admin API's routes under `/api/v1/`: each parses its parameters, calls
//! [`BrokerHandle`], and answers JSON (docs/admin.md).

use broker_cluster::ClusterView;
use broker_core::admin::{ClientQuery, Disconnection, RetainedQuery, SubscriptionQuery, MAX_LIMIT};
use broker_core::types::{ClientId, TopicFilter, TopicName};
use broker_core::{BrokerError, BrokerHandle};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use crate::admin_cluster;
use crate::admin_json::{self, decode_cursor};
use crate::admin_query::{percent_decode, BadRequest, Params};

/// The node's limits a route checks against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The largest payload a publish may carry.
    pub(crate) max_payload: usize,
}

/// What the routes answer from: the broker, and its cluster link's view if it is in one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'a> {
    pub(crate) broker: &'a BrokerHandle,
    pub(crate) cluster: Option<&'a ClusterView>,
}

/// An answer other than success: its status, a short code and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: String) -> ApiError {
        ApiError {
            status,
            code,
            message,
        }
    }

    pub(crate) fn not_found(message: String) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `{"error": {"status": ..., "code": ..., "message": ...}}`.
    pub(crate) fn to_json(&self) -> Value {
        json!({"error": {"status": self.status.as_u16(), "code": self.code, "message": self.message}})
    }
}

impl From<BadRequest> for ApiError {
    fn from(BadRequest(message): BadRequest) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl From<BrokerError> for ApiError {
    fn from(error: BrokerError) -> ApiError {
        match error {
            BrokerError::ShutDown => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                error.to_string(),
            ),
            other => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                other.to_string(),
            ),
        }
    }
}

/// A success: its status and body.
type Reply = (StatusCode, Value);

/// Answers `method` on `route` (the path after `/api/v1/`).
///
/// # Errors
///
/// 400 for a bad parameter or body, 404 for an unknown route or client, 405 for a method the
/// route does not take, 409 for a disconnect of a client that is not connected, 503 while
/// the broker shuts down.
pub(crate) async fn route(
    node: Node<'_>,
    method: &Method,
    route: &str,
    query: Option<&str>,
    body: &[u8],
    limits: Limits,
) -> Result<Reply, ApiError> {
    let broker = node.broker;
    let segments: Vec<&str> = route.split('/').collect();
    match (segments.as_slice(), method) {
        (["status"], &Method::GET) => status(broker, query),
        (["cluster"], &Method::GET) => admin_cluster::cluster(node.cluster, query),
        (["clients"], &Method::GET) => clients(broker, query).await,
        (["clients", id], &Method::GET) => client(broker, id, query).await,
        (["clients", id], &Method::DELETE) => disconnect(broker, id, query).await,
        (["subscriptions"], &Method::GET) => subscriptions(broker, query),
        (["retained"], &Method::GET) => retained(broker, query),
        (["retained"], &Method::DELETE) => delete_retained(broker, query).await,
        (["publish"], &Method::POST) => publish(broker, query, body, limits).await,
        (
            ["status" | "cluster" | "clients" | "subscriptions" | "retained" | "publish"]
            | ["clients", _],
            _,
        ) => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("/api/v1/{route} does not take {method}"),
        )),
        _ => Err(ApiError::not_found(format!("no route /api/v1/{route}"))),
    }
}

/// The page size and cursor every listing takes.
fn paging(params: &Params) -> Result<(usize, Option<String>), BadRequest> {
    let limit = params
        .number("limit", 1, MAX_LIMIT)?
        .unwrap_or(broker_core::admin::DEFAULT_LIMIT);
    let after = params.text("cursor").map(decode_cursor).transpose()?;
    Ok((limit, after))
}

fn status(broker: &BrokerHandle, query: Option<&str>) -> Result<Reply, ApiError> {
    Params::parse(query, &[])?;
    if !broker.is_running() {
        return Err(BrokerError::ShutDown.into());
    }
    let stats = broker.stats();
    Ok((
        StatusCode::OK,
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "running": true,
            "uptime_seconds": stats.uptime.as_secs(),
            "connections_open": stats.connections_open,
            "clients_connected": stats.clients_connected,
            "sessions_offline": stats.sessions_offline,
            "subscriptions": stats.subscriptions,
            "retained_messages": stats.retained_messages,
            "queued_messages": stats.queued_messages,
        }),
    ))
}

async fn clients(broker: &BrokerHandle, query: Option<&str>) -> Result<Reply, ApiError> {
    let params = Params::parse(
        query,
        &[
            "connected",
            "prefix",
            "contains",
            "username",
            "limit",
            "cursor",
        ],
    )?;
    let mut wanted = ClientQuery::default();
    wanted.connected = params.flag("connected")?;
    wanted.prefix = params.text("prefix").map(str::to_owned);
    wanted.contains = params.text("contains").map(str::to_owned);
    wanted.username = params.text("username").map(str::to_owned);
    (wanted.limit, wanted.after) = paging(&params)?;
    let page = broker.clients(&wanted).await?;
    Ok((StatusCode::OK, admin_json::page(&page, admin_json::client)))
}

/// The client identifier in a path segment, percent-decoded.
fn client_id(segment: &str) -> Result<ClientId, BadRequest> {
    let text = percent_decode(segment, false, "the client id")?;
    ClientId::new(text.as_str()).map_err(|error| BadRequest(format!("the client id: {error}")))
}

async fn client(
    broker: &BrokerHandle,
    segment: &str,
    query: Option<&str>,
) -> Result<Reply, ApiError> {
    Params::parse(query, &[])?;
    let id = client_id(segment)?;
    match broker.client(&id).await? {
        Some(details) => Ok((StatusCode::OK, admin_json::client_details(&details))),
        None => Err(ApiError::not_found(format!("no client {:?}", id.as_str()))),
    }
}

async fn disconnect(
    broker: &BrokerHandle,
    segment: &str,
    query: Option<&str>,
) -> Result<Reply, ApiError> {
    let params = Params::parse(query, &["discard_session"])?;
    let discard = params.flag("discard_session")?.unwrap_or(false);
    let id = client_id(segment)?;
    let (disconnected, discarded) = match broker.disconnect_client(&id, discard).await? {
        Disconnection::Disconnected => (true, false),
        Disconnection::DisconnectedAndDiscarded => (true, true),
        Disconnection::Discarded => (false, true),
        Disconnection::NotConnected => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_connected",
                format!(
                    "client {:?} is not connected (its session waits offline: discard_session=true ends it)",
                    id.as_str()
                ),
            ))
        }
        _ => return Err(ApiError::not_found(format!("no client {:?}", id.as_str()))),
    };
    Ok((
        StatusCode::OK,
        json!({"client_id": id.as_str(), "disconnected": disconnected, "session_discarded": discarded}),
    ))
}

fn subscriptions(broker: &BrokerHandle, query: Option<&str>) -> Result<Reply, ApiError> {
    let params = Params::parse(query, &["client_id", "filter", "limit", "cursor"])?;
    let mut wanted = SubscriptionQuery::default();
    wanted.client_id = params.text("client_id").map(str::to_owned);
    wanted.filter = params.text("filter").map(str::to_owned);
    (wanted.limit, wanted.after) = paging(&params)?;
    let page = broker.subscriptions(&wanted)?;
    Ok((
        StatusCode::OK,
        admin_json::page(&page, admin_json::subscription),
    ))
}

/// The topic filter parameter `name`, if given.
fn filter(params: &Params, name: &str) -> Result<Option<TopicFilter>, BadRequest> {
    params
        .text(name)
        .map(|text| TopicFilter::new(text).map_err(|error| BadRequest(format!("{name}: {error}"))))
        .transpose()
}

fn retained(broker: &BrokerHandle, query: Option<&str>) -> Result<Reply, ApiError> {
    let params = Params::parse(query, &["filter", "limit", "cursor"])?;
    let mut wanted = RetainedQuery::default();
    wanted.filter = filter(&params, "filter")?;
    (wanted.limit, wanted.after) = paging(&params)?;
    let page = broker.retained(&wanted)?;
    Ok((
        StatusCode::OK,
        admin_json::page(&page, admin_json::retained),
    ))
}

async fn delete_retained(broker: &BrokerHandle, query: Option<&str>) -> Result<Reply, ApiError> {
    let params = Params::parse(query, &["topic", "filter"])?;
    let deleted = match (params.text("topic"), filter(&params, "filter")?) {
        (Some(topic), None) => {
            let topic =
                TopicName::new(topic).map_err(|error| BadRequest(format!("topic: {error}")))?;
            usize::from(broker.delete_retained(&topic).await?)
        }
        (None, Some(filter)) => broker.delete_retained_matching(&filter).await?,
        _ => {
            return Err(BadRequest(
                "give one of topic (a topic name) or filter (a topic filter)".to_owned(),
            )
            .into())
        }
    };
    Ok((StatusCode::OK, json!({"deleted": deleted})))
}

async fn publish(
    broker: &BrokerHandle,
    query: Option<&str>,
    body: &[u8],
    limits: Limits,
) -> Result<Reply, ApiError> {
    Params::parse(query, &[])?;
    let request = admin_json::publish_request(body)?;
    if request.payload.len() > limits.max_payload {
        return Err(BadRequest(format!(
            "payload: {} bytes, over the {} bytes limits.max_packet_size allows",
            request.payload.len(),
            limits.max_payload
        ))
        .into());
    }
    broker
        .publish_with(
            request.topic,
            request.payload,
            request.qos,
            request.retain,
            request.properties,
        )
        .await?;
    Ok((StatusCode::OK, json!({"published": true})))
}
