//! The `PasswordFile` hook against files written by Debian's real `mosquitto_passwd` 2.0
//! (package `mosquitto`, installed by `.ci/install-test-deps`): `$7$` and `$6$` lines,
//! Mosquitto's decisions (unknown users refused, no user name left to the anonymous
//! policy), malformed lines named, and reloading.
//!
//! Without `mosquitto_passwd` these tests fail (they never skip): CI installs it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use broker_core::hooks::{
    AuthDecision, AuthMethod, AuthenticateRequest, ClientInfo, EnhancedAuth, Hook, HookChain,
    ListenerName, Password, Username,
};
use broker_core::types::{ClientId, ProtocolVersion, ReasonCode};
use sha2::{Digest as _, Sha512};
use skein_plugin_mosquitto::{
    HashScheme, Iterations, PasswordCheck, PasswordFile, PasswordFileError, PasswordHash,
    UnknownUser,
};
use tempfile::TempDir;

/// Lines written by `mosquitto_passwd` 2.0.11 (Debian 12) once, kept as fixed vectors:
/// `mosquitto_passwd -c -b f golden 'correct horse'`, `-H sha512 -b f golden6 'battery
/// staple'`, `-I 1000 -b f iter x`.
const GOLDEN: &str = "\
golden:$7$101$7IY5COkAnW6OdOlQ$7DcKjJi50lt9av9jyAJP5oT1mtAjBadibGcAFEh1HdnAopbRgpMKc7nbBt6Y0Vy6dmbj1whu1T0C3iHrpwGdIw==
golden6:$6$nC/MMUCI1QMozXYO$QcRgxtPQu+5PPIt3WD7z4v1NMLeDvtVCgiGEWiC2hA04x97UI112r3axIhHC853eGKZh9yEYRVO/mUFrr0yZcQ==
iter:$7$1000$IDIADIaecjBGcJG4$cfpD4N9CPEXlVhg4fPuYDb4jUUcvxPDqM7608mQoOJY3L7U6RxSZnh/zxe2Rrxq44U/a+AjH77sC3g35mr95Yw==
";

/// Runs the real `mosquitto_passwd` with `args`; fails the test if it is missing or fails.
fn mosquitto_passwd(args: &[&str]) {
    let output = Command::new("mosquitto_passwd")
        .args(args)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "mosquitto_passwd (Debian package `mosquitto`) cannot be started: {error}; \
                 .ci/install-test-deps installs it"
            )
        });
    assert!(
        output.status.success(),
        "mosquitto_passwd {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, text).unwrap();
    path
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn client(username: Option<&str>) -> Arc<ClientInfo> {
    let mut info = ClientInfo::new(
        ClientId::new("client-1").unwrap(),
        ProtocolVersion::V3_1_1,
        ListenerName::from("test"),
    );
    if let Some(name) = username {
        info = info.with_username(Username::try_from(name).unwrap());
    }
    Arc::new(info)
}

fn connect(username: Option<&str>, password: Option<&str>) -> AuthenticateRequest {
    AuthenticateRequest::connect(
        client(username),
        password.map(|p| Password::new(p.to_owned())),
    )
}

async fn decide(
    hook: &PasswordFile,
    username: Option<&str>,
    password: Option<&str>,
) -> AuthDecision {
    hook.authenticate(&connect(username, password))
        .await
        .unwrap()
}

fn bad_credentials() -> AuthDecision {
    AuthDecision::deny(ReasonCode::BadUserNameOrPassword)
}

#[tokio::test]
async fn pbkdf2_lines_from_mosquitto_passwd_authenticate() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("passwd");
    mosquitto_passwd(&["-c", "-b", path_str(&file), "alice", "wonderland"]);
    mosquitto_passwd(&["-b", path_str(&file), "bob", "pa ss:wörd$7$"]);
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("alice:$7$101$"), "{text}");

    let hook = PasswordFile::load(&file).unwrap();
    assert_eq!(hook.len(), 2);
    assert_eq!(
        decide(&hook, Some("alice"), Some("wonderland")).await,
        AuthDecision::allow()
    );
    assert_eq!(
        decide(&hook, Some("bob"), Some("pa ss:wörd$7$")).await,
        AuthDecision::allow()
    );
    // Wrong, empty or missing password: 0x86 Bad User Name or Password (MQTT 3: rc 4).
    for wrong in [Some("Wonderland"), Some("wonderlan"), Some(""), None] {
        assert_eq!(
            decide(&hook, Some("alice"), wrong).await,
            bad_credentials(),
            "{wrong:?}"
        );
    }
    // Another user's password.
    assert_eq!(
        decide(&hook, Some("bob"), Some("wonderland")).await,
        bad_credentials()
    );
    assert_eq!(hook.check("alice", b"wonderland"), PasswordCheck::Valid);
    assert_eq!(hook.check("alice", b"x"), PasswordCheck::WrongPassword);
}

