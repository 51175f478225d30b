//! A hook's "no": a failure reason code and an optional reason string.

use crate::codec::PacketType;
use crate::types::{MqttString, ReasonCode};

/// Why a request is refused: a failure reason code (0x80 or above) and an optional
/// human-readable reason string.
///
/// The session sends the code in the packet that answers the request (CONNACK, PUBACK,
/// PUBREC, SUBACK, DISCONNECT) and, to MQTT 5 clients, the reason string as the Reason
/// String property; it maps the code to the MQTT 3 return code for older clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    code: ReasonCode,
    reason: Option<MqttString>,
}

impl Refusal {
    /// A refusal with `code`. A code below 0x80 reports success and cannot refuse anything:
    /// it is replaced by 0x80 Unspecified error.
    #[must_use]
    pub fn new(code: ReasonCode) -> Self {
        let code = if code.is_error() {
            code
        } else {
            ReasonCode::UnspecifiedError
        };
        Refusal { code, reason: None }
    }

    /// 0x87 Not authorized, the usual refusal.
    #[must_use]
    pub fn not_authorized() -> Self {
        Refusal::new(ReasonCode::NotAuthorized)
    }

    /// Adds a reason string.
    #[must_use]
    pub fn with_reason(mut self, reason: MqttString) -> Self {
        self.reason = Some(reason);
        self
    }

    /// The reason code, always 0x80 or above.
    #[must_use]
    pub fn code(&self) -> ReasonCode {
        self.code
    }

    /// The reason string, if the hook gave one.
    #[must_use]
    pub fn reason(&self) -> Option<&MqttString> {
        self.reason.as_ref()
    }

    /// The same refusal with a code the packet `packet` may carry: a code the specification
    /// does not allow there becomes 0x87 Not authorized. The reason string is kept.
    #[must_use]
    pub(crate) fn fit_for(mut self, packet: PacketType) -> Self {
        if !self.code.allowed_in(packet) {
            self.code = ReasonCode::NotAuthorized;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_codes_cannot_refuse() {
        assert_eq!(
            Refusal::new(ReasonCode::Success).code(),
            ReasonCode::UnspecifiedError
        );
        assert_eq!(
            Refusal::new(ReasonCode::GrantedQoS1).code(),
            ReasonCode::UnspecifiedError
        );
        assert_eq!(Refusal::new(ReasonCode::Banned).code(), ReasonCode::Banned);
    }

    #[test]
    fn codes_fit_the_answering_packet() {
        let reason = MqttString::from_static("no");
        let banned = Refusal::new(ReasonCode::Banned).with_reason(reason.clone());
        assert_eq!(
            banned.clone().fit_for(PacketType::ConnAck).code(),
            ReasonCode::Banned
        );
        let in_suback = banned.fit_for(PacketType::SubAck);
        assert_eq!(in_suback.code(), ReasonCode::NotAuthorized);
        assert_eq!(in_suback.reason(), Some(&reason));
        assert_eq!(
            Refusal::new(ReasonCode::QuotaExceeded)
                .fit_for(PacketType::PubAck)
                .code(),
            ReasonCode::QuotaExceeded
        );
    }
}
