//! `skein passwd` against the real thing: the files it writes are verified by Skein's
//! `PasswordFile` hook and accepted by Debian's `mosquitto` 2.0 (`password_file`,
//! `allow_anonymous false`) with `mosquitto_pub -u/-P`; `-D` and `-U`; prompting through a
//! pipe; and files shared with `mosquitto_passwd` both ways.
//!
//! Needs `mosquitto`, `mosquitto_passwd` (package `mosquitto`) and `mosquitto_pub`
//! (`mosquitto-clients`), which `.ci/install-test-deps` installs; without them the tests fail.

use std::fs::{self, File};
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{free_port, require_program, run, Finished};
use skein_plugin_mosquitto::{PasswordCheck, PasswordFile};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(10);

/// Runs `skein passwd <args>`.
fn skein_passwd(args: &[&str]) -> Finished {
    let mut command = Command::new(env!("CARGO_BIN_EXE_skein"));
    command.arg("passwd").args(args);
    run(command, WAIT)
}

/// Runs `skein passwd <args>` and fails unless it succeeds.
fn skein_passwd_ok(args: &[&str]) {
    let finished = skein_passwd(args);
    assert!(
        finished.success(),
        "skein passwd {args:?}: {}",
        finished.describe()
    );
}

/// Runs `skein passwd <args>` with `input` on its standard input (no terminal).
fn skein_passwd_piped(args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skein"))
        .arg("passwd")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting skein");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .expect("writing the password");
    child.wait_with_output().expect("waiting for skein")
}

fn mosquitto_passwd(args: &[&str]) {
    require_program(
        "mosquitto_passwd",
        &[],
        "mosquitto_passwd (Debian package mosquitto)",
    );
    let mut command = Command::new("mosquitto_passwd");
    command.args(args);
    let finished = run(command, WAIT);
    assert!(
        finished.success(),
        "mosquitto_passwd {args:?}: {}",
        finished.describe()
    );
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// A `mosquitto` broker on a free 127.0.0.1 port, with the password file and anonymous
/// clients refused; killed by PID when dropped.
struct Mosquitto {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Mosquitto {
    fn start(dir: &Path, password_file: &Path) -> Mosquitto {
        require_program("mosquitto", &["-h"], "mosquitto (Debian package mosquitto)");
        let port = free_port();
        let config = dir.join(format!("mosquitto-{port}.conf"));
        // As root, mosquitto drops to the `mosquitto` user before reading the password
        // file unless told to stay root (`user` is ignored when not root).
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
        let user = if as_root { "user root\n" } else { "" };
        fs::write(
            &config,
            format!(
                "{user}listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\n\
                 log_type all\n",
                password_file.display()
            ),
        )
        .expect("writing mosquitto.conf");
        let log = dir.join(format!("mosquitto-{port}.log"));
        let out = File::create(&log).expect("creating the mosquitto log");
        let err = out.try_clone().expect("cloning the log handle");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("starting mosquitto");
        let mut broker = Mosquitto { child, port, log };
        broker.wait_ready();
        broker
    }

    fn wait_ready(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("mosquitto exited with {status}:\n{}", self.log());
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "mosquitto did not accept on {addr}:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Publishes one QoS 1 message as `username` / `password` with `mosquitto_pub`.
    fn publish(&self, username: &str, password: &str) -> Finished {
        require_program(
            "mosquitto_pub",
            &["--help"],
            "mosquitto_pub (Debian package mosquitto-clients)",
        );
        let mut command = Command::new("mosquitto_pub");
        command
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-u", username, "-P", password])
            .args(["-t", "passwd/test", "-m", "hello", "-q", "1"]);
        run(command, WAIT)
    }

    fn assert_accepts(&self, username: &str, password: &str) {
        let finished = self.publish(username, password);
        assert!(
            finished.success(),
            "mosquitto refused {username}: {}\n--- mosquitto log ---\n{}",
            finished.describe(),
            self.log()
        );
    }

    fn assert_refuses(&self, username: &str, password: &str) {
        let finished = self.publish(username, password);
        assert!(
            !finished.success(),
            "mosquitto accepted {username} / {password:?}:\n{}",
            self.log()
        );
        assert!(
            finished.stderr.contains("not authori"),
            "{}",
            finished.describe()
        );
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn create_and_add_are_verified_by_the_hook_and_by_mosquitto() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("passwd");
    skein_passwd_ok(&["-c", "-b", path_str(&file), "alice", "wonderland"]);
    skein_passwd_ok(&["-b", path_str(&file), "bob", "the builder"]);
    skein_passwd_ok(&["-H", "sha512", "-b", path_str(&file), "carol", "old-style"]);
    let text = fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("alice:$7$101$"), "{text}");
    assert!(lines[1].starts_with("bob:$7$101$"), "{text}");
    assert!(lines[2].starts_with("carol:$6$"), "{text}");

    let hook = PasswordFile::load(&file).unwrap();
    assert_eq!(hook.check("alice", b"wonderland"), PasswordCheck::Valid);
    assert_eq!(hook.check("bob", b"the builder"), PasswordCheck::Valid);
    assert_eq!(hook.check("carol", b"old-style"), PasswordCheck::Valid);
    assert_eq!(
        hook.check("alice", b"Wonderland"),
        PasswordCheck::WrongPassword
    );

    let mosquitto = Mosquitto::start(dir.path(), &file);
    mosquitto.assert_accepts("alice", "wonderland");
    mosquitto.assert_accepts("bob", "the builder");
    mosquitto.assert_accepts("carol", "old-style");
    mosquitto.assert_refuses("alice", "Wonderland");
    mosquitto.assert_refuses("dave", "wonderland");

    // Changing a password replaces the line in place.
    skein_passwd_ok(&["-b", path_str(&file), "alice", "looking glass"]);
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.lines().next().unwrap().starts_with("alice:"), "{text}");
    assert_eq!(text.lines().count(), 3);
    let hook = PasswordFile::load(&file).unwrap();
    assert_eq!(hook.check("alice", b"looking glass"), PasswordCheck::Valid);
    drop(mosquitto);
    let mosquitto = Mosquitto::start(dir.path(), &file);
    mosquitto.assert_accepts("alice", "looking glass");
    mosquitto.assert_refuses("alice", "wonderland");
}

#[test]
fn delete_removes_the_user() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("passwd");
    skein_passwd_ok(&["-c", "-b", path_str(&file), "alice", "a"]);
    skein_passwd_ok(&["-b", path_str(&file), "bob", "b"]);
    skein_passwd_ok(&["-D", path_str(&file), "bob"]);
    let hook = PasswordFile::load(&file).unwrap();
    assert_eq!(hook.check("bob", b"b"), PasswordCheck::UnknownUser);
    assert_eq!(hook.check("alice", b"a"), PasswordCheck::Valid);
    let mosquitto = Mosquitto::start(dir.path(), &file);
    mosquitto.assert_refuses("bob", "b");
    mosquitto.assert_accepts("alice", "a");

    let missing = skein_passwd(&["-D", path_str(&file), "bob"]);
    assert!(!missing.success());
    assert!(
        missing.stderr.contains("user bob not found"),
        "{}",
        missing.describe()
    );
}

#[test]
fn update_hashes_a_plain_text_file() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("passwd");
    fs::write(
        &file,
        "# plain text\nalice:wonderland\n carol : pass word \n",
    )
    .unwrap();
    skein_passwd_ok(&["-U", path_str(&file)]);
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# plain text\nalice:$7$101$"), "{text}");
    assert!(!text.contains("wonderland"), "{text}");
    let hook = PasswordFile::load(&file).unwrap();
    assert_eq!(hook.check("alice", b"wonderland"), PasswordCheck::Valid);
    assert_eq!(hook.check("carol", b"pass word"), PasswordCheck::Valid);

    // Running it again changes nothing: hashes are not hashed again.
    skein_passwd_ok(&["-U", path_str(&file)]);
    assert_eq!(fs::read_to_string(&file).unwrap(), text);

    let mosquitto = Mosquitto::start(dir.path(), &file);
    mosquitto.assert_accepts("alice", "wonderland");
    mosquitto.assert_accepts("carol", "pass word");
}

