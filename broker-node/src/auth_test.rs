//! The `[auth]` files as hooks of a running (in-process) broker: the chain's order, the
//! anonymous policy, certificate users, and a reload that changes a cached decision.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use broker_core::config::{BrokerConfig, ListenerConfig, TlsConfig};
use broker_core::hooks::{
    Anonymous, AuthenticateRequest, AuthorizePublishRequest, CertificateDer, ClientInfo, HookChain,
    Password, Username,
};
use broker_core::types::{ClientId, MqttString, ProtocolVersion, QoS, ReasonCode, TopicName};
use broker_core::Broker;
use skein_plugin_mosquitto::{Iterations, PasswordHash};

use super::*;

const ACL: &str = "user alice\ntopic readwrite alice/#\n";

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// Writes a password file with `alice:secret` and the ACL file `acl`; returns the config.
fn files(dir: &Path, acl: &str, allow_anonymous: bool) -> AuthConfig {
    let hash = PasswordHash::pbkdf2_sha512(b"secret", [7; 12], Iterations::MOSQUITTO_DEFAULT);
    std::fs::write(dir.join("passwd"), format!("alice:{hash}\n")).unwrap();
    std::fs::write(dir.join("acl"), acl).unwrap();
    AuthConfig {
        password_file: Some(dir.join("passwd")),
        acl_file: Some(dir.join("acl")),
        allow_anonymous,
        listeners: Vec::new(),
    }
}

/// A broker on a loopback port with `auth`'s hooks; `identity` are the listeners the
/// certificate-identity hook covers.
async fn start(auth: &Auth, identity: &[ListenerConfig]) -> Broker {
    let config = BrokerConfig::default()
        .with_listeners(vec![ListenerConfig::tcp("plain", addr("127.0.0.1:0"))]);
    auth.install(Broker::builder(), identity)
        .config(config)
        .start()
        .await
        .unwrap()
}

fn client(listener: &str, username: Option<&str>, certificate: bool) -> Arc<ClientInfo> {
    let mut client = ClientInfo::new(
        ClientId::new("c1").unwrap(),
        ProtocolVersion::V3_1_1,
        listener.into(),
    );
    if let Some(name) = username {
        client = client.with_username(Username::new(MqttString::new(name).unwrap()));
    }
    if certificate {
        client = client.with_certificate(CertificateDer::new(b"der".to_vec()));
    }
    Arc::new(client)
}

async fn connect(chain: &HookChain, client: Arc<ClientInfo>, password: Option<&str>) -> ReasonCode {
    let password = password.map(|p| Password::new(p.as_bytes().to_vec()));
    chain
        .authenticate(&AuthenticateRequest::connect(client, password))
        .await
        .reason_code()
}

async fn may_publish(chain: &HookChain, username: &str, topic: &str) -> bool {
    let request = AuthorizePublishRequest {
        client: client("plain", Some(username), false),
        topic: TopicName::new(topic).unwrap(),
        qos: QoS::AtLeastOnce,
        retain: false,
    };
    chain.authorize_publish(&request).await.is_allowed()
}

fn mutual() -> ListenerConfig {
    let tls = TlsConfig::new("s.pem", "s.key")
        .client_ca("ca.pem", true)
        .use_identity_as_username(true);
    ListenerConfig::tls("mutual", addr("127.0.0.1:0"), tls)
}

#[tokio::test]
async fn no_files_no_hooks() {
    let auth = Auth::load(&AuthConfig::default()).unwrap();
    let broker = start(&auth, &[]).await;
    assert!(broker.hooks().is_empty());
    assert_eq!(broker.hooks().anonymous(), Anonymous::Allow);
    broker.shutdown().await;
}

#[tokio::test]
async fn identity_then_password_then_acl() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::load(&files(dir.path(), ACL, false)).unwrap();
    let broker = start(&auth, &[mutual()]).await;
    let chain = broker.hooks();
    assert_eq!(
        chain.hook_names().collect::<Vec<_>>(),
        ["certificate-identity", "password-file", "acl-file"]
    );
    assert_eq!(chain.anonymous(), Anonymous::Deny);
    broker.shutdown().await;
}

