//! A listener given a rustls `ServerConfig` built in code (embedding), in place of PEM
//! files: MQTT over TLS and secure WebSocket with it, `reload_tls` leaving it as it is, and
//! files and a configuration together refused.

use std::sync::Arc;

use broker_core::config::ListenerConfig;
use broker_core::rustls::pki_types::pem::PemObject;
use broker_core::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use broker_core::rustls::ServerConfig;
use broker_core::types::{ProtocolVersion, ReasonCode};
use broker_core::{BrokerError, TlsError};

use crate::transport_support::{any_port, refused, start, tls, websocket, Pki, WireClient};

/// The server side of `pki` built in code, as an embedder would, with `alpn`.
fn server_config(pki: &Pki, alpn: &[&[u8]]) -> Arc<ServerConfig> {
    let chain = CertificateDer::pem_file_iter(&pki.server.cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&pki.server.key).unwrap();
    let provider = Arc::new(broker_core::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

#[tokio::test]
async fn mqtt_and_secure_websocket_with_a_rustls_config_built_in_code() {
    let pki = Pki::new("rustls-config");
    let mqtts = ListenerConfig::tcp("mqtts", any_port()).with_rustls(server_config(&pki, &[]));
    let wss = ListenerConfig::websocket("wss", any_port())
        .with_rustls(server_config(&pki, &[b"http/1.1"]));
    assert_eq!((mqtts.scheme(), wss.scheme()), ("mqtts", "wss"));
    let (broker, addrs) = start(vec![mqtts, wss]).await;
    let connector = pki.connector(None, &[]);

    let stream = tls(addrs[0], &connector).await.expect("TLS handshake");
    let mut client = WireClient::raw(stream, ProtocolVersion::V5);
    let ack = client.connect("rustls-mqtts").await.expect("CONNACK");
    assert_eq!(ack.code, ReasonCode::Success);

    let stream = tls(addrs[1], &connector).await.expect("TLS handshake");
    let (ws, _) = websocket(stream, "/mqtt", "mqtt")
        .await
        .expect("WebSocket upgrade");
    let mut client = WireClient::ws(ws, ProtocolVersion::V3_1_1);
    let ack = client.connect("rustls-wss").await.expect("CONNACK");
    assert_eq!(ack.code, ReasonCode::Success);

    // No files to read again: the listeners are left as they are, and not listed.
    assert!(broker.handle().reload_tls().is_empty());
    let stream = tls(addrs[0], &connector).await.expect("TLS handshake");
    let mut client = WireClient::raw(stream, ProtocolVersion::V5);
    assert!(client.connect("after-reload").await.is_some());
    broker.shutdown().await;
}

#[tokio::test]
async fn files_and_a_rustls_config_together_are_refused() {
    let pki = Pki::new("rustls-and-files");
    let mut listener =
        ListenerConfig::tcp("both", any_port()).with_rustls(server_config(&pki, &[]));
    listener.tls = Some(pki.tls());
    let error = refused(listener).await;
    assert!(
        matches!(
            &error,
            BrokerError::Tls { name, source: TlsError::Setting { setting: "rustls", .. } }
                if name == "both"
        ),
        "{error:?}"
    );
    // The builder methods replace each other instead.
    let replaced = ListenerConfig::tcp("one", any_port())
        .with_rustls(server_config(&pki, &[]))
        .with_tls(pki.tls());
    assert!(replaced.rustls.is_none() && replaced.tls.is_some());
}
