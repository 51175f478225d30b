//! An encrypted `keyfile` through the `skein` binary: a key encrypted by `openssl pkcs8
//! -topk8 -v2 aes-256-cbc` serves TLS with its `keyfile_password_file` (checked with
//! `openssl s_client`); `--check-config` names the listener's key and the file for a wrong
//! password and for a missing one.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{free_port, require_program, run, scratch_dir, ConfiguredSkein, Pki};

const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// `pki`'s server key encrypted by openssl with the password in `password`, written to `out`.
fn encrypt(pki: &Pki, password: &Path, out: &Path) {
    require_program("openssl", &["version"], "openssl");
    let mut command = Command::new("openssl");
    command
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout"])
        .arg(format!("file:{}", password.display()))
        .arg("-in")
        .arg(&pki.server_key)
        .arg("-out")
        .arg(out);
    let finished = run(command, CLIENT_TIMEOUT);
    assert!(finished.success(), "{}", finished.describe());
}

/// The TOML of a plain listener on `plain` and a TLS one on `tls` with the encrypted key
/// `key` and the extra `password` lines.
fn config(pki: &Pki, plain: u16, tls: u16, key: &Path, password: &str) -> String {
    format!(
        "[[listener]]\nname = \"plain\"\nbind = \"127.0.0.1:{plain}\"\n\
         [[listener]]\nname = \"tls\"\nbind = \"127.0.0.1:{tls}\"\ncertfile = {:?}\n\
         keyfile = {:?}\n{password}",
        pki.server_cert.display().to_string(),
        key.display().to_string(),
    )
}

#[test]
fn an_encrypted_keyfile_with_its_password_file_serves_tls() {
    let mut port = 0;
    let mut made = None;
    let skein = ConfiguredSkein::start("tls-encrypted-key", |dir| {
        let pki = Pki::new(dir);
        let password = dir.join("key-password");
        std::fs::write(&password, "correct horse\n").unwrap();
        let key = dir.join("server-enc.key");
        encrypt(&pki, &password, &key);
        let plain = free_port();
        port = free_port();
        let lines = format!(
            "keyfile_password_file = {:?}\n",
            password.display().to_string()
        );
        let text = config(&pki, plain, port, &key, &lines);
        made = Some(pki);
        (text, plain)
    });
    let pki = made.expect("the setup ran");
    let mut command = Command::new("openssl");
    command
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .arg("-CAfile")
        .arg(&pki.ca)
        .args(["-verify_return_error", "-brief"]);
    let finished = run(command, CLIENT_TIMEOUT);
    assert!(
        finished.success(),
        "{}\n{}",
        finished.describe(),
        skein.log_tail()
    );
    assert!(!skein.log().contains("correct horse"));
}

#[test]
fn check_config_names_a_wrong_or_missing_password() {
    let dir = scratch_dir("tls-key-password-check");
    let pki = Pki::new(&dir);
    let password = dir.join("key-password");
    std::fs::write(&password, "right\n").unwrap();
    let key = dir.join("server-enc.key");
    encrypt(&pki, &password, &key);
    let wrong = dir.join("wrong-password");
    std::fs::write(&wrong, "wrong\n").unwrap();
    let path = dir.join("skein.toml");
    let check = |text: String| {
        std::fs::write(&path, text).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_skein"));
        command.arg("--config").arg(&path).arg("--check-config");
        run(command, CLIENT_TIMEOUT)
    };

    let lines = format!(
        "keyfile_password_file = {:?}\n",
        wrong.display().to_string()
    );
    let finished = check(config(&pki, free_port(), free_port(), &key, &lines));
    assert!(
        finished.status.and_then(|s| s.code()) == Some(1)
            && finished.stderr.contains(&format!(
                "listener[1].keyfile: cannot decrypt {} with the password from \
                 keyfile_password_file {}: wrong password?",
                key.display(),
                wrong.display()
            )),
        "{}",
        finished.describe()
    );

    let finished = check(config(&pki, free_port(), free_port(), &key, ""));
    assert!(
        finished.status.and_then(|s| s.code()) == Some(1)
            && finished.stderr.contains(&format!(
                "listener[1].keyfile: {} is encrypted: set keyfile_password_file",
                key.display()
            )),
        "{}",
        finished.describe()
    );
}
