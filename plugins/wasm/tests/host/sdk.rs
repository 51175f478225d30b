//! A plugin written with the SDK's bindings, export macro and panic hook, tested through the
//! harness (`PluginHarness`) as a plugin author would test theirs: its decisions, and a panic
//! whose message and place reach the broker's log.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use broker_core::hooks::{AuthzDecision, HookError};
use broker_core::types::ReasonCode;
use skein_plugin_wasm::{HarnessError, PluginHarness, PluginSpec, TestClient};

/// The log lines written while the test runs on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

// One thread: the plugin's calls run on it, where the capturing subscriber is.
#[tokio::test(flavor = "current_thread")]
async fn an_sdk_plugin_decides_and_its_panic_is_logged_with_its_message_and_place() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk-guest");
    let wasm = PluginHarness::build(&dir, "skein_test_sdk_guest").unwrap();
    let plugin = PluginHarness::load(PluginSpec::new("sdk-guest", wasm))
        .await
        .unwrap();
    let device = TestClient::new("dev1").unwrap();
    assert!(matches!(
        plugin.publish(&device, "sdk/dev1/t").await.unwrap(),
        AuthzDecision::Allow { .. }
    ));
    let other = plugin.publish(&device, "sdk/dev2/t").await.unwrap();
    assert!(
        matches!(&other, AuthzDecision::Deny { refusal, .. } if refusal.code() == ReasonCode::NotAuthorized),
        "{other:?}"
    );

    let panicked = plugin.publish(&device, "panic").await.unwrap_err();
    assert!(
        matches!(panicked, HarnessError::Hook(HookError::Failed(_))),
        "{panicked:?}"
    );
    let log = captured.text();
    assert!(
        log.contains("panicked at src/lib.rs:") && log.contains("told to panic"),
        "{log}"
    );
    // The instance was replaced: the next call is answered.
    assert!(matches!(
        plugin.publish(&device, "sdk/dev1/u").await.unwrap(),
        AuthzDecision::Allow { .. }
    ));
    // What the harness refuses before calling the plugin.
    assert!(matches!(
        plugin.publish(&device, "a/+").await,
        Err(HarnessError::Topic(_))
    ));
}
