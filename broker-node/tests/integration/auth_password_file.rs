//! `[auth] password_file` end to end: a file written by Debian's real `mosquitto_passwd`
//! authenticates paho-mqtt (MQTT 3.1.1 and 5) and `mosquitto_pub` / `mosquitto_sub` clients
//! of the `skein` binary, and SIGHUP reloads it without dropping connections.
//!
//! Each test writes the file with `mosquitto_passwd -c -b` (users alice / alice-pw and bob /
//! bob-pw), starts `skein --config` with one plain listener and
//!
//! ```toml
//! [auth]
//! password_file = "DIR/passwd"     # allow_anonymous is false by default with a password file
//! ```
//!
//! and kills it (by PID) at the end. The scenarios are `tests/python/auth_*.py`.
//! Needs `mosquitto_passwd` (Debian package `mosquitto`), `mosquitto-clients` and paho-mqtt,
//! which `.ci/install-test-deps` installs; without them the tests fail, they never skip.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{
    free_port, mosquitto_passwd, python_command, require_program, run, run_paused, tail,
    ConfiguredSkein, Running, PYTHON_TIMEOUT,
};

/// How long a mosquitto client may run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A skein with a password file of alice and bob, and its plain listener's port.
struct PasswordBroker {
    skein: ConfiguredSkein,
    port: u16,
}

impl PasswordBroker {
    fn start() -> PasswordBroker {
        let mut port = 0;
        let skein = ConfiguredSkein::start("auth-passwd", |dir| {
            let file = path_of(&dir.join("passwd"));
            mosquitto_passwd(&["-c", "-b", &file, "alice", "alice-pw"]);
            mosquitto_passwd(&["-b", &file, "bob", "bob-pw"]);
            port = free_port();
            let config = format!(
                "[[listener]]\nname = \"plain\"\nbind = \"127.0.0.1:{port}\"\n\n\
                 [auth]\npassword_file = {file:?}\n"
            );
            (config, port)
        });
        skein.wait_for_log(&["Password file ", "passwd loaded (2 users)."]);
        skein.wait_for_log(&["Anonymous clients are refused"]);
        PasswordBroker { skein, port }
    }

    fn password_file(&self) -> String {
        path_of(&self.skein.dir().join("passwd"))
    }

    /// Runs `auth_connect.py` with `cases` (user, password, expected CONNACK code).
    fn paho_connects(&self, version: &str, cases: &[[&str; 3]]) {
        let mut args = vec![version];
        args.extend(cases.iter().flatten().copied());
        let finished = run(
            python_command("auth_connect.py", self.port, &args),
            PYTHON_TIMEOUT,
        );
        assert!(
            finished.success(),
            "auth_connect.py {args:?}: {}\n--- broker log (tail) ---\n{}",
            finished.describe(),
            self.skein.log_tail()
        );
    }

    /// A `mosquitto_pub` / `mosquitto_sub` command for the broker (MQTT 3.1.1).
    fn mosquitto(&self, program: &str, credentials: &[&str]) -> Command {
        require_program(program, &["--help"], "mosquitto-clients");
        let mut command = Command::new(program);
        command
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-V",
                "mqttv311",
            ])
            .args(credentials);
        command
    }
}

fn path_of(path: &Path) -> String {
    path.to_str().expect("a UTF-8 scratch path").to_owned()
}

/// MQTT 3.1.1: return code 0 with the right password, 4 (bad user name or password) with a
/// wrong one, none, or a user not in the file, 5 (not authorized) without a user name when
/// anonymous clients are refused (§3.2.2.3, Table 3.1; Session Present 0 with a refusal,
/// [MQTT-3.2.2-4]).
#[test]
fn paho_v311_mosquitto_passwd_file_return_codes_0_4_5_mqtt_3_2_2_4() {
    let broker = PasswordBroker::start();
    broker.paho_connects(
        "3.1.1",
        &[
            ["alice", "alice-pw", "0"],
            ["bob", "bob-pw", "0"],
            ["alice", "wrong", "4"],
            ["alice", "-", "4"],
            ["mallory", "alice-pw", "4"],
            ["-", "-", "5"],
        ],
    );
    // Every refusal is logged with its reason.
    broker
        .skein
        .wait_for_lines(&["not authenticated: Bad User Name or Password."], 3);
}

/// MQTT 5: reason code 0x00, 0x86 Bad User Name or Password, 0x87 Not authorized
/// ([MQTT-3.1.4-2]: the server authenticates and closes on failure; [MQTT-3.2.2-6] Session
/// Present 0; [MQTT-3.2.2-8] a CONNACK reason code).
#[test]
fn paho_v5_mosquitto_passwd_file_reason_codes_0x86_0x87_mqtt_3_1_4_2() {
    let broker = PasswordBroker::start();
    broker.paho_connects(
        "5",
        &[
            ["alice", "alice-pw", "0"],
            ["bob", "bob-pw", "0"],
            ["alice", "wrong", "0x86"],
            ["alice", "-", "0x86"],
            ["mallory", "alice-pw", "0x86"],
            ["-", "-", "0x87"],
        ],
    );
}

