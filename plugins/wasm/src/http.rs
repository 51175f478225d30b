//! The `http` capability: outbound HTTP requests of one plugin, to the origins on its
//! allow-list only, each bounded in time and size.
//!
//! It owns the plugin's allow-list and its HTTP agent (kept connections, shared by the
//! generation's instances). It never follows a redirect (a 3xx is the plugin's answer), never
//! reads a response body past [`MAX_BODY`], never uses a proxy from the environment, and never
//! lets a request outlast the hook call that sent it: the call's deadline keeps counting while
//! the plugin waits. A request blocks its thread: a plugin granted `http` is called on tokio's
//! blocking pool ([`WasmHook`](crate::WasmHook)), never on the broker's workers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ::metrics::{counter, histogram};
use ureq::http::{self as h, HeaderName, HeaderValue, Method, Uri};
use ureq::Agent;

use crate::bindings::skein::plugin::http::{self as wit, Error, Request, Response};
use crate::error::LoadError;
use crate::http_origin::HttpOrigin;
use crate::spec::PluginSpec;
use crate::state::InstanceState;

/// The largest request or response body: 1 MiB.
pub const MAX_BODY: usize = 1024 * 1024;

/// The most a request may keep of its call's deadline is all of it but this share (a tenth,
/// at most [`MAX_RESERVE`]): what the plugin has left to answer with once a request timed out.
const RESERVE_DIVISOR: u32 = 10;
const MAX_RESERVE: Duration = Duration::from_millis(100);

/// The HTTP side of one plugin generation.
pub(crate) struct HttpClient {
    plugin: Arc<str>,
    agent: Agent,
    allow: Vec<HttpOrigin>,
    /// The longest one request may take.
    timeout: Duration,
}

impl HttpClient {
    /// The client of `spec`'s plugin when it is granted `http`; `None` otherwise.
    ///
    /// # Errors
    ///
    /// `http` granted with no allow-list, or an allow-list entry that is not an origin.
    pub(crate) fn for_spec(
        spec: &PluginSpec,
        plugin: &Arc<str>,
    ) -> Result<Option<Arc<HttpClient>>, LoadError> {
        if !spec.grants.iter().any(|g| g == "http") {
            return Ok(None);
        }
        if spec.http_allow.is_empty() {
            return Err(LoadError::HttpAllowEmpty {
                name: spec.name.clone(),
            });
        }
        let allow = spec
            .http_allow
            .iter()
            .map(|entry| {
                entry.parse().map_err(|reason| LoadError::HttpAllow {
                    name: spec.name.clone(),
                    reason,
                })
            })
            .collect::<Result<Vec<HttpOrigin>, LoadError>>()?;
        let agent = Agent::config_builder()
            // The plugin reads every status itself, 3xx included: nothing is followed.
            .http_status_as_error(false)
            .max_redirects(0)
            // Requests go where the allow-list says, not through a proxy the environment names.
            .proxy(None)
            .user_agent("skein-plugin")
            .build()
            .new_agent();
        Ok(Some(Arc::new(HttpClient {
            plugin: Arc::clone(plugin),
            agent,
            allow,
            timeout: spec.http_timeout,
        })))
    }

    /// Sends `request`, which must be done by `until` (the end of the call's budget, if any).
    pub(crate) fn send(&self, request: Request, until: Option<Instant>) -> Result<Response, Error> {
        let started = Instant::now();
        let answer = self.exchange(request, started, until);
        let outcome = match &answer {
            Ok(_) => "ok",
            Err(Error::NotAllowed) => "not_allowed",
            Err(Error::Timeout) => "timeout",
            Err(Error::Transport(_)) => "transport",
        };
        counter!("skein_plugin_http_requests_total", "plugin" => self.plugin.to_string(), "outcome" => outcome)
            .increment(1);
        if !matches!(answer, Err(Error::NotAllowed)) {
            histogram!("skein_plugin_http_request_seconds", "plugin" => self.plugin.to_string())
                .record(started.elapsed().as_secs_f64());
        }
        answer
    }

    fn exchange(
        &self,
        request: Request,
        now: Instant,
        until: Option<Instant>,
    ) -> Result<Response, Error> {
        let uri: Uri = request
            .url
            .parse()
            .map_err(|e| Error::Transport(format!("the URL {:?}: {e}", request.url)))?;
        let allowed = HttpOrigin::of_url(&uri).map(|origin| self.allow.contains(&origin));
        if allowed != Ok(true) {
            tracing::debug!(
                plugin = %self.plugin,
                url = %request.url,
                why = allowed.err().unwrap_or("its origin is not on the plugin's allow-list"),
                "A plugin's HTTP request was refused."
            );
            return Err(Error::NotAllowed);
        }
        let body = request.body.unwrap_or_default();
        if body.len() > MAX_BODY {
            return Err(Error::Transport(format!(
                "the request body is larger than {MAX_BODY} bytes"
            )));
        }
        let mut timeout = self.timeout;
        if request.timeout_ms > 0 {
            timeout = timeout.min(Duration::from_millis(u64::from(request.timeout_ms)));
        }
        if let Some(until) = until {
            timeout = timeout.min(until.saturating_duration_since(now));
        }
        if timeout.is_zero() {
            return Err(Error::Timeout);
        }
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| Error::Transport(format!("{:?} is not a method", request.method)))?;
        let mut builder = h::Request::builder().method(method).uri(uri);
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::Transport(format!("{name:?} is not a header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| Error::Transport(format!("the header {name} has a bad value")))?;
            builder = builder.header(name, value);
        }
        let built = builder
            .body(body)
            .map_err(|e| Error::Transport(format!("{e}")))?;
        let built = self
            .agent
            .configure_request(built)
            .timeout_global(Some(timeout))
            .build();
        let mut response = self.agent.run(built).map_err(failure)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY as u64)
            .read_to_vec()
            .map_err(failure)?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// The WIT error of a failed exchange.
fn failure(error: ureq::Error) -> Error {
    match error {
        ureq::Error::Timeout(_) => Error::Timeout,
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => Error::Timeout,
        ureq::Error::BodyExceedsLimit(_) => {
            Error::Transport(format!("the response body is larger than {MAX_BODY} bytes"))
        }
        other => Error::Transport(other.to_string()),
    }
}

/// When a request sent during a call with `deadline` must be done, from now: the deadline
/// less what the plugin needs to answer after it (a tenth, at most 100 ms).
pub(crate) fn budget_end(deadline: Duration) -> Instant {
    let reserve = (deadline / RESERVE_DIVISOR).min(MAX_RESERVE);
    Instant::now() + deadline.saturating_sub(reserve)
}

impl wit::Host for InstanceState {
    fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, Error>> {
        // Linked only for a plugin granted `http`, which has a client.
        let Some(client) = &self.http else {
            return Ok(Err(Error::NotAllowed));
        };
        Ok(client.send(request, self.http_until))
    }
}
