//! The `[admin]` table: off by default; every setting checked with the key named; the
//! token read from its file; the environment's override.

use std::path::Path;

use crate::config::NodeConfig;
use crate::config_admin::TokenSource;

const LISTENER: &str = "[[listener]]\nbind = \"127.0.0.1:1883\"\n";

fn parse(admin: &str) -> Result<NodeConfig, String> {
    NodeConfig::parse("skein.toml", &format!("{LISTENER}[admin]\n{admin}"))
        .map_err(|error| error.to_string())
}

#[test]
fn the_endpoint_is_off_by_default() {
    assert_eq!(NodeConfig::embedded_default().unwrap().admin, None);
    assert_eq!(parse("").unwrap().admin, None);
}

#[test]
fn a_bind_with_a_token_turns_it_on() {
    let node = parse("bind = \"127.0.0.1:9884\"\ntoken = \"0123456789abcdef\"\n").unwrap();
    let admin = node.admin.unwrap();
    assert_eq!(admin.bind.to_string(), "127.0.0.1:9884");
    assert!(matches!(admin.token, Some(TokenSource::Inline(_))));
    assert!(admin.tls.is_none() && !admin.requires_certificate());
    assert_eq!(
        admin.load_token().unwrap().map(|t| t.as_bytes().to_vec()),
        Some(b"0123456789abcdef".to_vec())
    );
    assert!(
        !format!("{admin:?}").contains("0123456789abcdef"),
        "the token is not shown"
    );
}

#[test]
fn every_bad_setting_names_its_key() {
    for (admin, key, says) in [
        (
            "bind = \"localhost\"\ntoken = \"0123456789abcdef\"",
            "admin.bind",
            "IP:PORT",
        ),
        (
            "bind = \"127.0.0.1:1\"",
            "admin.token",
            "needs authentication",
        ),
        (
            "bind = \"127.0.0.1:1\"\ntoken = \"short\"",
            "admin.token",
            "16 characters",
        ),
        (
            "bind = \"127.0.0.1:1\"\ntoken = \"0123456789abcdef\"\ntoken_file = \"t\"",
            "admin.token",
            "not both",
        ),
        (
            "bind = \"127.0.0.1:1\"\ncafile = \"ca.pem\"",
            "admin.cafile",
            "certfile",
        ),
        (
            "bind = \"127.0.0.1:1\"\ntoken = \"0123456789abcdef\"\ncertfile = \"c.pem\"",
            "admin.keyfile",
            "certfile",
        ),
        (
            "token = \"0123456789abcdef\"",
            "admin.token",
            "needs admin.bind",
        ),
    ] {
        let error = parse(admin).unwrap_err();
        assert!(
            error.contains(&format!("{key}: ")) && error.contains(says),
            "{admin}: {error}"
        );
    }
    let unknown = parse("bnd = \"127.0.0.1:1\"").unwrap_err();
    assert!(
        unknown.contains("admin.bnd") || unknown.contains("bnd"),
        "{unknown}"
    );
}

#[test]
fn a_client_ca_means_mtls_and_may_stand_alone() {
    let node = parse(
        "bind = \"127.0.0.1:1\"\ncertfile = \"c.pem\"\nkeyfile = \"k.pem\"\ncafile = \"ca.pem\"",
    )
    .unwrap();
    let admin = node.admin.unwrap();
    assert!(admin.requires_certificate());
    assert_eq!(admin.token, None);
}

#[test]
fn the_token_file_is_read_at_load_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("token");
    std::fs::write(&good, "from-a-file-0123456789\nignored\n").unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "tiny\n").unwrap();
    let with = |path: &Path| {
        parse(&format!(
            "bind = \"127.0.0.1:1\"\ntoken_file = \"{}\"",
            path.display()
        ))
        .unwrap()
    };
    let (_, token) = with(&good).load_files("skein.toml").unwrap();
    assert_eq!(token.unwrap().as_bytes(), b"from-a-file-0123456789");
    for (path, says) in [
        (short, "16 characters"),
        (dir.path().join("missing"), "No such file"),
    ] {
        let error = with(&path)
            .load_files("skein.toml")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("admin.token_file: ") && error.contains(says),
            "{error}"
        );
    }
}

#[test]
fn the_tls_files_are_checked_at_load_with_the_key_named() {
    let node = parse(
        "bind = \"127.0.0.1:1\"\ncertfile = \"missing.pem\"\nkeyfile = \"missing.key\"\ncafile = \"ca.pem\"",
    )
    .unwrap();
    let error = node.load_files("skein.toml").unwrap_err().to_string();
    assert!(error.contains("admin.certfile: "), "{error}");
    assert!(error.contains("missing.pem"), "{error}");
}

#[test]
fn the_environment_turns_it_on() {
    let overrides = [
        ("SKEIN_ADMIN__BIND".to_owned(), "127.0.0.1:9999".to_owned()),
        (
            "SKEIN_ADMIN__TOKEN".to_owned(),
            "from-the-environment".to_owned(),
        ),
    ];
    let node = NodeConfig::parse_with("skein.toml", LISTENER, &overrides).unwrap();
    assert_eq!(node.admin.unwrap().bind.to_string(), "127.0.0.1:9999");
}
