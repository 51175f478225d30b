//! Environment overrides of the configuration (`SKEIN_<TABLE>__<KEY>`), as a container
//! deployment sets them: on the embedded default config, `SKEIN_LISTENER__0__BIND` moves the
//! listener; a value the key does not take is refused at start, naming the key and the
//! variable.

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use crate::support::{free_port, run, scratch_dir, Running};

const WAIT: Duration = Duration::from_secs(15);

#[test]
fn environment_overrides_apply_on_top_of_the_config_and_bad_ones_are_named() {
    let dir = scratch_dir("config-env");
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_skein"));
    command
        .env("SKEIN_LISTENER__0__BIND", format!("127.0.0.1:{port}"))
        .env("SKEIN_STORAGE__DURABILITY", "memory")
        .current_dir(&dir);
    let skein = Running::start(command);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut connected = false;
    for _ in 0..150 {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            connected = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    skein.terminate();
    let finished = skein.finish(WAIT);
    assert!(
        connected,
        "skein did not listen on {addr}: {}",
        finished.describe()
    );
    assert!(
        finished.stderr.contains("in memory only") || finished.stdout.contains("in memory only"),
        "{}",
        finished.describe()
    );

    let mut bad = Command::new(env!("CARGO_BIN_EXE_skein"));
    bad.arg("--check-config")
        .env("SKEIN_LIMITS__MAX_CONNECTIONS", "many")
        .current_dir(&dir);
    let refused = run(bad, WAIT);
    assert!(!refused.success(), "{}", refused.describe());
    assert!(
        refused
            .stderr
            .contains("with SKEIN_LIMITS__MAX_CONNECTIONS")
            && refused.stderr.contains("limits.max_connections"),
        "{}",
        refused.describe()
    );
}
