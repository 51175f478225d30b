//! TLS listeners over real sockets: CONNECT/CONNACK over TLS 1.2 and 1.3, client
//! certificates required, optional or from an unknown authority, the certificate's CN as the
//! user name (`use_identity_as_username`), the handshake timeout, and the errors that name a
//! bad certificate or key file. Certificates are made by the test (rcgen).

use std::time::Duration;

use tokio::io::AsyncReadExt as _;

use broker_core::config::{ListenerConfig, TlsConfig};
use broker_core::types::{ProtocolVersion, ReasonCode};
use broker_core::{BrokerError, TlsError, TlsFile};

use crate::log_capture::LogCapture;
use crate::transport_support;
use crate::transport_support::{any_port, refused, start, start_with, tcp, tls, Pki, WireClient};

const V311: ProtocolVersion = ProtocolVersion::V3_1_1;
const V5: ProtocolVersion = ProtocolVersion::V5;

#[tokio::test]
async fn connack_over_tls_1_3_and_1_2() {
    let pki = Pki::new("versions");
    let (broker, addrs) = start(vec![ListenerConfig::tls("tls", any_port(), pki.tls())]).await;
    for (version, tls_version) in [
        (V311, &rustls::version::TLS13),
        (V5, &rustls::version::TLS12),
    ] {
        let connector = pki.connector(None, &[tls_version]);
        let stream = tls(addrs[0], &connector).await.expect("TLS handshake");
        let mut client = WireClient::raw(stream, version);
        let ack = client.connect("tls-client").await.expect("CONNACK");
        assert_eq!(ack.code, ReasonCode::Success, "{tls_version:?}");
        client.send(broker_core::codec::Packet::PingReq).await;
        assert_eq!(
            client.recv().await,
            Some(broker_core::codec::Packet::PingResp)
        );
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn a_plain_mqtt_client_on_a_tls_listener_gets_no_connack() {
    let pki = Pki::new("plain-on-tls");
    let (broker, addrs) = start(vec![ListenerConfig::tls("tls", any_port(), pki.tls())]).await;
    let mut client = WireClient::raw(tcp(addrs[0]).await, V311);
    // The CONNECT is not a TLS ClientHello: the server answers with a TLS alert (record
    // type 0x15), not a CONNACK (0x20), and closes.
    client.send(connect_packet("plain")).await;
    let transport_support::Wire::Raw(io) = &mut client.wire else {
        unreachable!()
    };
    let mut answer = Vec::new();
    tokio::time::timeout(transport_support::WAIT, io.read_to_end(&mut answer))
        .await
        .expect("the connection stays open")
        .ok();
    assert_ne!(answer.first(), Some(&0x20), "a CONNACK came: {answer:?}");
    broker.shutdown().await;
}

fn connect_packet(id: &str) -> broker_core::codec::Packet {
    let connect =
        broker_core::codec::Connect::new(V311, broker_core::types::ClientId::new(id).unwrap());
    broker_core::codec::Packet::Connect(Box::new(connect))
}

/// A client that presents no certificate to a listener that requires one fails the TLS
/// handshake: it never gets to send CONNECT (TLS 1.3 reports it at the first read).
#[tokio::test]
async fn a_required_client_certificate_that_is_missing_fails_the_handshake() {
    let pki = Pki::new("required");
    let listener = ListenerConfig::tls("tls", any_port(), pki.tls().client_ca(&pki.ca, true));
    let (broker, addrs) = start(vec![listener]).await;

    let alice = pki.client("alice");
    let with_cert = tls(addrs[0], &pki.connector(Some(&alice), &[]))
        .await
        .expect("handshake with a certificate");
    let mut client = WireClient::raw(with_cert, V311);
    let ack = client.connect("with-cert").await.expect("CONNACK");
    assert_eq!(ack.code, ReasonCode::Success);

    for tls_version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        match tls(addrs[0], &pki.connector(None, &[tls_version])).await {
            Err(_) => {}
            Ok(stream) => {
                let mut client = WireClient::raw(stream, V311);
                assert_eq!(client.connect("no-cert").await, None, "{tls_version:?}");
            }
        }
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn an_optional_client_certificate_may_be_absent_but_must_verify_when_present() {
    let pki = Pki::new("optional");
    let stranger_pki = Pki::new("stranger");
    let listener = ListenerConfig::tls("tls", any_port(), pki.tls().client_ca(&pki.ca, false));
    let (broker, addrs) = start(vec![listener]).await;

    let without = tls(addrs[0], &pki.connector(None, &[])).await.unwrap();
    let mut client = WireClient::raw(without, V5);
    assert_eq!(
        client.connect("anon").await.unwrap().code,
        ReasonCode::Success
    );

    let bob = pki.client("bob");
    let with = tls(addrs[0], &pki.connector(Some(&bob), &[]))
        .await
        .unwrap();
    let mut client = WireClient::raw(with, V5);
    assert_eq!(
        client.connect("bob").await.unwrap().code,
        ReasonCode::Success
    );

    // Signed by a CA the listener does not trust: refused in the handshake.
    let mallory = stranger_pki.client("mallory");
    match tls(addrs[0], &pki.connector(Some(&mallory), &[])).await {
        Err(_) => {}
        Ok(stream) => {
            let mut client = WireClient::raw(stream, V5);
            assert_eq!(client.connect("mallory").await, None);
        }
    }
    broker.shutdown().await;
}

/// `use_identity_as_username`: the CONNECT's user name (and password) give way to the
/// certificate's subject CN; the connection log shows it.
#[tokio::test]
async fn the_certificate_cn_is_the_user_name() {
    let logs = LogCapture::global();
    let pki = Pki::new("identity");
    let listener = ListenerConfig::tls(
        "tls",
        any_port(),
        pki.tls()
            .client_ca(&pki.ca, true)
            .use_identity_as_username(true),
    );
    let (broker, addrs) = start(vec![listener]).await;
    let alice = pki.client("alice");
    let stream = tls(addrs[0], &pki.connector(Some(&alice), &[]))
        .await
        .unwrap();
    let mut client = WireClient::raw(stream, V311);
    let mut connect = broker_core::codec::Connect::new(
        V311,
        broker_core::types::ClientId::new("cert-client").unwrap(),
    );
    connect.username = Some(broker_core::types::MqttString::new("mallory").unwrap());
    connect.password = Some(bytes::Bytes::from_static(b"whatever"));
    let ack = client.connect_with(connect).await.expect("CONNACK");
    assert_eq!(ack.code, ReasonCode::Success);
    broker.shutdown().await;
    let text = logs.text();
    let line = text
        .lines()
        .find(|line| line.contains("New client connected") && line.contains("as cert-client ("))
        .unwrap_or_else(|| panic!("no connection line for cert-client:\n{text}"));
    assert!(line.ends_with(", ualice)."), "{line}");
    assert!(!text.contains("umallory"), "{text}");
}

/// With `use_identity_as_username`, a client without a certificate (the listener does not
/// require one) is refused as Mosquitto refuses it: 0x86 Bad User Name or Password, return
/// code 4 in MQTT 3.1.1.
#[tokio::test]
async fn use_identity_as_username_without_a_certificate_is_refused_0x86_rc_4() {
    let pki = Pki::new("identity-optional");
    let listener = ListenerConfig::tls(
        "tls",
        any_port(),
        pki.tls()
            .client_ca(&pki.ca, false)
            .use_identity_as_username(true),
    );
    let (broker, addrs) = start(vec![listener]).await;
    for version in [V311, V5] {
        let stream = tls(addrs[0], &pki.connector(None, &[])).await.unwrap();
        let mut client = WireClient::raw(stream, version);
        let ack = client.connect("no-cert").await.expect("CONNACK");
        assert_eq!(ack.code, ReasonCode::BadUserNameOrPassword, "{version:?}");
        assert!(client.closed().await);
    }
    broker.shutdown().await;
}

/// A connection that never starts its TLS handshake is closed after the connect timeout.
#[tokio::test]
async fn a_handshake_that_never_comes_is_closed_at_the_connect_timeout() {
    let pki = Pki::new("slow");
    let (broker, addrs) = start_with(
        vec![ListenerConfig::tls("tls", any_port(), pki.tls())],
        Duration::from_secs(1),
    )
    .await;
    let mut client = WireClient::raw(tcp(addrs[0]).await, V311);
    let started = std::time::Instant::now();
    assert!(
        client.closed().await,
        "still open after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    broker.shutdown().await;
}

#[tokio::test]
async fn a_missing_certificate_file_stops_the_start_and_names_the_file() {
    let pki = Pki::new("missing");
    let missing = pki.dir.path().join("nope.pem");
    let listener = ListenerConfig::tls(
        "secure",
        any_port(),
        TlsConfig::new(&missing, &pki.server.key),
    );
    let error = refused(listener).await;
    let BrokerError::Tls { name, source } = &error else {
        panic!("expected a TLS error, got {error:?}");
    };
    assert_eq!(name, "secure");
    assert_eq!(source.file(), Some(TlsFile::CertChain));
    let text = error.to_string();
    assert!(
        text.contains("listener `secure`")
            && text.contains("cannot read")
            && text.contains("nope.pem"),
        "{text}"
    );
}

#[tokio::test]
async fn check_names_the_file_at_fault() {
    let pki = Pki::new("check");
    let other = pki.client("other");
    assert!(pki.tls().check().is_ok());
    assert!(pki.tls().client_ca(&pki.ca, true).check().is_ok());

    // A key that is not the certificate's.
    let mismatch = TlsConfig::new(&pki.server.cert, &other.key)
        .check()
        .unwrap_err();
    assert_eq!(mismatch.file(), Some(TlsFile::PrivateKey), "{mismatch}");
    assert!(
        mismatch.to_string().contains("does not match"),
        "{mismatch}"
    );

    // A key file where the certificate should be: no certificate in it.
    let no_cert = TlsConfig::new(&pki.server.key, &pki.server.key)
        .check()
        .unwrap_err();
    assert_eq!(no_cert.file(), Some(TlsFile::CertChain), "{no_cert}");
    assert!(
        no_cert.to_string().contains("no PEM certificate"),
        "{no_cert}"
    );

    // A certificate where the key should be.
    let no_key = TlsConfig::new(&pki.server.cert, &pki.server.cert)
        .check()
        .unwrap_err();
    assert_eq!(no_key.file(), Some(TlsFile::PrivateKey), "{no_key}");
    assert!(
        no_key.to_string().contains("no PEM private key"),
        "{no_key}"
    );

    // A CA file that does not exist.
    let missing_ca = pki
        .tls()
        .client_ca(pki.dir.path().join("ca-missing.pem"), true)
        .check()
        .unwrap_err();
    assert_eq!(missing_ca.file(), Some(TlsFile::ClientCa), "{missing_ca}");
    assert!(matches!(missing_ca, TlsError::Read { .. }));

    // Client certificate settings without a CA.
    let mut needs_ca = pki.tls();
    needs_ca.require_certificate = true;
    assert!(matches!(
        needs_ca.check(),
        Err(TlsError::NeedsClientCa {
            setting: "require_certificate"
        })
    ));
    let needs_ca = pki.tls().use_identity_as_username(true);
    assert!(matches!(
        needs_ca.check(),
        Err(TlsError::NeedsClientCa {
            setting: "use_identity_as_username"
        })
    ));
}
