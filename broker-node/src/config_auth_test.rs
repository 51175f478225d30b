use std::path::PathBuf;

use crate::config::NodeConfig;

use super::*;

fn parse(text: &str) -> Result<NodeConfig, crate::config::ConfigError> {
    NodeConfig::parse("skein.toml", text)
}

fn error_text(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

fn auth(text: &str) -> AuthConfig {
    parse(text).unwrap().auth
}

#[test]
fn no_auth_table_allows_everyone() {
    assert_eq!(auth(""), AuthConfig::default());
    assert_eq!(
        AuthConfig::default(),
        AuthConfig {
            password_file: None,
            acl_file: None,
            allow_anonymous: true,
            listeners: Vec::new(),
        }
    );
}

#[test]
fn keys_map_onto_the_auth_config() {
    assert_eq!(
        auth(
            "[auth]\npassword_file = \"/etc/skein/passwd\"\nacl_file = \"acl\"\n\
             allow_anonymous = true\n"
        ),
        AuthConfig {
            password_file: Some(PathBuf::from("/etc/skein/passwd")),
            acl_file: Some(PathBuf::from("acl")),
            allow_anonymous: true,
            listeners: Vec::new(),
        }
    );
}

#[test]
fn allow_anonymous_is_false_by_default_once_a_password_file_is_set() {
    let cases = [
        ("", true),
        ("acl_file = \"acl\"", true),
        ("password_file = \"passwd\"", false),
        ("password_file = \"passwd\"\nacl_file = \"acl\"", false),
        ("password_file = \"passwd\"\nallow_anonymous = true", true),
        ("allow_anonymous = false", false),
    ];
    for (keys, allow) in cases {
        assert_eq!(
            auth(&format!("[auth]\n{keys}\n")).allow_anonymous,
            allow,
            "{keys}"
        );
    }
}

#[test]
fn a_listener_may_override_allow_anonymous() {
    let node = parse(
        "[auth]\nallow_anonymous = false\n\
         [[listener]]\nbind = \"127.0.0.1:1883\"\nallow_anonymous = true\n\
         [[listener]]\nbind = \"0.0.0.0:1884\"\n",
    )
    .unwrap();
    assert!(!node.auth.allow_anonymous);
    let per_listener: Vec<_> = node
        .broker
        .listeners
        .iter()
        .map(|listener| listener.allow_anonymous)
        .collect();
    assert_eq!(per_listener, [Some(true), None]);
}

/// A listener's own files are its own; with its own password file it refuses anonymous
/// clients unless it says otherwise, as `[auth]` does.
#[test]
fn a_listener_may_have_its_own_password_and_acl_files() {
    let node = parse(
        "[[listener]]\nbind = \"127.0.0.1:1883\"\n\
         [[listener]]\nname = \"tls\"\nbind = \"127.0.0.1:1884\"\npassword_file = \"pw\"\n\
         [[listener]]\nname = \"ws\"\nbind = \"127.0.0.1:1885\"\nacl_file = \"acl\"\n\
         allow_anonymous = true\n\
         [[listener]]\nname = \"open\"\nbind = \"127.0.0.1:1886\"\npassword_file = \"pw\"\n\
         allow_anonymous = true\n",
    )
    .unwrap();
    let own =
        |index: usize, listener: &str, password: Option<&str>, acl: Option<&str>| ListenerFiles {
            index,
            listener: listener.to_owned(),
            password_file: password.map(PathBuf::from),
            acl_file: acl.map(PathBuf::from),
        };
    assert_eq!(
        node.auth.listeners,
        [
            own(1, "tls", Some("pw"), None),
            own(2, "ws", None, Some("acl")),
            own(3, "open", Some("pw"), None)
        ]
    );
    let anonymous: Vec<_> = node
        .broker
        .listeners
        .iter()
        .map(|listener| listener.allow_anonymous)
        .collect();
    assert_eq!(anonymous, [None, Some(false), Some(true), Some(true)]);
    assert_eq!(
        error_text("[[listener]]\nbind = \"127.0.0.1:1\"\nacl_file = \" \"\n"),
        "skein.toml: listener[0].acl_file: must not be empty (leave the key out for none)"
    );
}

#[test]
fn problems_name_the_auth_key() {
    assert_eq!(
        error_text("[auth]\npassword_file = \"\"\n"),
        "skein.toml: auth.password_file: must not be empty (leave the key out for none)"
    );
    let typo = error_text("[auth]\npasword_file = \"p\"\n");
    assert!(
        typo.starts_with("skein.toml: auth.pasword_file: "),
        "{typo}"
    );
    assert!(typo.contains("`password_file`"), "{typo}");
    let kind = error_text("[auth]\nallow_anonymous = \"no\"\n");
    assert!(
        kind.starts_with("skein.toml: auth.allow_anonymous: "),
        "{kind}"
    );
    let listener = error_text("[[listener]]\nbind = \"0.0.0.0:1\"\nallow_anonymous = 1\n");
    assert!(
        listener.starts_with("skein.toml: listener[0].allow_anonymous: "),
        "{listener}"
    );
}

#[test]
fn load_files_reads_the_auth_files_and_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(dir.path().join("acl"), "topic read public/#\n").unwrap();
    std::fs::write(dir.path().join("passwd"), "").unwrap();
    let good = parse(&format!(
        "[auth]\npassword_file = {:?}\nacl_file = {:?}\n",
        path("passwd"),
        path("acl")
    ))
    .unwrap();
    assert!(good.load_files("skein.toml").is_ok());

    std::fs::write(dir.path().join("bad-passwd"), "alice:$7$x\n").unwrap();
    let bad = parse(&format!(
        "[[listener]]\nbind = \"127.0.0.1:8883\"\ncertfile = {:?}\nkeyfile = {:?}\n\
         [auth]\npassword_file = {:?}\nacl_file = {:?}\n",
        path("server.pem"),
        path("server.key"),
        path("bad-passwd"),
        path("missing-acl"),
    ))
    .unwrap();
    let text = bad.load_files("skein.toml").unwrap_err().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("skein.toml: listener[0].certfile: "),
        "{text}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "skein.toml: auth.password_file: password file {}, line 1: user `alice`: ",
            path("bad-passwd")
        )),
        "{text}"
    );
    assert!(
        lines[2].starts_with(&format!(
            "skein.toml: auth.acl_file: cannot read the ACL file {}: ",
            path("missing-acl")
        )),
        "{text}"
    );
}
