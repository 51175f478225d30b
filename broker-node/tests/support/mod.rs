//! Harness shared by the `clients_*` integration tests: starts the `skein` binary on a free
//! loopback port, waits until it accepts connections, and kills it (by its PID) when dropped;
//! runs external clients (Python paho-mqtt scripts, `mosquitto_pub` / `mosquitto_sub`) with a
//! hard timeout; and fails with a clear message when one of those clients is not installed.
//!
//! Every wait is bounded. Each test starts its own broker, so tests running in parallel never
//! see each other's messages.
//!
//! `SKEIN_IT_BROKER=mosquitto` runs the same tests against Debian's `mosquitto` instead of
//! `skein`, to check the tests themselves against a reference broker (see docs/conformance.md
//! for the differences to expect).

pub(crate) mod admin_skein;
mod auth_files;
/// The scripted HTTP backend of the plugin host's tests, shared: this binary uses its
/// `Reply::Answer` and request log only.
#[path = "../../../plugins/wasm/tests/host/backend.rs"]
#[allow(dead_code)]
pub(crate) mod http_backend;
pub(crate) mod mqtt_client;
pub(crate) mod netns;
mod pki;
pub(crate) mod plugin_build;
pub(crate) mod raw_publisher;
pub(crate) mod rumqttc_client;
mod skein;

// Only the crates that start `skein --config` use these.
#[allow(unused_imports)]
pub(crate) use auth_files::{mosquitto_passwd, run_paused};
#[allow(unused_imports)]
pub(crate) use pki::Pki;
#[allow(unused_imports)]
pub(crate) use skein::ConfiguredSkein;

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long the broker may take to accept its first TCP connection.
const STARTUP: Duration = Duration::from_secs(10);

/// Tries to start the broker on a fresh port when the port was taken in the meantime.
const START_ATTEMPTS: usize = 3;

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// A running broker process, killed on drop. Its standard output and error go to a log file,
/// shown by [`Broker::log`] when a test fails; the file is kept when the test panicked.
pub(crate) struct Broker {
    child: Child,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
}

impl Broker {
    /// Starts a broker listening on `127.0.0.1:<free port>` and waits until it accepts TCP.
    pub(crate) fn start() -> Broker {
        let mut last_log = String::new();
        for _ in 0..START_ATTEMPTS {
            let dir = scratch_dir("broker");
            let port = free_port();
            let log = dir.join("broker.log");
            let child = spawn_broker(port, &dir, &log);
            let mut broker = Broker {
                child,
                port,
                dir,
                log,
            };
            match broker.wait_ready() {
                Ok(()) => return broker,
                Err(problem) => {
                    last_log = format!("{problem}\n--- broker log ---\n{}", broker.log());
                    // Another process may have taken the port between probe and bind: retry.
                    if !broker.log().contains("in use") {
                        break;
                    }
                }
            }
        }
        panic!("the broker did not start: {last_log}");
    }

    /// The port it listens on (on 127.0.0.1).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Its address, `127.0.0.1:port`.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Its log file.
    pub(crate) fn log_path(&self) -> &Path {
        &self.log
    }

    /// What the broker printed so far (its log), for failure messages.
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the broker exited with {status} before accepting"));
            }
            if TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the broker did not accept TCP on {} within {STARTUP:?}",
                    self.addr()
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Kill by PID (std::process::Child::kill), then reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn spawn_broker(port: u16, dir: &Path, log: &Path) -> Child {
    let out = File::create(log).expect("creating the broker log");
    let err = out.try_clone().expect("cloning the log file handle");
    let mut command = if std::env::var("SKEIN_IT_BROKER").as_deref() == Ok("mosquitto") {
        let config = dir.join("mosquitto.conf");
        fs::write(
            &config,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\n"),
        )
        .expect("writing mosquitto.conf");
        let mut command = Command::new("mosquitto");
        command.arg("-c").arg(config);
        command
    } else {
        let mut command = Command::new(env!("CARGO_BIN_EXE_skein"));
        command
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(dir)
            .env("RUST_LOG", "debug");
        command
    };
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawning the broker")
}