#[tokio::test]
async fn passwords_anonymous_clients_and_certificate_users() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::load(&files(dir.path(), ACL, false)).unwrap();
    let broker = start(&auth, &[mutual()]).await;
    let chain = broker.hooks();
    let plain_alice = || client("plain", Some("alice"), false);
    assert_eq!(
        connect(&chain, plain_alice(), Some("secret")).await,
        ReasonCode::Success
    );
    assert_eq!(
        connect(&chain, plain_alice(), Some("wrong")).await,
        ReasonCode::BadUserNameOrPassword
    );
    assert_eq!(
        connect(&chain, client("plain", Some("mallory"), false), Some("x")).await,
        ReasonCode::BadUserNameOrPassword
    );
    // allow_anonymous false: 0x87 (MQTT 3: return code 5).
    assert_eq!(
        connect(&chain, client("plain", None, false), None).await,
        ReasonCode::NotAuthorized
    );
    // The certificate vouches for alice on the listener that takes its CN: no password.
    assert_eq!(
        connect(&chain, client("mutual", Some("alice"), true), None).await,
        ReasonCode::Success
    );
    assert_eq!(
        connect(&chain, client("plain", Some("alice"), true), None).await,
        ReasonCode::BadUserNameOrPassword
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn a_reload_changes_a_cached_decision_and_a_broken_file_keeps_the_old_rules() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::load(&files(dir.path(), ACL, true)).unwrap();
    let broker = start(&auth, &[]).await;
    let chain = broker.hooks();
    assert!(may_publish(&chain, "alice", "alice/x").await);
    assert!(!may_publish(&chain, "alice", "shared/x").await);
    assert!(chain.cached_decisions() > 0);

    std::fs::write(
        dir.path().join("acl"),
        format!("{ACL}topic write shared/#\n"),
    )
    .unwrap();
    auth.reload(&chain).await;
    assert!(may_publish(&chain, "alice", "shared/x").await);

    std::fs::write(dir.path().join("acl"), "user alice\ntopik read x\n").unwrap();
    std::fs::write(dir.path().join("passwd"), "no separator\n").unwrap();
    auth.reload(&chain).await;
    assert!(may_publish(&chain, "alice", "shared/x").await);
    assert_eq!(
        connect(
            &chain,
            client("plain", Some("alice"), false),
            Some("secret")
        )
        .await,
        ReasonCode::Success
    );
    broker.shutdown().await;
}

#[test]
fn load_names_the_key_and_the_file_of_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("acl"), "# rules\ntopik read x\n").unwrap();
    let config = AuthConfig {
        password_file: Some(dir.path().join("missing")),
        acl_file: Some(dir.path().join("acl")),
        allow_anonymous: true,
        listeners: Vec::new(),
    };
    let problems = Auth::load(&config).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].key, "auth.password_file");
    assert!(
        problems[0].message.starts_with(&format!(
            "cannot read the password file {}: ",
            dir.path().join("missing").display()
        )),
        "{problems:?}"
    );
    assert_eq!(problems[1].key, "auth.acl_file");
    assert!(
        problems[1].message.starts_with(&format!(
            "ACL file {}, line 2: unknown keyword `topik`",
            dir.path().join("acl").display()
        )),
        "{problems:?}"
    );
}

/// A listener's own password file answers for its clients, `[auth]`'s for the others: each
/// client meets one file. A file two listeners name is loaded once, for both.
#[tokio::test]
async fn a_listeners_own_file_replaces_the_auth_file_for_its_clients() {
    use crate::config_auth::ListenerFiles;

    let dir = tempfile::tempdir().unwrap();
    let mut config = files(dir.path(), ACL, false);
    config.acl_file = None;
    let hash = PasswordHash::pbkdf2_sha512(b"bob-pw", [9; 12], Iterations::MOSQUITTO_DEFAULT);
    std::fs::write(dir.path().join("passwd-own"), format!("bob:{hash}\n")).unwrap();
    let own = |index: usize, listener: &str| ListenerFiles {
        index,
        listener: listener.to_owned(),
        password_file: Some(dir.path().join("passwd-own")),
        acl_file: None,
    };
    config.listeners = vec![own(1, "tls"), own(2, "ws")];
    let auth = Auth::load(&config).unwrap();
    let listeners = [
        ListenerConfig::tcp("plain", addr("127.0.0.1:0")),
        ListenerConfig::tcp("tls", addr("127.0.0.1:0")),
        ListenerConfig::tcp("ws", addr("127.0.0.1:0")),
    ];
    let broker = start(&auth, &listeners).await;
    let chain = broker.hooks();
    assert_eq!(
        chain.hook_names().collect::<Vec<_>>(),
        ["password-file@plain", "password-file@tls,ws"]
    );
    for (listener, user, password, code) in [
        ("plain", "alice", "secret", ReasonCode::Success),
        ("plain", "bob", "bob-pw", ReasonCode::BadUserNameOrPassword),
        ("tls", "bob", "bob-pw", ReasonCode::Success),
        ("ws", "bob", "bob-pw", ReasonCode::Success),
        ("tls", "alice", "secret", ReasonCode::BadUserNameOrPassword),
    ] {
        assert_eq!(
            connect(&chain, client(listener, Some(user), false), Some(password)).await,
            code,
            "{user} on {listener}"
        );
    }
    broker.shutdown().await;
}

#[test]
fn a_listeners_own_file_that_does_not_load_names_the_listener_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = AuthConfig {
        listeners: vec![crate::config_auth::ListenerFiles {
            index: 3,
            listener: "tls".to_owned(),
            password_file: None,
            acl_file: Some(dir.path().join("missing")),
        }],
        ..AuthConfig::default()
    };
    let problems = Auth::load(&config).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "listener[3].acl_file");
}
