//! `[auth] acl_file` end to end with paho-mqtt against the `skein` binary: a test matrix of
//! `user`, `topic read|readwrite|deny` and `pattern` lines with `%c` and `%u` (who may
//! subscribe, whose publishes are delivered, the SUBACK and PUBACK codes in MQTT 3.1.1 and 5),
//! SIGHUP changing a cached decision, and a TLS client certificate's CN getting that user's
//! rights.
//!
//! The ACL file ([`ACL`]) and a password file written by Debian's `mosquitto_passwd` (admin,
//! alice, bob) go into the broker's scratch directory; the scenarios are
//! `tests/python/acl_*.py`. Needs `mosquitto_passwd` and paho-mqtt (`.ci/install-test-deps`).

use std::path::Path;

use crate::support::{
    free_port, mosquitto_passwd, python_command, run, run_paused, ConfiguredSkein, Pki,
    PYTHON_TIMEOUT,
};

/// The ACL file of every test here (acl_matrix.py explains each line's part).
const ACL: &str = "\
# Anonymous clients: the lines before the first `user`.
topic read public/#

user admin
topic readwrite #

user alice
topic readwrite alice/#
topic read public/#
topic deny alice/secret/#

# Every client: %c is its client id, %u its user name.
pattern readwrite clients/%c/#
pattern write users/%u/out
";

/// A skein with the ACL file and a password file; `plain` is its plain listener's port,
/// `tls` the port of the listener that takes the client certificate's CN as user name.
struct AclBroker {
    skein: ConfiguredSkein,
    plain: u16,
    tls: Option<(u16, Pki)>,
}

impl AclBroker {
    /// `auth` is the rest of the `[auth]` table; `tls` adds the certificate listener.
    fn start(auth: &str, tls: bool) -> AclBroker {
        let (mut plain, mut tls_port, mut pki) = (0, None, None);
        let skein = ConfiguredSkein::start("auth-acl", |dir| {
            let passwd = path_of(&dir.join("passwd"));
            mosquitto_passwd(&["-c", "-b", &passwd, "admin", "admin-pw"]);
            if !tls {
                mosquitto_passwd(&["-b", &passwd, "alice", "alice-pw"]);
            }
            mosquitto_passwd(&["-b", &passwd, "bob", "bob-pw"]);
            let acl = path_of(&dir.join("acl"));
            std::fs::write(&acl, ACL).unwrap();
            plain = free_port();
            let mut config =
                format!("[[listener]]\nname = \"plain\"\nbind = \"127.0.0.1:{plain}\"\n\n");
            if tls {
                let made = Pki::new(dir);
                let port = free_port();
                config.push_str(&format!(
                    "[[listener]]\nname = \"mutual\"\nbind = \"127.0.0.1:{port}\"\n{}\
                     cafile = {:?}\nrequire_certificate = true\n\
                     use_identity_as_username = true\n\n",
                    made.server_keys(),
                    path_of(&made.ca),
                ));
                tls_port = Some(port);
                pki = Some(made);
            }
            config.push_str(&format!(
                "[auth]\npassword_file = {passwd:?}\nacl_file = {acl:?}\n{auth}"
            ));
            (config, plain)
        });
        skein.wait_for_log(&["ACL file ", "acl loaded (7 rules)."]);
        AclBroker {
            skein,
            plain,
            tls: tls_port.zip(pki),
        }
    }

    /// Runs a scenario script on the plain port and fails unless it passes.
    fn scenario(&self, script: &str, args: &[&str]) {
        let finished = run(python_command(script, self.plain, args), PYTHON_TIMEOUT);
        assert!(
            finished.success(),
            "{script} {args:?}: {}\n--- broker log (tail) ---\n{}",
            finished.describe(),
            self.skein.log_tail()
        );
    }
}

fn path_of(path: &Path) -> String {
    path.to_str().expect("a UTF-8 scratch path").to_owned()
}

/// MQTT 3.1.1: denied filters get SUBACK 0x80 ([MQTT-3.9.3-2]), denied QoS 1 publishes are
/// acknowledged and dropped; `%c` and `%u` patterns, `deny` lines, the anonymous block.
#[test]
fn paho_v311_acl_matrix_suback_0x80_mqtt_3_9_3_2() {
    let broker = AclBroker::start("allow_anonymous = true\n", false);
    broker.scenario("acl_matrix.py", &["3.1.1"]);
}

/// MQTT 5: denied filters get SUBACK 0x87, denied QoS 1 publishes PUBACK 0x87
/// ([MQTT-3.9.3-2], [MQTT-3.4.2-1]); nothing denied is delivered.
#[test]
fn paho_v5_acl_matrix_suback_and_puback_0x87_mqtt_3_4_2_1() {
    let broker = AclBroker::start("allow_anonymous = true\n", false);
    broker.scenario("acl_matrix.py", &["5"]);
}

/// SIGHUP with a new line for bob: his refused subscription and publish, cached by the broker,
/// are allowed at once on the same connection.
#[test]
fn sighup_reloads_the_acl_file_and_clears_cached_decisions() {
    let broker = AclBroker::start("allow_anonymous = true\n", false);
    let dir = broker.skein.dir().to_owned();
    let script = python_command("acl_reload.py", broker.plain, &["5", &path_of(&dir)]);
    let finished = run_paused(
        script,
        &dir,
        "reload",
        || broker.skein.log(),
        || {
            let grant = format!("{ACL}\nuser bob\ntopic readwrite shared/#\n");
            std::fs::write(dir.join("acl"), grant).unwrap();
            broker.skein.hangup();
            let line = broker
                .skein
                .wait_for_log(&["Reloading ACL file ", "(8 rules)."]);
            assert!(line.contains(&path_of(&dir.join("acl"))), "{line}");
            broker
                .skein
                .wait_for_log(&["Cached authorization decisions cleared."]);
        },
    );
    assert!(
        finished.success(),
        "acl_reload.py: {}\n--- broker log (tail) ---\n{}",
        finished.describe(),
        broker.skein.log_tail()
    );
}

/// `use_identity_as_username`: a client certificate with CN alice, over TLS, authenticates
/// without a password (alice is not even in the password file) and gets alice's ACL rights;
/// the plain listener still refuses alice without a password, and anonymous clients.
#[test]
fn a_certificate_cn_gets_that_users_acl_rights_over_tls() {
    let broker = AclBroker::start("", true);
    let (tls_port, pki) = broker.tls.as_ref().expect("a TLS listener");
    for version in ["3.1.1", "5"] {
        broker.scenario(
            "acl_tls.py",
            &[
                version,
                &tls_port.to_string(),
                &path_of(&pki.ca),
                &path_of(&pki.client_cert),
                &path_of(&pki.client_key),
            ],
        );
    }
    let line = broker
        .skein
        .wait_for_log(&["New client connected", "as by-certificate ("]);
    assert!(line.ends_with(", ualice)."), "{line}");
}
