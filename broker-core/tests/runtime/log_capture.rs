//! The test binary's one global `tracing` subscriber: the broker's info lines, captured for
//! the tests that check what it logs, and, when `RUST_LOG` is set, the lines it selects in
//! the test's output.

use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{fmt, Layer as _};

/// The log lines the broker writes at info level, from every test of the binary: the
/// process's global subscriber (a scoped one misses events when tests run in parallel, as
/// callsite interest is shared). Tests look for lines with their own client identifiers.
#[derive(Clone, Default)]
pub(crate) struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// The capture, installed with the global subscriber on first use.
    pub(crate) fn global() -> &'static LogCapture {
        static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
        CAPTURE.get_or_init(|| {
            let capture = LogCapture::default();
            let sink = capture.clone();
            let captured = fmt::layer()
                .with_ansi(false)
                .with_writer(move || sink.clone())
                .with_filter(LevelFilter::INFO);
            let shown = std::env::var_os("RUST_LOG").map(|_| {
                fmt::layer()
                    .with_test_writer()
                    .with_filter(EnvFilter::from_default_env())
            });
            let installed = tracing_subscriber::registry()
                .with(captured)
                .with(shown)
                .try_init();
            assert!(installed.is_ok(), "another global subscriber is installed");
            capture
        })
    }

    /// Everything captured so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
