//! A `skein` with its admin endpoint on, for the admin API and `skein ctl` tests: its MQTT
//! port, the endpoint's URL and token, JSON requests to the API and `skein ctl` runs.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::{free_port, run, ConfiguredSkein, Finished};

/// The token of the tests' endpoints.
pub(crate) const TOKEN: &str = "test-token-0123456789abcdef";

/// A running skein with `[admin]`.
pub(crate) struct AdminSkein {
    pub(crate) skein: ConfiguredSkein,
    /// The plain MQTT listener's port.
    pub(crate) mqtt_port: u16,
    /// `http://127.0.0.1:<port>` (or `https://`).
    pub(crate) url: String,
}

impl AdminSkein {
    /// Starts skein with a plain listener and `[admin]` on 127.0.0.1 with [`TOKEN`];
    /// `extra` is added to the `[admin]` table (written with the scratch directory).
    pub(crate) fn start(tag: &str, mut extra: impl FnMut(&Path) -> String) -> AdminSkein {
        let mut ports = (0, 0);
        let mut tls = false;
        let skein = ConfiguredSkein::start(tag, |dir| {
            ports = (free_port(), free_port());
            let extra = extra(dir);
            tls = extra.contains("certfile");
            let config = format!(
                "[[listener]]\nbind = \"127.0.0.1:{}\"\n[storage]\ndurability = \"memory\"\n\
                 [admin]\nbind = \"127.0.0.1:{}\"\ntoken = \"{TOKEN}\"\n{extra}",
                ports.0, ports.1
            );
            (config, ports.0)
        });
        skein.wait_for_log(&["Serving the admin API"]);
        let scheme = if tls { "https" } else { "http" };
        AdminSkein {
            skein,
            mqtt_port: ports.0,
            url: format!("{scheme}://127.0.0.1:{}", ports.1),
        }
    }

    /// `method path` with the token (`token` replaces it; `Some("")` sends none) and
    /// `body`: the status and the JSON answer (`Null` when the answer is not JSON).
    pub(crate) fn request_as(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url));
        let token = token.unwrap_or(TOKEN);
        if !token.is_empty() {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = body
            .map(|body| serde_json::to_vec(body).unwrap())
            .unwrap_or_default();
        let mut response = agent
            .run(request.body(body).unwrap())
            .unwrap_or_else(|error| panic!("{method} {path}: {error}\n{}", self.skein.log_tail()));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `method path` with the token.
    pub(crate) fn request(&self, method: &str, path: &str) -> (u16, Value) {
        self.request_as(method, path, None, None)
    }

    /// `GET path` with the token, asserting 200.
    pub(crate) fn get(&self, path: &str) -> Value {
        let (status, value) = self.request("GET", path);
        assert_eq!(status, 200, "GET {path}: {value}");
        value
    }

    /// `skein ctl --url URL --token TOKEN args...`.
    pub(crate) fn ctl(&self, args: &[&str]) -> Finished {
        let mut command = Command::new(env!("CARGO_BIN_EXE_skein"));
        command
            .arg("ctl")
            .args(["--url", &self.url, "--token", TOKEN])
            .args(args)
            .env_remove("SKEIN_ADMIN_TOKEN");
        run(command, Duration::from_secs(30))
    }
}
