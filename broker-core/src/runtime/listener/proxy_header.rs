//! The PROXY protocol header (HAProxy's, versions 1 and 2) that a load balancer sends before
//! the client's first byte, on a listener with [`ListenerConfig::proxy_protocol`]: the
//! client's own address, which then stands for the connection's peer in logs, hook requests
//! (ACL patterns, plugins) and the broker's view of the client.
//!
//! The header is read byte for byte where its length is not known in advance (version 1),
//! and never past its end, so the bytes after it (TLS, WebSocket or MQTT) are untouched. It
//! is parsed by the `ppp` crate.
//!
//! [`ListenerConfig::proxy_protocol`]: crate::config::ListenerConfig::proxy_protocol

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt};

/// How a version 1 header starts.
const V1_START: &[u8; 6] = b"PROXY ";
/// The longest version 1 header, CRLF included (its specification, 2.1).
const V1_MAX: usize = 107;
/// How a version 2 header starts.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The fixed part of a version 2 header: signature, version and command, family and
/// protocol, length.
const V2_FIXED: usize = 16;
/// The most address and TLV bytes a version 2 header may carry here: addresses take at
/// most 216 (UNIX), the rest are TLVs a load balancer adds (a TLS summary, an id).
const V2_MAX_REST: usize = 4096;

/// Reads the header from `io` (a TCP connection, or a stream an embedder handed over) and
/// returns the client's address it gives; `None` when the header says it has none
/// (`UNKNOWN`, `LOCAL`, a UNIX socket): the connection's own peer (the load balancer's
/// address) stands then.
///
/// # Errors
///
/// Why the connection is not one a proxy announced: no header, a malformed or oversized one,
/// or the connection closed first. The caller logs it and closes the connection.
pub(crate) async fn read<R: AsyncRead + Unpin>(io: &mut R) -> Result<Option<SocketAddr>, String> {
    let mut start = [0u8; 6];
    io.read_exact(&mut start)
        .await
        .map_err(|e| format!("reading the PROXY header: {e}"))?;
    if &start == V1_START {
        read_v1(io, start).await
    } else if V2_SIGNATURE.starts_with(&start) {
        read_v2(io, start).await
    } else {
        Err("no PROXY protocol header (the listener has proxy_protocol on)".to_owned())
    }
}

async fn read_v1<R: AsyncRead + Unpin>(
    io: &mut R,
    start: [u8; 6],
) -> Result<Option<SocketAddr>, String> {
    let mut line = start.to_vec();
    while !line.ends_with(b"\r\n") {
        if line.len() >= V1_MAX {
            return Err(format!(
                "a PROXY version 1 header longer than {V1_MAX} bytes"
            ));
        }
        let byte = io
            .read_u8()
            .await
            .map_err(|e| format!("reading the PROXY header: {e}"))?;
        line.push(byte);
    }
    let header = ppp::v1::Header::try_from(line.as_slice())
        .map_err(|e| format!("a malformed PROXY version 1 header: {e}"))?;
    Ok(match header.addresses {
        ppp::v1::Addresses::Tcp4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        ppp::v1::Addresses::Tcp6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        ppp::v1::Addresses::Unknown => None,
    })
}

async fn read_v2<R: AsyncRead + Unpin>(
    io: &mut R,
    start: [u8; 6],
) -> Result<Option<SocketAddr>, String> {
    let mut rest_of_fixed = [0u8; V2_FIXED - 6];
    io.read_exact(&mut rest_of_fixed)
        .await
        .map_err(|e| format!("reading the PROXY header: {e}"))?;
    let mut header = Vec::with_capacity(V2_FIXED);
    header.extend_from_slice(&start);
    header.extend_from_slice(&rest_of_fixed);
    if !header.starts_with(V2_SIGNATURE) {
        return Err("a malformed PROXY version 2 signature".to_owned());
    }
    // The fixed part ends with the length of the rest.
    let [.., high, low] = rest_of_fixed;
    let rest = usize::from(u16::from_be_bytes([high, low]));
    if rest > V2_MAX_REST {
        return Err(format!(
            "a PROXY version 2 header of {rest} address and TLV bytes (at most {V2_MAX_REST})"
        ));
    }
    let mut addresses = vec![0u8; rest];
    io.read_exact(&mut addresses)
        .await
        .map_err(|e| format!("reading the PROXY header: {e}"))?;
    header.extend_from_slice(&addresses);
    let parsed = ppp::v2::Header::try_from(header.as_slice())
        .map_err(|e| format!("a malformed PROXY version 2 header: {e}"))?;
    Ok(match (parsed.command, parsed.addresses) {
        (ppp::v2::Command::Proxy, ppp::v2::Addresses::IPv4(a)) => {
            Some(SocketAddr::from((a.source_address, a.source_port)))
        }
        (ppp::v2::Command::Proxy, ppp::v2::Addresses::IPv6(a)) => {
            Some(SocketAddr::from((a.source_address, a.source_port)))
        }
        // A health check of the load balancer itself, or an address that is no IP one.
        _ => None,
    })
}
