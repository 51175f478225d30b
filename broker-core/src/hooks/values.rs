//! Small values the hook requests carry: user name, password, listener name, TLS client
//! certificate and MQTT 5 authentication method.
//!
//! Each is a newtype so a password is never mistaken for a user name, and so the secrets
//! (`Password`, `CertificateDer`) can keep their bytes out of `Debug` output.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::codec::Violation;
use crate::types::MqttString;

/// A newtype over an MQTT UTF-8 string: construction, access, `Debug` with the type's name and
/// `Display` of the text.
macro_rules! string_value {
    ($(#[$doc:meta])* $name:ident, $new_doc:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(MqttString);

        impl $name {
            #[doc = $new_doc]
            #[must_use]
            pub fn new(value: MqttString) -> Self {
                $name(value)
            }

            /// The text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The text as the codec's string type (to put in a packet).
            #[must_use]
            pub fn as_mqtt_string(&self) -> &MqttString {
                &self.0
            }
        }

        impl From<MqttString> for $name {
            fn from(value: MqttString) -> Self {
                $name(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Violation;

            fn try_from(value: &str) -> Result<Self, Violation> {
                MqttString::new(value).map($name)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_value!(
    /// A CONNECT User Name.
    Username,
    "Wraps a user name read from CONNECT."
);

/// A CONNECT Password: binary data. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Bytes);

impl Password {
    /// Wraps password bytes.
    #[must_use]
    pub fn new(value: impl Into<Bytes>) -> Self {
        Password(value.into())
    }

    /// The password bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether the password equals `other`, comparing every byte whatever the first
    /// difference (the time taken depends on the lengths only).
    #[must_use]
    pub fn matches(&self, other: &[u8]) -> bool {
        let mine = self.as_bytes();
        mine.len() == other.len()
            && mine
                .iter()
                .zip(other)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The name of the listener a connection arrived on, as configured.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListenerName(Arc<str>);

impl ListenerName {
    /// Wraps a listener name.
    #[must_use]
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        ListenerName(value.into())
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ListenerName {
    fn from(value: &str) -> Self {
        ListenerName::new(value)
    }
}

impl fmt::Debug for ListenerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListenerName({:?})", self.as_str())
    }
}

impl fmt::Display for ListenerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The DER encoding of the certificate a TLS client presented (the end-entity certificate,
/// not the chain). `Debug` shows its length only.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateDer(Bytes);

impl CertificateDer {
    /// Wraps DER bytes.
    #[must_use]
    pub fn new(value: impl Into<Bytes>) -> Self {
        CertificateDer(value.into())
    }

    /// The DER bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for CertificateDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateDer({} bytes)", self.0.len())
    }
}

string_value!(
    /// An MQTT 5 Authentication Method (property 0x15), such as `SCRAM-SHA-256`.
    AuthMethod,
    "Wraps a method name read from CONNECT or AUTH."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_matches_only_the_same_bytes() {
        let password = Password::new("secret");
        assert!(password.matches(b"secret"));
        assert!(!password.matches(b"secreT"));
        assert!(!password.matches(b"secret2"));
        assert!(!password.matches(b""));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        assert_eq!(
            format!("{:?}", Password::new("hunter2")),
            "Password(<redacted>)"
        );
        assert_eq!(
            format!("{:?}", CertificateDer::new(vec![1, 2, 3])),
            "CertificateDer(3 bytes)"
        );
    }

    #[test]
    fn names_parse_as_mqtt_strings() {
        assert!(Username::try_from("alice").is_ok());
        assert!(Username::try_from("a\0b").is_err());
        assert_eq!(AuthMethod::try_from("SCRAM").unwrap().as_str(), "SCRAM");
        assert_eq!(ListenerName::from("tls").to_string(), "tls");
    }
}
