//! The process's tracing subscriber: Mosquitto-style text lines or JSON, on standard error.
//!
//! Text lines read `{unix seconds}: {message}`, the format Mosquitto operators grep; warnings
//! and errors get Mosquitto's `Warning: ` / `Error: ` prefix, and structured fields of an event
//! follow its message as `key=value`. The JSON format is tracing-subscriber's, one object a line.
//!
//! The level comes, in order of precedence, from `--log-level`, from `RUST_LOG` (which may hold
//! full filter directives such as `info,broker_core=debug`), and from the config's `log.level`.
//!
//! Logging never blocks the broker: lines go through a bounded queue of [`BUFFERED_LINES`] to
//! one thread that writes them to standard error. When that thread cannot keep up, or standard
//! error is a pipe nobody reads, new lines are dropped and counted ([`LogWriter::dropped`],
//! the metric `skein_log_lines_dropped_total`), and the broker carries on.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};
use serde::Deserialize;
use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// How much the broker logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LogLevel {
    /// Nothing.
    Off,
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// Connections, disconnections, takeovers, timeouts: Mosquitto's default log.
    Info,
    /// Also one line per packet received and sent (Mosquitto's `-v`).
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The level's name as written in the config and on the command line.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LogLevel::Off => "off",
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// How each log line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LogFormat {
    /// `{unix seconds}: {message}`, as Mosquitto writes it.
    Text,
    /// One JSON object per line (timestamp, level, target, fields).
    Json,
}

/// The filter to install: `cli` (from `--log-level`) wins, then a non-empty `rust_log` (the
/// `RUST_LOG` variable), then the config's `level`.
pub(crate) fn filter(
    cli: Option<LogLevel>,
    rust_log: Option<&str>,
    config: LogLevel,
) -> anyhow::Result<EnvFilter> {
    if let Some(level) = cli {
        return Ok(EnvFilter::new(level.as_str()));
    }
    match rust_log
        .map(str::trim)
        .filter(|directives| !directives.is_empty())
    {
        Some(directives) => EnvFilter::try_new(directives)
            .map_err(|error| anyhow!("RUST_LOG={directives:?} is not a valid filter: {error}")),
        None => Ok(EnvFilter::new(config.as_str())),
    }
}

/// Lines waiting for the writer thread at most; past that, new lines are dropped. A line
/// holds at most 128 bytes of each client-chosen string, so the queue stays a few MiB.
pub(crate) const BUFFERED_LINES: usize = 16_384;

/// The log's writer thread, as long as the process logs: dropping it flushes the queued lines
/// (for at most about a second) and stops the thread, so `main` keeps it to the end.
pub(crate) struct LogWriter {
    _guard: WorkerGuard,
    dropped: ErrorCounter,
}

impl LogWriter {
    /// The lines dropped so far because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        u64::try_from(self.dropped.dropped_lines()).unwrap_or(u64::MAX)
    }

    /// A handle on the count of dropped lines, for the metrics endpoint.
    pub(crate) fn counter(&self) -> ErrorCounter {
        self.dropped.clone()
    }
}

/// Installs the global subscriber writing to standard error through a bounded, lossy queue;
/// the returned [`LogWriter`] must live as long as the process logs.
pub(crate) fn init(filter: EnvFilter, format: LogFormat) -> anyhow::Result<LogWriter> {
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .lossy(true)
        .thread_name("skein-log")
        .finish(std::io::stderr());
    let dropped = writer.error_counter();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(false)
            .event_format(MosquittoFormat)
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed
        .map_err(|error| anyhow!("{error}"))
        .context("installing the log subscriber")?;
    Ok(LogWriter {
        _guard: guard,
        dropped,
    })
}

/// Writes `{unix seconds}: {message}` lines, the way Mosquitto does.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MosquittoFormat;

impl<S, N> FormatEvent<S, N> for MosquittoFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or_default();
        write!(writer, "{seconds}: ")?;
        match *event.metadata().level() {
            Level::ERROR => writer.write_str("Error: ")?,
            Level::WARN => writer.write_str("Warning: ")?,
            _ => {}
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// Collects everything the subscriber writes.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn text_lines(emit: impl FnOnce()) -> Vec<String> {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("info"))
            .with_writer(capture.clone())
            .with_ansi(false)
            .event_format(MosquittoFormat)
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = capture.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn split_timestamp(line: &str) -> (u64, &str) {
        let (seconds, rest) = line.split_once(": ").unwrap();
        (seconds.parse().unwrap(), rest)
    }

    #[test]
    fn text_lines_are_unix_seconds_then_the_message() {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let lines = text_lines(|| {
            tracing::info!("Opening ipv4 listen socket on port {}.", 1883);
            tracing::debug!("not shown at info");
            tracing::warn!("queue full");
            tracing::error!("bind failed");
            tracing::info!(client = "c1", "Client connected.");
        });
        assert_eq!(lines.len(), 4, "{lines:?}");
        let (seconds, message) = split_timestamp(&lines[0]);
        assert!(seconds >= before && seconds <= before + 60, "{seconds}");
        assert_eq!(message, "Opening ipv4 listen socket on port 1883.");
        assert_eq!(split_timestamp(&lines[1]).1, "Warning: queue full");
        assert_eq!(split_timestamp(&lines[2]).1, "Error: bind failed");
        assert_eq!(
            split_timestamp(&lines[3]).1,
            "Client connected. client=\"c1\""
        );
    }

    #[test]
    fn the_command_line_beats_rust_log_which_beats_the_config() {
        let from_cli = filter(Some(LogLevel::Debug), Some("warn"), LogLevel::Error).unwrap();
        assert_eq!(from_cli.to_string(), "debug");
        let from_env = filter(None, Some("info,broker_core=trace"), LogLevel::Error).unwrap();
        assert!(
            from_env.to_string().contains("broker_core=trace"),
            "{from_env}"
        );
        let from_config = filter(None, None, LogLevel::Warn).unwrap();
        assert_eq!(from_config.to_string(), "warn");
        let empty_env = filter(None, Some("  "), LogLevel::Off).unwrap();
        assert_eq!(empty_env.to_string(), "off");
    }

    #[test]
    fn a_malformed_rust_log_is_an_error_naming_it() {
        let error = filter(None, Some("info,=[{"), LogLevel::Info).unwrap_err();
        assert!(error.to_string().contains("RUST_LOG"), "{error}");
    }
}
