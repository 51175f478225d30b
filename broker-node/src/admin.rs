//! The HTTP admin endpoint (`[admin]`, docs/admin.md): JSON over HTTP/1.1 on a listener of
//! its own, plain or TLS (client certificates required when a CA is set), every `/api/v1/`
//! route behind the bearer token when one is configured. `/healthz` and `/readyz` answer
//! there too, without a token, for probes.
//!
//! The routes themselves are [`admin_routes`](crate::admin_routes); the operations are
//! [`BrokerHandle`]'s.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use broker_cluster::ClusterView;
use broker_core::config::TlsConfig;
use broker_core::BrokerHandle;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use subtle::ConstantTimeEq as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::admin_routes::{self, ApiError};
use crate::config_admin::{AdminConfig, AdminToken};

/// The API's routes begin with this.
const API_PREFIX: &str = "/api/v1/";
/// The most a request body may hold besides the payload of a publish (JSON, base64).
const BODY_OVERHEAD: usize = 1024 * 1024;
/// How long a TLS handshake, and a request's headers, may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest request target the log line of a change shows.
const LOG_TARGET_MAX: usize = 200;
/// The most connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 64;

/// What every request of the endpoint needs.
struct Endpoint {
    broker: BrokerHandle,
    /// The cluster link's view, if the node is in a cluster.
    cluster: Option<ClusterView>,
    token: Option<AdminToken>,
    /// The most bytes a request body may hold.
    max_body: usize,
    /// The largest payload a publish may carry (`limits.max_packet_size`).
    max_payload: usize,
}

/// The endpoint's TLS: its files, and the acceptor new handshakes use, which a reload
/// ([`AdminTls::reload`], on SIGHUP) replaces; connections already made keep theirs.
#[derive(Clone)]
pub(crate) struct AdminTls {
    files: TlsConfig,
    acceptor: Arc<RwLock<TlsAcceptor>>,
}

impl AdminTls {
    fn load(files: &TlsConfig) -> anyhow::Result<AdminTls> {
        let acceptor = TlsAcceptor::from(files.server_config()?);
        Ok(AdminTls {
            files: files.clone(),
            acceptor: Arc::new(RwLock::new(acceptor)),
        })
    }

    /// Reads the certificate, key and CA files again; new handshakes use them. On an error
    /// the ones in force stay.
    pub(crate) fn reload(&self) -> anyhow::Result<()> {
        let acceptor = TlsAcceptor::from(self.files.server_config()?);
        *self
            .acceptor
            .write()
            .unwrap_or_else(PoisonError::into_inner) = acceptor;
        Ok(())
    }

    fn current(&self) -> TlsAcceptor {
        self.acceptor
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The admin endpoint, bound: its address, its TLS (to reload), and the future that serves
/// it until dropped.
pub(crate) struct Bound<F> {
    pub(crate) addr: SocketAddr,
    pub(crate) tls: Option<AdminTls>,
    pub(crate) serve: F,
}

/// Binds the endpoint's address.
pub(crate) async fn bind(
    config: &AdminConfig,
    token: Option<AdminToken>,
    broker: BrokerHandle,
    cluster: Option<ClusterView>,
    max_payload: usize,
) -> anyhow::Result<Bound<impl std::future::Future<Output = ()>>> {
    let tls = config
        .tls
        .as_ref()
        .map(AdminTls::load)
        .transpose()
        .context("the admin endpoint's TLS files")?;
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding the admin endpoint on {}", config.bind))?;
    let bound = listener
        .local_addr()
        .context("reading the admin endpoint's address")?;
    // Base64 makes a payload a third larger in the body.
    let max_body = BODY_OVERHEAD.saturating_add(max_payload.saturating_mul(4) / 3);
    let endpoint = Arc::new(Endpoint {
        broker,
        cluster,
        token,
        max_body,
        max_payload,
    });
    Ok(Bound {
        addr: bound,
        tls: tls.clone(),
        serve: serve(listener, tls, endpoint),
    })
}

async fn serve(listener: TcpListener, tls: Option<AdminTls>, endpoint: Arc<Endpoint>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "Admin endpoint: accept failed.");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let endpoint = Arc::clone(&endpoint);
        let tls = tls.as_ref().map(AdminTls::current);
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_connection(stream, peer, endpoint).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, peer, endpoint).await,
                        Ok(Err(error)) => {
                            tracing::info!(%peer, %error, "Admin endpoint: TLS handshake failed.");
                        }
                        Err(_) => tracing::info!(%peer, "Admin endpoint: TLS handshake timed out."),
                    }
                }
            }
        });
    }
}