/// A port that was free a moment ago: bind 127.0.0.1:0, read the port, drop the socket.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// A new empty directory under the system's temporary directory.
pub(crate) fn scratch_dir(tag: &str) -> PathBuf {
    let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("skein-it-{}-{tag}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("creating a scratch directory");
    dir
}

/// The output of a finished (or killed) external program.
pub(crate) struct Finished {
    /// Its exit status; `None` when it was killed at the timeout.
    pub(crate) status: Option<ExitStatus>,
    /// What it wrote on standard output.
    pub(crate) stdout: String,
    /// What it wrote on standard error.
    pub(crate) stderr: String,
}

impl Finished {
    /// Whether it exited by itself with status 0.
    pub(crate) fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Everything it printed, for failure messages.
    pub(crate) fn describe(&self) -> String {
        let status = match self.status {
            Some(status) => status.to_string(),
            None => "killed at the timeout".to_owned(),
        };
        format!(
            "{status}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }
}

/// A started external program whose output is collected in the background.
pub(crate) struct Running {
    child: Child,
    stdout: thread::JoinHandle<String>,
    stderr: thread::JoinHandle<String>,
}

impl Running {
    /// Starts `command` with its standard output and error captured.
    pub(crate) fn start(mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
        let stdout = collect(child.stdout.take().expect("piped stdout"));
        let stderr = collect(child.stderr.take().expect("piped stderr"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// Whether it has exited.
    pub(crate) fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Asks it to stop: SIGTERM, by PID.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits until it exits, at most `timeout`, then kills it (by PID) and returns its output.
    pub(crate) fn finish(mut self, timeout: Duration) -> Finished {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        Finished {
            status,
            stdout: self.stdout.join().unwrap_or_default(),
            stderr: self.stderr.join().unwrap_or_default(),
        }
    }
}

fn collect(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `command` to completion, killing it after `timeout`.
pub(crate) fn run(command: Command, timeout: Duration) -> Finished {
    Running::start(command).finish(timeout)
}

/// Fails the test unless `program` can be started (`program args...`; its exit status is not
/// checked): the integration tests need the real clients, and `.ci/run` installs them.
pub(crate) fn require_program(program: &str, args: &[&str], what: &str) {
    let started = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        started.is_ok(),
        "{what} is missing (`{program}` cannot be started: {}): .ci/run installs it",
        started.map_or_else(|e| e.to_string(), |s| s.to_string())
    );
}

/// Fails the test unless `program args...` exits 0: `.ci/run` installs what it checks.
pub(crate) fn require(program: &str, args: &[&str], what: &str) {
    require_program(program, args, what);
    let ok = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{what} is missing (`{program} {}` failed): .ci/run installs it",
        args.join(" ")
    );
}

/// Fails the test unless `python3` with paho-mqtt 2.x is installed.
pub(crate) fn require_paho() {
    require("python3", &["--version"], "python3");
    require(
        "python3",
        &[
            "-c",
            "import paho.mqtt, sys; sys.exit(0 if paho.mqtt.__version__.startswith('2.') else 1)",
        ],
        "the Python package paho-mqtt 2.x",
    );
}

/// Runs `tests/python/<script> <port> <args...>` and fails the test unless it exits 0.
pub(crate) fn python_scenario(broker: &Broker, script: &str, args: &[&str]) {
    let finished = run(python_command(script, broker.port(), args), PYTHON_TIMEOUT);
    assert!(
        finished.success(),
        "{script} {args:?} failed: {}\n--- broker log (tail) ---\n{}",
        finished.describe(),
        tail(&broker.log(), 60)
    );
}

/// How long a scenario script may run: the scripts arm their own 30 s alarm; this is the
/// backstop.
pub(crate) const PYTHON_TIMEOUT: Duration = Duration::from_secs(45);

/// The command that runs `tests/python/<script> <port> <args...>` (paho-mqtt checked first).
pub(crate) fn python_command(script: &str, port: u16, args: &[&str]) -> Command {
    require_paho();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("python")
        .join(script);
    let mut command = Command::new("python3");
    command
        .arg(&path)
        .arg(port.to_string())
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    command
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Writes `bytes` to `stream`, failing the test on error.
pub(crate) fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).expect("writing to the broker");
}
