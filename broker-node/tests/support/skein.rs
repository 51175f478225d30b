//! A `skein --config FILE` process for the tests that need more than one plain listener:
//! TLS and WebSocket listeners, `[auth]` files. The test writes the config (and the files it
//! names) into the broker's scratch directory; the process is killed by its PID on drop.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{run, scratch_dir, tail, STARTUP, START_ATTEMPTS};

/// How long a log line may take to appear.
const LOG_WAIT: Duration = Duration::from_secs(15);

/// A running `skein --config DIR/skein.toml`, with `RUST_LOG=debug`, its output in
/// `DIR/broker.log`.
pub(crate) struct ConfiguredSkein {
    child: Child,
    dir: PathBuf,
    log: PathBuf,
}

impl ConfiguredSkein {
    /// Makes a scratch directory, lets `setup` write the files it needs there and return the
    /// config text and the port of a plain TCP listener of it on 127.0.0.1, starts skein and
    /// waits until that port accepts (every listener is bound by then). `setup` runs again,
    /// with fresh ports, if a port was taken between its choice and the bind, or the setup
    /// chose one port for two listeners.
    pub(crate) fn start(tag: &str, setup: impl FnMut(&Path) -> (String, u16)) -> ConfiguredSkein {
        ConfiguredSkein::start_with_file(tag, "skein.toml", setup)
    }

    /// [`ConfiguredSkein::start`] with the config written to `DIR/file_name` (a Mosquitto
    /// configuration as `mosquitto.conf`, say).
    pub(crate) fn start_with_file(
        tag: &str,
        file_name: &str,
        mut setup: impl FnMut(&Path) -> (String, u16),
    ) -> ConfiguredSkein {
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            let dir = scratch_dir(tag);
            let (config, ready_port) = setup(&dir);
            let config_path = dir.join(file_name);
            fs::write(&config_path, config).expect("writing the config file");
            let command = Command::new(env!("CARGO_BIN_EXE_skein"));
            let mut skein = ConfiguredSkein::spawn(command, &config_path, dir);
            match skein.wait_ready(SocketAddr::from(([127, 0, 0, 1], ready_port))) {
                Ok(()) => return skein,
                Err(problem) => {
                    last = format!("{problem}\n--- broker log ---\n{}", skein.log());
                    // A port taken between its choice and the bind, or chosen twice by the
                    // setup (free ports are found one at a time): again, with fresh ones.
                    let log = skein.log();
                    if !log.contains("in use") && !log.contains("is used by another listener") {
                        break;
                    }
                }
            }
        }
        panic!("skein did not start: {last}");
    }

    /// Starts `command --config DIR/skein.toml` (a `skein` run some other way: inside a
    /// network namespace, say) with `config`, and waits until it logs that it runs.
    pub(crate) fn start_command(tag: &str, config: &str, command: Command) -> ConfiguredSkein {
        let dir = scratch_dir(tag);
        let config_path = dir.join("skein.toml");
        fs::write(&config_path, config).expect("writing the config file");
        let skein = ConfiguredSkein::spawn(command, &config_path, dir);
        skein.wait_for_log(&["Skein", "running"]);
        skein
    }

    /// Runs `command --config CONFIG` in `dir`, with `RUST_LOG=debug`, its output in
    /// `DIR/broker.log`.
    fn spawn(mut command: Command, config_path: &Path, dir: PathBuf) -> ConfiguredSkein {
        let log = dir.join("broker.log");
        let out = File::create(&log).expect("creating the broker log");
        let err = out.try_clone().expect("cloning the log file handle");
        let child = command
            .arg("--config")
            .arg(config_path)
            .current_dir(&dir)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawning skein");
        ConfiguredSkein { child, dir, log }
    }

    fn wait_ready(&mut self, addr: SocketAddr) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("skein exited with {status} before accepting"));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("skein did not accept on {addr} within {STARTUP:?}"));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The scratch directory (config, files, log); removed on drop unless the test failed.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its log file.
    pub(crate) fn log_path(&self) -> &Path {
        &self.log
    }

    /// What skein logged so far.
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of the log, for failure messages.
    pub(crate) fn log_tail(&self) -> String {
        tail(&self.log(), 60)
    }

    /// Waits until the log has a line containing every one of `parts`; returns the first.
    pub(crate) fn wait_for_log(&self, parts: &[&str]) -> String {
        self.wait_for_lines(parts, 1).swap_remove(0)
    }

    /// Waits until the log has `count` lines containing every one of `parts`; returns them.
    pub(crate) fn wait_for_lines(&self, parts: &[&str], count: usize) -> Vec<String> {
        let deadline = Instant::now() + LOG_WAIT;
        loop {
            let lines: Vec<String> = self
                .log()
                .lines()
                .filter(|line| parts.iter().all(|part| line.contains(part)))
                .map(str::to_owned)
                .collect();
            if lines.len() >= count {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "fewer than {count} log lines with {parts:?}:\n{}",
                self.log_tail()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGHUP with `kill -HUP PID` (the process's own id, nothing else).
    pub(crate) fn hangup(&self) {
        let mut kill = Command::new("kill");
        kill.arg("-HUP").arg(self.pid().to_string());
        let finished = run(kill, Duration::from_secs(10));
        assert!(
            finished.success(),
            "kill -HUP {}: {}",
            self.pid(),
            finished.describe()
        );
    }
}

impl Drop for ConfiguredSkein {
    fn drop(&mut self) {
        // Kill by PID (std::process::Child::kill), then reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
