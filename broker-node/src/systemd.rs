//! systemd's readiness protocol for `Type=notify` units (`deploy/skein.service`): `READY=1`
//! once every listener is bound and the store is open, `STOPPING=1` when a graceful shutdown
//! begins. Without `NOTIFY_SOCKET` (not started by systemd) nothing is sent.

use sd_notify::NotifyState;

/// Tells systemd the broker serves.
pub(crate) fn ready() {
    send(&[NotifyState::Ready], "READY=1");
}

/// Tells systemd the broker is shutting down.
pub(crate) fn stopping() {
    send(&[NotifyState::Stopping], "STOPPING=1");
}

fn send(state: &[NotifyState], what: &str) {
    if let Err(error) = sd_notify::notify(state) {
        tracing::warn!("Telling systemd {what} failed: {error}.");
    }
}
