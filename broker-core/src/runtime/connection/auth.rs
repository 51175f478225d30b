//! Authentication through the hooks: the CONNECT, the MQTT 5 enhanced-authentication
//! exchange (AUTH 0x18 rounds before CONNACK) and re-authentication (AUTH 0x19 on a live
//! connection), MQTT 5.0 §4.12.
//!
//! The hooks are asked before anything else is decided about a CONNECT (before the takeover
//! of the client identifier and the session's resumption). While an exchange waits for the
//! client's next AUTH, the connection keeps the hooks' [`PendingAuth`] (and, for a CONNECT,
//! the CONNECT itself) in an [`AuthExchange`]; the client's AUTH comes back as
//! [`Command::Authenticate`](crate::session::Command::Authenticate).

use std::sync::Arc;

use crate::hooks::{
    Anonymous, Attributes, AuthMethod, AuthOutcome, AuthSuccess, AuthenticateRequest, ClientInfo,
    EnhancedAuth, Password, PendingAuth, Refusal, Username,
};
use crate::runtime::clock::now;
use crate::runtime::connection::auth_exchange::AuthExchange;
use crate::runtime::connection::client::Client;
use crate::runtime::hooks::runtime_hooks::anonymous_on;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::Stats;
use crate::runtime::transport::identity::peer_certificate;
use crate::runtime::transport::stream::Stream;
use crate::session::{AuthRequest, AuthStep, ConnectRequest};
use crate::types::{MqttString, ReasonCode};
use bytes::Bytes;

impl Client {
    /// Asks the hooks about a CONNECT (round 0 of an enhanced authentication when it has an
    /// Authentication Method). With no hooks nothing is built: the listener's (or the
    /// chain's) anonymous policy answers, and an Authentication Method is refused with 0x8C
    /// Bad authentication method ([MQTT-4.12.0-1]).
    pub(crate) async fn authenticate_connect(
        &mut self,
        shared: &Shared,
        stream: &Stream,
        request: &ConnectRequest,
    ) -> AuthOutcome {
        let chain = Arc::clone(&shared.hooks().chain);
        let anonymous = anonymous_on(&self.listener, &chain);
        if chain.is_empty() {
            return if request.auth_method.is_some() {
                AuthOutcome::Denied(Refusal::new(ReasonCode::BadAuthenticationMethod))
            } else {
                match anonymous {
                    Anonymous::Allow => AuthOutcome::Allowed(AuthSuccess::default()),
                    Anonymous::Deny => AuthOutcome::Denied(Refusal::not_authorized()),
                }
            };
        }
        let client = self.make_client_info(stream, request);
        self.client_info = Some(Arc::clone(&client));
        let password = request.password.clone().map(Password::new);
        let mut ask = AuthenticateRequest::connect(client, password);
        if let Some(method) = &request.auth_method {
            ask = ask.with_enhanced(EnhancedAuth::new(
                AuthMethod::new(method.clone()),
                request.auth_data.clone(),
            ));
        }
        chain.authenticate_with(&ask, anonymous).await
    }

    /// Tells the session what the hooks decided about a CONNECT (or the last round of its
    /// exchange). Returns the CONNECT when the client is authenticated and is to be
    /// admitted; keeps it when the exchange goes on.
    pub(crate) fn connect_authenticated(
        &mut self,
        shared: &Shared,
        outcome: AuthOutcome,
        request: ConnectRequest,
    ) -> Option<ConnectRequest> {
        match outcome {
            AuthOutcome::Allowed(success) => {
                self.keep_attributes(success.attributes);
                self.session.auth_success(success.data, success.reason);
                Some(request)
            }
            AuthOutcome::Continue {
                data,
                reason,
                pending,
            } => {
                self.continue_exchange(data, reason, pending, Some(request));
                None
            }
            AuthOutcome::Denied(refusal) => {
                self.auth_refused(shared, &refusal);
                None
            }
        }
    }