#[test]
fn files_are_shared_with_mosquitto_passwd_both_ways() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("passwd");
    mosquitto_passwd(&["-c", "-b", path_str(&file), "alice", "from-mosquitto"]);
    skein_passwd_ok(&["-b", path_str(&file), "bob", "from-skein"]);
    mosquitto_passwd(&["-b", path_str(&file), "carol", "from-mosquitto-again"]);
    let hook = PasswordFile::load(&file).unwrap();
    assert_eq!(hook.check("alice", b"from-mosquitto"), PasswordCheck::Valid);
    assert_eq!(hook.check("bob", b"from-skein"), PasswordCheck::Valid);
    assert_eq!(
        hook.check("carol", b"from-mosquitto-again"),
        PasswordCheck::Valid
    );
}

#[test]
fn the_password_is_prompted_twice() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("passwd");
    let output = skein_passwd_piped(&["-c", path_str(&file), "alice"], "secret\nsecret\n");
    assert!(output.status.success(), "{output:?}");
    let hook = PasswordFile::load(&file).unwrap();
    assert_eq!(hook.check("alice", b"secret"), PasswordCheck::Valid);

    let output = skein_passwd_piped(&[path_str(&file), "bob"], "one\ntwo\n");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("passwords do not match"),
        "{output:?}"
    );
    let output = skein_passwd_piped(&[path_str(&file), "bob"], "\n\n");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("empty password"));
    assert!(!fs::read_to_string(&file).unwrap().contains("bob:"));
}

#[test]
fn bad_invocations_fail_with_a_message() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("passwd");
    let file = path_str(&file);
    for (args, words) in [
        (&["-c", "-D", file, "u"][..], "cannot be used with"),
        (&["-b", file, "u"], "-b needs the password"),
        (&["-b", file, "a:b", "p"], "':'"),
        (&["-b", file, "u", "p"], "cannot read the password file"),
        (&["-U", file], "cannot read the password file"),
        (&["-I", "0", "-c", "-b", file, "u", "p"], "0"),
    ] {
        let finished = skein_passwd(args);
        assert!(!finished.success(), "{args:?}");
        assert!(
            finished.stderr.contains(words),
            "{args:?}: {}",
            finished.describe()
        );
    }
    assert!(!Path::new(file).exists());
}

#[cfg(unix)]
#[test]
fn new_files_are_not_world_readable_and_modes_are_kept() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = TempDir::new().unwrap();
    let file = dir.path().join("passwd");
    skein_passwd_ok(&["-c", "-b", path_str(&file), "alice", "a"]);
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o007, 0, "mode {mode:o}");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    skein_passwd_ok(&["-b", path_str(&file), "bob", "b"]);
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Only the password file is left in the directory (no temporary file).
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["passwd"]);
}