#[tokio::test]
async fn sha512_lines_from_mosquitto_passwd_authenticate() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("passwd");
    mosquitto_passwd(&[
        "-H",
        "sha512",
        "-c",
        "-b",
        path_str(&file),
        "carol",
        "s3cret",
    ]);
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("carol:$6$"), "{text}");
    let hook = PasswordFile::load(&file).unwrap();
    assert_eq!(
        decide(&hook, Some("carol"), Some("s3cret")).await,
        AuthDecision::allow()
    );
    assert_eq!(
        decide(&hook, Some("carol"), Some("s3cret ")).await,
        bad_credentials()
    );
}

#[tokio::test]
async fn fixed_vectors_from_mosquitto_2_0_11() {
    let dir = TempDir::new().unwrap();
    let hook = PasswordFile::load(write(&dir, "passwd", GOLDEN)).unwrap();
    assert_eq!(
        decide(&hook, Some("golden"), Some("correct horse")).await,
        AuthDecision::allow()
    );
    assert_eq!(
        decide(&hook, Some("golden6"), Some("battery staple")).await,
        AuthDecision::allow()
    );
    assert_eq!(
        decide(&hook, Some("iter"), Some("x")).await,
        AuthDecision::allow()
    );
    assert_eq!(
        decide(&hook, Some("golden"), Some("battery staple")).await,
        bad_credentials()
    );
    // The lines parse to what they say, and print back the same.
    for line in GOLDEN.lines() {
        let (_, hash) = line.split_once(':').unwrap();
        let parsed: PasswordHash = hash.parse().unwrap();
        assert_eq!(parsed.to_string(), hash);
    }
    let iter: PasswordHash = GOLDEN
        .lines()
        .nth(2)
        .unwrap()
        .split_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert_eq!(
        iter.scheme(),
        HashScheme::Pbkdf2Sha512(Iterations::new(1000).unwrap())
    );
}

/// A `$6$` line computed here from the definition (SHA-512 of the password then the salt,
/// both base64), independently of the hook's code.
#[tokio::test]
async fn sha512_line_computed_from_the_definition() {
    let salt = *b"0123456789ab";
    let digest = Sha512::new()
        .chain_update(b"hunter2")
        .chain_update(salt)
        .finalize();
    let line = format!(
        "dave:$6${}${}\n",
        STANDARD.encode(salt),
        STANDARD.encode(digest)
    );
    let dir = TempDir::new().unwrap();
    let hook = PasswordFile::load(write(&dir, "passwd", &line)).unwrap();
    assert_eq!(
        decide(&hook, Some("dave"), Some("hunter2")).await,
        AuthDecision::allow()
    );
    assert_eq!(
        decide(&hook, Some("dave"), Some("hunter3")).await,
        bad_credentials()
    );
    // And the hook's own hashing writes the same line.
    assert_eq!(
        format!("dave:{}\n", PasswordHash::sha512(b"hunter2", salt)),
        line
    );
}

#[tokio::test]
async fn unknown_users_and_anonymous_clients() {
    let dir = TempDir::new().unwrap();
    let hook = PasswordFile::load(write(&dir, "passwd", GOLDEN)).unwrap();
    // Mosquitto refuses a user name that is not in the file...
    assert_eq!(
        decide(&hook, Some("mallory"), Some("x")).await,
        bad_credentials()
    );
    assert_eq!(
        decide(&hook, Some("mallory"), None).await,
        bad_credentials()
    );
    assert_eq!(hook.check("mallory", b"x"), PasswordCheck::UnknownUser);
    // ...and leaves a CONNECT without one to the anonymous policy.
    assert_eq!(decide(&hook, None, None).await, AuthDecision::Next);
    assert_eq!(
        decide(&hook, None, Some("correct horse")).await,
        AuthDecision::Next
    );
    // MQTT 5 enhanced authentication is another hook's business.
    let enhanced = connect(Some("golden"), None).with_enhanced(EnhancedAuth::new(
        AuthMethod::try_from("SCRAM-SHA-256").unwrap(),
        None,
    ));
    assert_eq!(
        hook.authenticate(&enhanced).await.unwrap(),
        AuthDecision::Next
    );

    let lenient = PasswordFile::load(write(&dir, "passwd", GOLDEN))
        .unwrap()
        .unknown_user(UnknownUser::Next);
    assert_eq!(
        decide(&lenient, Some("mallory"), Some("x")).await,
        AuthDecision::Next
    );
    assert_eq!(
        decide(&lenient, Some("golden"), Some("x")).await,
        bad_credentials()
    );
}

