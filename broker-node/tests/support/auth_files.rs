//! What the authentication tests share: Debian's `mosquitto_passwd`, and a scenario script
//! that pauses while the test changes a file and sends SIGHUP.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use super::{require_program, run, Finished, Running, PYTHON_TIMEOUT};

/// Runs Debian's `mosquitto_passwd <args>` and fails the test unless it succeeds.
pub(crate) fn mosquitto_passwd(args: &[&str]) {
    require_program(
        "mosquitto_passwd",
        &[],
        "mosquitto_passwd (Debian package mosquitto, installed by .ci/install-test-deps)",
    );
    let mut command = Command::new("mosquitto_passwd");
    command.args(args);
    let finished = run(command, Duration::from_secs(10));
    assert!(
        finished.success(),
        "mosquitto_passwd {args:?}: {}",
        finished.describe()
    );
}

/// Runs a scenario `script` that pauses once: when it has written `DIR/STEP.ready` this runs
/// `action` (change a file, send SIGHUP, wait for the log) and writes `DIR/STEP.go`, and the
/// script goes on. Returns the script's output once it exits; `broker_log` is shown when the
/// script stopped before pausing.
pub(crate) fn run_paused(
    script: Command,
    dir: &Path,
    step: &str,
    broker_log: impl Fn() -> String,
    action: impl FnOnce(),
) -> Finished {
    let mut running = Running::start(script);
    let ready = dir.join(format!("{step}.ready"));
    let deadline = Instant::now() + PYTHON_TIMEOUT;
    while !ready.exists() {
        if running.has_exited() || Instant::now() > deadline {
            let finished = running.finish(Duration::from_secs(1));
            panic!(
                "the script stopped before {step}: {}\n--- broker log (tail) ---\n{}",
                finished.describe(),
                super::tail(&broker_log(), 60)
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    action();
    fs::write(dir.join(format!("{step}.go")), "go\n").expect("writing the go file");
    running.finish(PYTHON_TIMEOUT)
}
