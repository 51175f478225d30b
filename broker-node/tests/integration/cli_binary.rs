//! The `skein` command line, run as a process: help, version, the default config round trip
//! through `--check-config`, invalid configs naming their key, and a graceful SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const SKEIN: &str = env!("CARGO_BIN_EXE_skein");

fn skein(args: &[&str]) -> Output {
    Command::new(SKEIN)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run skein")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A file in this test target's scratch directory, named after the test.
fn scratch_file(name: &str, contents: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).expect("write scratch config");
    path
}

#[test]
fn help_lists_every_flag() {
    let output = skein(&["--help"]);
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    for flag in [
        "--config",
        "--listen",
        "--port",
        "-p",
        "--log-level",
        "--check-config",
        "--print-default-config",
        "--version",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}

#[test]
fn version_names_the_binary_and_version() {
    let output = skein(&["--version"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        text(&output.stdout).trim(),
        format!("skein {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_usage_error_exits_2() {
    let output = skein(&["--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(text(&output.stderr).contains("--no-such-flag"));
}

#[test]
fn the_printed_default_config_passes_check_config() {
    let printed = skein(&["--print-default-config"]);
    assert!(printed.status.success(), "{printed:?}");
    let config = text(&printed.stdout);
    assert!(config.contains("[[listener]]") && config.contains("bind = \"0.0.0.0:1883\""));
    assert!(
        config.lines().filter(|l| l.starts_with('#')).count() > 20,
        "not commented"
    );

    let path = scratch_file("default.toml", &config);
    let checked = skein(&["--config", path.to_str().unwrap(), "--check-config"]);
    assert!(checked.status.success(), "{checked:?}");
    assert!(text(&checked.stdout).contains("configuration OK (1 listener(s))"));

    let with_ports = skein(&[
        "-c",
        path.to_str().unwrap(),
        "-p",
        "1884",
        "-p",
        "1885",
        "--check-config",
    ]);
    assert!(with_ports.status.success(), "{with_ports:?}");
    assert!(text(&with_ports.stdout).contains("(2 listener(s))"));

    let builtin = skein(&["--check-config"]);
    assert!(builtin.status.success(), "{builtin:?}");
    std::fs::remove_file(path).ok();
}

#[test]
fn an_out_of_range_value_is_refused_naming_the_key() {
    let path = scratch_file("range.toml", "[limits]\nmax_packet_size = 0\n");
    let path_text = path.to_str().unwrap();
    for args in [
        vec!["--config", path_text, "--check-config"],
        vec!["--config", path_text],
    ] {
        let output = skein(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "{path_text}: limits.max_packet_size: must be between 2 and"
            )),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("got 0"), "{stderr}");
    }
    std::fs::remove_file(path).ok();
}

#[test]
fn an_unknown_key_is_refused_with_its_path_and_line() {
    let path = scratch_file(
        "unknown.toml",
        "[session]\nconnect_timeout = 5\nkeepalive = 60\n",
    );
    let output = skein(&["--config", path.to_str().unwrap(), "--check-config"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("session.keepalive"), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("unknown field `keepalive`"), "{stderr}");
    std::fs::remove_file(path).ok();
}

#[test]
fn a_missing_config_file_is_refused_naming_it() {
    let output = skein(&["--config", "/nonexistent/skein.toml", "--check-config"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(text(&output.stderr).contains("/nonexistent/skein.toml: cannot read"));
}

/// Kills the child (by its own handle, so by its PID) if the test fails before it exits.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn sigterm_drains_and_exits_0_and_runs_without_huge_pages() {
    let dir = std::env::temp_dir().join(format!("skein-it-{}-sigterm", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let child = Command::new(SKEIN)
        .args(["--listen", "127.0.0.1:0", "--log-level", "info"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn skein");
    let mut child = KillOnDrop(child);
    let stderr = child.0.stderr.take().expect("piped stderr");

    // Forward stderr lines; the listener's port comes from its log line.
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut log = Vec::new();
    let port: u16 = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines_rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no listen line within 10 s; log: {log:#?}"));
        log.push(line.clone());
        if let Some(rest) = line.split_once("Opening ipv4 listen socket on port ") {
            break rest.1.trim_end_matches('.').parse().expect("port number");
        }
    };
    // The node turns transparent huge pages off for itself (see broker-node/src/allocator.rs),
    // where the kernel reports the setting.
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.0.id()))
        .expect("read the process status");
    if let Some(thp) = status.lines().find_map(|l| l.strip_prefix("THP_enabled:")) {
        assert_eq!(thp.trim(), "0", "transparent huge pages still on");
    }
    let stream = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().expect("address"),
        Duration::from_secs(5),
    )
    .expect("connect to skein");

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());

    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.0.try_wait().expect("try_wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "skein still running 10 s after SIGTERM"
        );
        thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
    drop(stream);
    reader.join().expect("stderr reader");
    log.extend(lines_rx.try_iter());
    assert!(
        log.iter()
            .any(|l| l.ends_with(": Received SIGTERM, shutting down.")),
        "{log:#?}"
    );
    assert!(log
        .first()
        .is_some_and(|l| l.contains("Skein ") && l.ends_with(" starting")));
}