    /// Carries out an AUTH of the client: the next round of an exchange, or the start of a
    /// re-authentication. A CONNECT authenticated by the last round is admitted.
    pub(crate) async fn on_authenticate(&mut self, shared: &Shared, request: AuthRequest) {
        let Some(client) = self.client_info.clone() else {
            // No hooks: no exchange was started, so none can go on.
            self.auth_refused(shared, &Refusal::new(ReasonCode::BadAuthenticationMethod));
            return;
        };
        let chain = Arc::clone(&shared.hooks().chain);
        let method = AuthMethod::new(request.method);
        match request.step {
            AuthStep::Reauthenticate => {
                // [MQTT-4.12.1-1]: the session checked the method is the CONNECT's.
                let ask = AuthenticateRequest::reauthenticate(client, method, request.data);
                let outcome = chain.authenticate(&ask).await;
                self.reauthenticated(shared, outcome);
            }
            AuthStep::Continue => {
                let Some(exchange) = self.auth.take() else {
                    self.auth_refused(shared, &Refusal::new(ReasonCode::ProtocolError));
                    return;
                };
                let AuthExchange { pending, connect } = *exchange;
                let password = connect
                    .as_ref()
                    .and_then(|connect| connect.password.clone())
                    .map(Password::new);
                let ask = AuthenticateRequest {
                    client,
                    password,
                    purpose: pending.purpose(),
                    enhanced: Some(EnhancedAuth::new(method, request.data)),
                };
                let outcome = chain.continue_authentication(&pending, &ask).await;
                match connect {
                    Some(connect) => {
                        if let Some(connect) = self.connect_authenticated(shared, outcome, connect)
                        {
                            self.admit(shared, connect).await;
                        }
                    }
                    None => self.reauthenticated(shared, outcome),
                }
            }
        }
    }

    /// Sends AUTH 0x18 with the hooks' challenge and keeps the exchange (with the CONNECT
    /// it authenticates, if any) for the client's answer.
    fn continue_exchange(
        &mut self,
        data: Bytes,
        reason: Option<MqttString>,
        pending: PendingAuth,
        connect: Option<ConnectRequest>,
    ) {
        self.session.continue_auth(data, reason);
        self.auth = Some(Box::new(AuthExchange { pending, connect }));
    }

    /// Tells the session what the hooks decided about a round of re-authentication.
    fn reauthenticated(&mut self, shared: &Shared, outcome: AuthOutcome) {
        match outcome {
            AuthOutcome::Allowed(success) => {
                self.keep_attributes(success.attributes);
                self.session.auth_success(success.data, success.reason);
                // Decisions made for the old credentials are not reused.
                if let Some(client) = &self.client_info {
                    shared.hooks().chain.invalidate_client(&client.client_id);
                }
                tracing::debug!("Client {} re-authenticated.", self.label());
            }
            AuthOutcome::Continue {
                data,
                reason,
                pending,
            } => self.continue_exchange(data, reason, pending, None),
            AuthOutcome::Denied(refusal) => self.auth_refused(shared, &refusal),
        }
    }

    /// Keeps what the authenticating hook attached to the client for the hooks asked after
    /// it; an accepted re-authentication replaces what the last one attached.
    fn keep_attributes(&mut self, attributes: Attributes) {
        if let Some(client) = &mut self.client_info {
            if client.attributes != attributes {
                Arc::make_mut(client).attributes = attributes;
            }
        }
    }

    /// The hooks refused the client: counted, and the session answers (CONNACK or
    /// DISCONNECT with the code) and closes.
    fn auth_refused(&mut self, shared: &Shared, refusal: &Refusal) {
        Stats::bump(&shared.stats().auth_failures);
        tracing::debug!(
            "Client {} not authenticated: {}.",
            self.label(),
            refusal.code().description()
        );
        self.auth = None;
        self.session
            .auth_failed(refusal.code(), refusal.reason().cloned(), now());
    }

    /// Who the client is, as every hook request tells it.
    fn make_client_info(&self, stream: &Stream, request: &ConnectRequest) -> Arc<ClientInfo> {
        let mut info = ClientInfo::new(
            request.client_id.clone(),
            request.version,
            self.listener.name.clone(),
        );
        if let Some(peer) = self.peer {
            info = info.with_peer_addr(peer);
        }
        if let Some(username) = &request.username {
            info = info.with_username(Username::new(username.clone()));
        }
        if let Some(certificate) = peer_certificate(stream) {
            info = info.with_certificate(certificate);
        }
        Arc::new(info)
    }
}
