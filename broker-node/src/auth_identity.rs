//! The hook that authenticates clients by their TLS client certificate, on listeners with
//! `use_identity_as_username`.
//!
//! On such a listener the engine has already replaced the CONNECT's user name by the
//! certificate's subject CN, dropped its password, and refused (0x86) a client without a
//! certificate, before any hook is asked; rustls verified the certificate against the
//! listener's `cafile` during the handshake. The certificate is the credential, so, as
//! Mosquitto does, these clients skip the password check: this hook allows them, and the
//! password file after it is not asked. Authorization (the ACL file) applies to them as to
//! everyone, by that user name.

use std::collections::HashSet;

use async_trait::async_trait;
use broker_core::config::ListenerConfig;
use broker_core::hooks::{AuthDecision, AuthenticateRequest, Hook, HookError, Interest};

/// Allows the clients of the listeners that take the certificate's CN as the user name;
/// no opinion on everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertificateIdentity {
    /// The names of those listeners.
    listeners: HashSet<String>,
}

impl CertificateIdentity {
    /// The hook for the listeners among `listeners` with `use_identity_as_username`; `None`
    /// when there are none.
    pub(crate) fn for_listeners(listeners: &[ListenerConfig]) -> Option<CertificateIdentity> {
        let listeners: HashSet<String> = listeners
            .iter()
            .filter(|listener| {
                listener
                    .tls
                    .as_ref()
                    .is_some_and(|tls| tls.use_identity_as_username)
            })
            .map(|listener| listener.name.clone())
            .collect();
        (!listeners.is_empty()).then_some(CertificateIdentity { listeners })
    }

    /// Whether `request` comes from a client the certificate identifies: on one of the
    /// listeners, with a certificate and the user name taken from it, and no MQTT 5
    /// enhanced authentication (left to the hooks that know its method).
    fn vouches_for(&self, request: &AuthenticateRequest) -> bool {
        let client = &request.client;
        request.enhanced.is_none()
            && client.certificate.is_some()
            && client.username.is_some()
            && self.listeners.contains(client.listener.as_str())
    }
}

#[async_trait]
impl Hook for CertificateIdentity {
    fn name(&self) -> &str {
        "certificate-identity"
    }

    fn interest(&self) -> Interest {
        Interest::AUTHENTICATE
    }

    async fn authenticate(&self, request: &AuthenticateRequest) -> Result<AuthDecision, HookError> {
        Ok(if self.vouches_for(request) {
            AuthDecision::allow()
        } else {
            AuthDecision::Next
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use broker_core::config::TlsConfig;
    use broker_core::hooks::{AuthMethod, CertificateDer, ClientInfo, EnhancedAuth, Username};
    use broker_core::types::{ClientId, MqttString, ProtocolVersion};

    use super::*;

    fn listeners() -> Vec<ListenerConfig> {
        let addr = "127.0.0.1:0".parse().unwrap();
        let tls = TlsConfig::new("s.pem", "s.key").client_ca("ca.pem", true);
        vec![
            ListenerConfig::tcp("plain", addr),
            ListenerConfig::tls("tls", addr, tls.clone()),
            ListenerConfig::tls("mutual", addr, tls.use_identity_as_username(true)),
        ]
    }

    fn request(listener: &str, username: Option<&str>, certificate: bool) -> AuthenticateRequest {
        let mut client = ClientInfo::new(
            ClientId::new("c").unwrap(),
            ProtocolVersion::V5,
            listener.into(),
        );
        if let Some(name) = username {
            client = client.with_username(Username::new(MqttString::new(name).unwrap()));
        }
        if certificate {
            client = client.with_certificate(CertificateDer::new(b"der".to_vec()));
        }
        AuthenticateRequest::connect(Arc::new(client), None)
    }

    #[test]
    fn only_listeners_with_use_identity_as_username_are_covered() {
        let hook = CertificateIdentity::for_listeners(&listeners()).unwrap();
        assert_eq!(hook.listeners, HashSet::from(["mutual".to_owned()]));
        assert_eq!(CertificateIdentity::for_listeners(&listeners()[..2]), None);
    }

    #[tokio::test]
    async fn a_certificate_user_is_allowed_everyone_else_goes_on() {
        let hook = CertificateIdentity::for_listeners(&listeners()).unwrap();
        let decide = |request: AuthenticateRequest| {
            let hook = hook.clone();
            async move { hook.authenticate(&request).await.unwrap() }
        };
        assert_eq!(
            decide(request("mutual", Some("alice"), true)).await,
            AuthDecision::allow()
        );
        for other in [
            request("tls", Some("alice"), true),
            request("plain", Some("alice"), false),
            request("mutual", None, true),
            request("mutual", Some("alice"), false),
            request("mutual", Some("alice"), true).with_enhanced(EnhancedAuth::new(
                AuthMethod::new(MqttString::new("SCRAM-SHA-256").unwrap()),
                None,
            )),
        ] {
            assert_eq!(decide(other).await, AuthDecision::Next);
        }
    }
}