async fn serve_connection<S>(stream: S, peer: SocketAddr, endpoint: Arc<Endpoint>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let endpoint = Arc::clone(&endpoint);
        async move { Ok::<_, Infallible>(respond(request, peer, &endpoint).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(error) = connection.await {
        tracing::debug!(%peer, %error, "Admin endpoint: connection error.");
    }
}

/// Answers one request.
async fn respond(
    request: Request<Incoming>,
    peer: SocketAddr,
    endpoint: &Endpoint,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    if path == "/healthz" || path == "/readyz" {
        return health(&request, &path, &endpoint.broker);
    }
    let Some(route) = path.strip_prefix(API_PREFIX) else {
        return error_response(&ApiError::not_found(format!("no route {path}")));
    };
    if !authorized(&request, endpoint.token.as_ref()) {
        let mut response = error_response(&ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is needed (Authorization: Bearer <token>)".to_owned(),
        ));
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let method = request.method().clone();
    let query = request.uri().query().map(str::to_owned);
    let too_large = || {
        error_response(&ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body must hold at most {} bytes", endpoint.max_body),
        ))
    };
    // A body announced too large is refused before any of it is read.
    let announced = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > endpoint.max_body as u64) {
        return too_large();
    }
    let body = if method == Method::POST {
        match Limited::new(request.into_body(), endpoint.max_body)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<LengthLimitError>() => return too_large(),
            Err(error) => {
                return error_response(&ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("the body could not be read: {error}"),
                ))
            }
        }
    } else {
        Bytes::new()
    };
    let limits = admin_routes::Limits {
        max_payload: endpoint.max_payload,
    };
    let node = admin_routes::Node {
        broker: &endpoint.broker,
        cluster: endpoint.cluster.as_ref(),
    };
    let answer = admin_routes::route(node, &method, route, query.as_deref(), &body, limits).await;
    let status = match &answer {
        Ok((status, _)) => *status,
        Err(error) => error.status,
    };
    if method != Method::GET {
        // What changed the broker, and who asked: the operators' audit trail.
        let target = match &query {
            Some(query) => format!("{path}?{query}"),
            None => path.clone(),
        };
        tracing::info!(
            "Admin API: {method} {} from {peer}: {}.",
            clip(&target),
            status.as_u16()
        );
    }
    match answer {
        Ok((status, value)) => json_response(status, &value),
        Err(error) => error_response(&error),
    }
}

/// `text` cut to 200 bytes at most (at a character boundary), for the log.
fn clip(text: &str) -> &str {
    let end = text
        .char_indices()
        .map(|(at, c)| at + c.len_utf8())
        .take_while(|end| *end <= LOG_TARGET_MAX)
        .last()
        .unwrap_or(0);
    text.get(..end).unwrap_or_default()
}

/// Whether `request` carries the token, compared in constant time; any request when no
/// token is configured (client certificates authenticate).
fn authorized(request: &Request<Incoming>, token: Option<&AdminToken>) -> bool {
    let Some(token) = token else {
        return true;
    };
    let Some(given) = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    bool::from(given.trim().as_bytes().ct_eq(token.as_bytes()))
}

/// `/healthz` (the process answers) and `/readyz` (the broker serves), as the metrics
/// endpoint answers them.
fn health(request: &Request<Incoming>, path: &str, broker: &BrokerHandle) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return error_response(&ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{path} answers GET"),
        ));
    }
    let (status, text) = match path {
        "/readyz" if !broker.is_running() => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
        "/readyz" => (StatusCode::OK, "ready\n"),
        _ => (StatusCode::OK, "ok\n"),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    body.push(b'\n');
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error_response(error: &ApiError) -> Response<Full<Bytes>> {
    json_response(error.status, &error.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_target_is_clipped_at_a_character_boundary() {
        assert_eq!(clip("/api/v1/clients/a"), "/api/v1/clients/a");
        let long = "é".repeat(150);
        let clipped = clip(&long);
        assert_eq!(clipped.len(), 200);
        assert!(long.starts_with(clipped));
    }
}