/// `mosquitto_sub -u alice -P ...` receives what `mosquitto_pub -u bob -P ...` sends; a wrong
/// password and no credentials are refused, as mosquitto_pub reports.
#[test]
fn mosquitto_pub_and_sub_with_user_and_password() {
    let broker = PasswordBroker::start();
    let mut sub = broker.mosquitto("mosquitto_sub", &["-u", "alice", "-P", "alice-pw"]);
    sub.args(["-i", "auth-sub", "-t", "it/auth/mosquitto", "-q", "1"])
        .args(["-C", "1", "-W", "20"]);
    let sub = Running::start(sub);
    broker
        .skein
        .wait_for_log(&["Received SUBSCRIBE from auth-sub"]);
    // The SUBSCRIBE is logged before the subscription is made: let it settle.
    std::thread::sleep(Duration::from_millis(200));
    let mut publish = broker.mosquitto("mosquitto_pub", &["-u", "bob", "-P", "bob-pw"]);
    publish
        .args(["-i", "auth-pub", "-t", "it/auth/mosquitto", "-q", "1"])
        .args(["-m", "from bob"]);
    let published = run(publish, CLIENT_TIMEOUT);
    assert!(
        published.success(),
        "mosquitto_pub as bob: {}\n{}",
        published.describe(),
        broker.skein.log_tail()
    );
    let received = sub.finish(CLIENT_TIMEOUT);
    assert!(
        received.success() && received.stdout.trim() == "from bob",
        "mosquitto_sub as alice: {}\n{}",
        received.describe(),
        broker.skein.log_tail()
    );

    for (credentials, message) in [
        (
            &["-u", "bob", "-P", "wrong"][..],
            "bad user name or password",
        ),
        (&[][..], "not authori"),
    ] {
        let mut refused = broker.mosquitto("mosquitto_pub", credentials);
        refused.args(["-t", "it/auth/mosquitto", "-m", "refused"]);
        let finished = run(refused, CLIENT_TIMEOUT);
        assert!(
            !finished.success() && finished.stderr.to_lowercase().contains(message),
            "mosquitto_pub {credentials:?} should be refused with {message:?}: {}",
            finished.describe()
        );
    }
}

/// SIGHUP reloads the password file: carol, added with `mosquitto_passwd -b`, can connect;
/// bob, deleted with `mosquitto_passwd -D`, can no longer connect but his connection from
/// before stays up and still receives messages, as alice's does.
#[test]
fn sighup_reloads_the_password_file_and_connections_stay_up() {
    let broker = PasswordBroker::start();
    let dir = broker.skein.dir().to_owned();
    let script = python_command("auth_reload.py", broker.port, &["3.1.1", &path_of(&dir)]);
    let finished = run_paused(
        script,
        &dir,
        "reload",
        || broker.skein.log(),
        || {
            let file = broker.password_file();
            mosquitto_passwd(&["-b", &file, "carol", "carol-pw"]);
            mosquitto_passwd(&["-D", &file, "bob"]);
            broker.skein.hangup();
            broker
                .skein
                .wait_for_log(&["Received SIGHUP, reloading config"]);
            let line = broker
                .skein
                .wait_for_log(&["Reloading password file ", "(2 users)."]);
            assert!(line.contains(&file), "{line}");
        },
    );
    assert!(
        finished.success(),
        "auth_reload.py: {}\n--- broker log (tail) ---\n{}",
        finished.describe(),
        tail(&broker.skein.log(), 60)
    );
}

/// A password file that cannot be read or has a malformed line stops `--check-config` (and
/// the start) with the key, the file and the line; SIGHUP with a broken file keeps the users
/// loaded before.
#[test]
fn password_file_problems_name_the_key_the_file_and_the_line() {
    let dir = crate::support::scratch_dir("auth-check");
    let missing = path_of(&dir.join("missing"));
    let config = dir.join("skein.toml");
    std::fs::write(&config, format!("[auth]\npassword_file = {missing:?}\n")).unwrap();
    let check = |config: &Path| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_skein"));
        command.arg("--config").arg(config).arg("--check-config");
        run(command, CLIENT_TIMEOUT)
    };
    let finished = check(&config);
    let expected = format!(
        "skein: {}: auth.password_file: cannot read the password file {missing}: ",
        config.display()
    );
    assert!(
        finished.status.and_then(|s| s.code()) == Some(1) && finished.stderr.starts_with(&expected),
        "{}",
        finished.describe()
    );

    let malformed = path_of(&dir.join("passwd"));
    std::fs::write(&malformed, "# users\nalice\n").unwrap();
    std::fs::write(&config, format!("[auth]\npassword_file = {malformed:?}\n")).unwrap();
    let finished = check(&config);
    assert!(
        finished.stderr.contains(&format!(
            "auth.password_file: password file {malformed}, line 2: "
        )),
        "{}",
        finished.describe()
    );

    // A broker already running keeps its users when the file breaks.
    let broker = PasswordBroker::start();
    std::fs::write(broker.password_file(), "alice\n").unwrap();
    broker.skein.hangup();
    let line = broker
        .skein
        .wait_for_log(&["Reloading the password file failed, its 2 users loaded before"]);
    assert!(line.contains("line 1"), "{line}");
    broker.paho_connects("5", &[["alice", "alice-pw", "0"]]);
    let _ = std::fs::remove_dir_all(dir);
}

/// Without password or ACL file SIGHUP is logged and changes nothing; it never ends the
/// process (its default action).
#[test]
fn sighup_without_auth_files_is_logged_and_ignored() {
    let mut skein = ConfiguredSkein::start("auth-none", |_| {
        let port = free_port();
        (format!("[[listener]]\nbind = \"127.0.0.1:{port}\"\n"), port)
    });
    skein.hangup();
    skein.wait_for_log(&[
        "Received SIGHUP: no password_file, acl_file, plugin or TLS listener to reload.",
    ]);
    skein.hangup();
    skein.wait_for_lines(&["Received SIGHUP: no password_file"], 2);
    assert!(skein.is_running(), "{}", skein.log_tail());
}
