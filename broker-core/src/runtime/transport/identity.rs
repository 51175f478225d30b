//! What a connection's transport says about the client beyond its address: the TLS client
//! certificate, and with `use_identity_as_username` the certificate's identity in place of
//! the CONNECT's User Name.
//!
//! The one thing the broker reads from a client certificate itself is the Common Name (CN)
//! of its subject. rustls has verified the certificate already; this is a small
//! bounds-checked DER walk down to the subject, no X.509 library.
//!
//! ```text
//! Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
//! TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
//!                               validity, subject, ... }
//! Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }      -- CN: OID 2.5.4.3
//! ```
//!
//! Like Mosquitto, the first CN of the subject is the identity.

use crate::hooks::CertificateDer;
use crate::session::ConnectRequest;
use crate::types::{MqttString, ReasonCode};

use crate::runtime::clipped::Clipped;
use crate::runtime::transport::listener::Listener;
use crate::runtime::transport::stream::Stream;

/// The TLS client's end-entity certificate (DER), when the listener uses TLS and the client
/// presented one (the listener's `client_ca` verified it). For
/// [`ClientInfo::certificate`](crate::hooks::ClientInfo::certificate).
pub(crate) fn peer_certificate(stream: &Stream) -> Option<CertificateDer> {
    stream
        .peer_certificate()
        .map(|der| CertificateDer::new(bytes::Bytes::copy_from_slice(der)))
}

/// The CONNECT as the listener has it authenticated: with `use_identity_as_username`, the
/// User Name replaced by the client certificate's subject CN and the password dropped (as
/// Mosquitto does); unchanged otherwise. A client with no certificate or no usable CN is
/// refused with 0x86 Bad User Name or Password (3.x: return code 4), as Mosquitto refuses
/// it.
pub(crate) fn certificate_identity(
    listener: &Listener,
    stream: &Stream,
    mut request: ConnectRequest,
) -> Result<ConnectRequest, ReasonCode> {
    let uses_identity = listener
        .config
        .tls
        .as_ref()
        .is_some_and(|tls| tls.use_identity_as_username);
    if !uses_identity {
        return Ok(request);
    }
    let Some(certificate) = stream.peer_certificate() else {
        tracing::info!(
            "Client {} refused: no client certificate (use_identity_as_username).",
            Clipped(&request.client_id)
        );
        return Err(ReasonCode::BadUserNameOrPassword);
    };
    match subject_common_name(certificate).and_then(|cn| MqttString::new(cn).ok()) {
        Some(identity) => {
            request.username = Some(identity);
            request.password = None;
            Ok(request)
        }
        None => {
            tracing::info!(
                "Client {} refused: its certificate's subject has no usable CN \
                     (use_identity_as_username).",
                Clipped(&request.client_id)
            );
            Err(ReasonCode::BadUserNameOrPassword)
        }
    }
}

/// DER tags used here.
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xA0;
const UTF8_STRING: u8 = 0x0C;
const PRINTABLE_STRING: u8 = 0x13;
const TELETEX_STRING: u8 = 0x14;
const IA5_STRING: u8 = 0x16;
const BMP_STRING: u8 = 0x1E;
/// The OID 2.5.4.3 (id-at-commonName), its content bytes.
const COMMON_NAME: [u8; 3] = [0x55, 0x04, 0x03];

/// The first Common Name of the subject of the DER certificate `der`; `None` when it has
/// none, it is not a text string, or the DER is malformed.
pub(crate) fn subject_common_name(der: &[u8]) -> Option<String> {
    let mut outer = Der(der);
    let mut certificate = outer.read(SEQUENCE)?;
    let mut tbs = certificate.read(SEQUENCE)?;
    if tbs.peek() == Some(VERSION) {
        tbs.read(VERSION)?;
    }
    tbs.read(INTEGER)?; // serialNumber
    tbs.read(SEQUENCE)?; // signature
    tbs.read(SEQUENCE)?; // issuer
    tbs.read(SEQUENCE)?; // validity
    let mut subject = tbs.read(SEQUENCE)?;
    while !subject.is_empty() {
        let mut rdn = subject.read(SET)?;
        while !rdn.is_empty() {
            let mut attribute = rdn.read(SEQUENCE)?;
            let oid = attribute.read(OID)?;
            if oid.0 == COMMON_NAME {
                let (tag, value) = attribute.read_any()?;
                return text(tag, value.0);
            }
        }
    }
    None
}