#[tokio::test]
async fn through_a_chain_that_requires_authentication() {
    let dir = TempDir::new().unwrap();
    let chain = HookChain::builder()
        .hook(PasswordFile::load(write(&dir, "passwd", GOLDEN)).unwrap())
        .require_authentication()
        .build();
    let outcome = chain
        .authenticate(&connect(Some("golden"), Some("correct horse")))
        .await;
    assert!(outcome.is_allowed());
    let outcome = chain
        .authenticate(&connect(Some("golden"), Some("nope")))
        .await;
    assert_eq!(outcome.reason_code(), ReasonCode::BadUserNameOrPassword);
    // No user name: the chain's anonymous policy refuses (0x87 Not authorized, rc 5).
    let outcome = chain.authenticate(&connect(None, None)).await;
    assert_eq!(outcome.reason_code(), ReasonCode::NotAuthorized);
}

#[test]
fn comments_blank_lines_and_blanks_around_fields_are_accepted() {
    let dir = TempDir::new().unwrap();
    let golden = GOLDEN.lines().next().unwrap();
    let (user, hash) = golden.split_once(':').unwrap();
    let text = format!("# users\n\n   \n  # indented comment\n {user} :\t{hash}  \r\n");
    let hook = PasswordFile::load(write(&dir, "passwd", &text)).unwrap();
    assert_eq!(hook.check("golden", b"correct horse"), PasswordCheck::Valid);
}

#[test]
fn malformed_lines_are_refused_naming_the_file_and_line() {
    let dir = TempDir::new().unwrap();
    let good = GOLDEN.lines().next().unwrap();
    let salt = STANDARD.encode([0u8; 12]);
    let hash = STANDARD.encode([0u8; 64]);
    for (text, line, words) in [
        (format!("{good}\nno-colon-here\n"), 2, "no `:`"),
        (
            format!("# x\n:$6${salt}${hash}\n"),
            2,
            "user name before `:` is empty",
        ),
        ("plain:password\n".to_owned(), 1, "plain-text password file"),
        (
            format!("\n\nx:$5${salt}${hash}\n"),
            3,
            "unknown hash type `$5$`",
        ),
        (
            format!("x:$7$0${salt}${hash}\n"),
            1,
            "bad iteration count `0`",
        ),
        (
            format!("x:$7$abc${salt}${hash}\n"),
            1,
            "bad iteration count `abc`",
        ),
        (format!("x:$7$101${salt}\n"), 1, "the hash is missing"),
        (
            format!("x:$6$AAAA${hash}\n"),
            1,
            "salt is 3 bytes long, expected 12",
        ),
        (
            format!("x:$6${salt}$AAAA\n"),
            1,
            "hash is 3 bytes long, expected 64",
        ),
        (
            format!("x:$6${salt}$not*base64\n"),
            1,
            "hash is not valid base64",
        ),
        ("x:\n".to_owned(), 1, "user `x`"),
        (
            format!("{good}\n\n{good}\n"),
            3,
            "already defined on line 1",
        ),
    ] {
        let path = write(&dir, "bad", &text);
        let error = PasswordFile::load(&path).unwrap_err();
        assert_eq!(error.line(), Some(line), "{text:?}: {error}");
        let message = error.to_string();
        assert!(
            message.contains(&format!("{}, line {line}:", path.display())),
            "{message}"
        );
        assert!(message.contains(words), "{text:?}: {message}");
    }
    let missing = dir.path().join("missing");
    let error = PasswordFile::load(&missing).unwrap_err();
    assert!(matches!(error, PasswordFileError::Read { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&missing.display().to_string()),
        "{error}"
    );
}

#[tokio::test]
async fn reload_swaps_the_table_and_keeps_it_when_the_file_is_broken() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("passwd");
    mosquitto_passwd(&["-c", "-b", path_str(&file), "alice", "one"]);
    let hook = PasswordFile::load(&file).unwrap();
    assert_eq!(
        decide(&hook, Some("alice"), Some("one")).await,
        AuthDecision::allow()
    );

    // A new password and a new user, as `mosquitto_passwd` writes them.
    mosquitto_passwd(&["-b", path_str(&file), "alice", "two"]);
    mosquitto_passwd(&["-b", path_str(&file), "bob", "three"]);
    assert_eq!(
        decide(&hook, Some("alice"), Some("one")).await,
        AuthDecision::allow(),
        "not yet"
    );
    assert_eq!(hook.reload().unwrap(), 2);
    assert_eq!(
        decide(&hook, Some("alice"), Some("one")).await,
        bad_credentials()
    );
    assert_eq!(
        decide(&hook, Some("alice"), Some("two")).await,
        AuthDecision::allow()
    );
    assert_eq!(
        decide(&hook, Some("bob"), Some("three")).await,
        AuthDecision::allow()
    );

    // A broken file: the error names the line, the users loaded before stay.
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str("carol:plaintext\n");
    fs::write(&file, &text).unwrap();
    let error = hook.reload().unwrap_err();
    assert_eq!(error.line(), Some(3), "{error}");
    assert_eq!(hook.len(), 2);
    assert_eq!(
        decide(&hook, Some("alice"), Some("two")).await,
        AuthDecision::allow()
    );
    assert_eq!(
        decide(&hook, Some("carol"), Some("plaintext")).await,
        bad_credentials()
    );

    // A deleted file too.
    fs::remove_file(&file).unwrap();
    assert!(matches!(hook.reload(), Err(PasswordFileError::Read { .. })));
    assert_eq!(
        decide(&hook, Some("bob"), Some("three")).await,
        AuthDecision::allow()
    );

    // `mosquitto_passwd -D`: the user is gone after the next reload.
    mosquitto_passwd(&["-c", "-b", path_str(&file), "alice", "two"]);
    mosquitto_passwd(&["-b", path_str(&file), "bob", "three"]);
    mosquitto_passwd(&["-D", path_str(&file), "bob"]);
    assert_eq!(hook.reload().unwrap(), 1);
    assert_eq!(
        decide(&hook, Some("bob"), Some("three")).await,
        bad_credentials()
    );
}

/// Through the trait, as the node reloads on SIGHUP: the chain reports the summary, or the
/// failure with what stays in force; a failed reload changes nothing.
#[tokio::test]
async fn reload_through_the_chain_reports_by_hook_name() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "passwd", GOLDEN);
    let hook = Arc::new(PasswordFile::load(&file).unwrap());
    let chain = HookChain::builder()
        .shared_hook(hook.clone(), Default::default())
        .build();

    let extra = PasswordHash::sha512(b"new", *b"saltsaltsalt");
    fs::write(&file, format!("{GOLDEN}newcomer:{extra}\n")).unwrap();
    let report = chain.reload().await;
    let summary = format!("password file {} (4 users)", file.display());
    assert_eq!(
        report.reloaded().collect::<Vec<_>>(),
        [("password-file", summary.as_str())]
    );
    assert!(report.is_ok());
    assert_eq!(
        decide(&hook, Some("newcomer"), Some("new")).await,
        AuthDecision::allow()
    );

    fs::write(&file, "no separator\n").unwrap();
    let report = chain.reload().await;
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{report:?}");
    let (name, error) = failures[0];
    assert_eq!(name, "password-file");
    assert_eq!(error.subject(), "the password file");
    assert_eq!(error.kept(), "its 4 users loaded before stay in force");
    assert!(
        error
            .problem()
            .starts_with(&format!("password file {}, line 1:", file.display())),
        "{error}"
    );
    assert!(!report.any_reloaded());
    assert_eq!(hook.len(), 4);
    assert_eq!(
        decide(&hook, Some("golden"), Some("correct horse")).await,
        AuthDecision::allow()
    );
}

#[test]
fn debug_output_shows_no_hashes() {
    let dir = TempDir::new().unwrap();
    let hook = PasswordFile::load(write(&dir, "passwd", GOLDEN)).unwrap();
    let debug = format!("{hook:?}");
    assert!(debug.contains("users: 3"), "{debug}");
    assert!(!debug.contains("7IY5"), "{debug}");
}