/// A directory string's text.
fn text(tag: u8, bytes: &[u8]) -> Option<String> {
    match tag {
        UTF8_STRING | PRINTABLE_STRING | IA5_STRING | TELETEX_STRING => {
            String::from_utf8(bytes.to_vec()).ok()
        }
        BMP_STRING => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|pair| match pair {
                    [high, low] => u16::from_be_bytes([*high, *low]),
                    _ => 0,
                })
                .collect();
            bytes
                .len()
                .is_multiple_of(2)
                .then(|| String::from_utf16(&units).ok())
                .flatten()
        }
        _ => None,
    }
}

/// What is left of some DER bytes.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    /// The next element's tag and contents.
    fn read_any(&mut self) -> Option<(u8, Der<'a>)> {
        let (&tag, rest) = self.0.split_first()?;
        // Multi-byte tags (low bits 0x1F) do not occur on the path walked here.
        if tag & 0x1F == 0x1F {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7F);
            if count == 0 || count > 4 {
                return None;
            }
            let (digits, after) = rest.split_at_checked(count)?;
            rest = after;
            digits
                .iter()
                .fold(0usize, |len, &digit| (len << 8) | usize::from(digit))
        };
        let (contents, after) = rest.split_at_checked(len)?;
        self.0 = after;
        Some((tag, Der(contents)))
    }

    /// The next element's contents, if its tag is `tag`.
    fn read(&mut self, tag: u8) -> Option<Der<'a>> {
        match self.read_any()? {
            (found, contents) if found == tag => Some(contents),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(name: &rcgen::DistinguishedName) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["client".to_owned()]).unwrap();
        params.distinguished_name = name.clone();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_first_common_name_of_the_subject() {
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::OrganizationName, "Skein tests");
        name.push(rcgen::DnType::CommonName, "alice");
        assert_eq!(
            subject_common_name(&certificate(&name)).as_deref(),
            Some("alice")
        );
    }

    #[test]
    fn text_kinds_are_decoded() {
        for value in [
            rcgen::DnValue::Utf8String("zoë".to_owned()),
            rcgen::DnValue::PrintableString("bob".try_into().unwrap()),
            rcgen::DnValue::Ia5String("carol".try_into().unwrap()),
            rcgen::DnValue::BmpString("dave".try_into().unwrap()),
        ] {
            let expected = match &value {
                rcgen::DnValue::Utf8String(s) => s.clone(),
                rcgen::DnValue::PrintableString(s) => s.as_str().to_owned(),
                rcgen::DnValue::Ia5String(s) => s.as_str().to_owned(),
                _ => "dave".to_owned(),
            };
            let mut name = rcgen::DistinguishedName::new();
            name.push(rcgen::DnType::CommonName, value);
            assert_eq!(subject_common_name(&certificate(&name)), Some(expected));
        }
    }

    #[test]
    fn no_common_name_is_none() {
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::OrganizationName, "no cn");
        assert_eq!(subject_common_name(&certificate(&name)), None);
    }

    #[test]
    fn malformed_der_is_none_not_a_panic() {
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::CommonName, "alice");
        let der = certificate(&name);
        for len in 0..der.len() {
            // Every truncation is malformed; none may panic.
            let _ = subject_common_name(&der[..len]);
        }
        assert_eq!(subject_common_name(&[]), None);
        assert_eq!(
            subject_common_name(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            None
        );
        assert_eq!(subject_common_name(b"not der at all"), None);
    }
}
