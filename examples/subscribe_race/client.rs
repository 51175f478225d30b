//! A blocking MQTT client made of Skein's own codec over a loopback TCP socket: what the
//! probe needs and nothing more (CONNECT / CONNACK, writing encoded packets, reading the
//! next packet, DISCONNECT). Every read waits at most [`READ_TIMEOUT`].

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use broker_core::codec::{Connect, Decoder, Disconnect, Packet};
use broker_core::types::{ClientId, ProtocolVersion, ReasonCode};
use bytes::BytesMut;

/// The longest a read waits for the broker: far above any answer on loopback, so a read
/// that times out is a broker that did not answer, and the run stops.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Keep Alive in CONNECT: longer than any round lasts.
const KEEP_ALIVE_S: u16 = 60;

/// One MQTT connection: the socket, the decoder and its read buffer.
pub(crate) struct Client {
    stream: TcpStream,
    decoder: Decoder,
    rbuf: BytesMut,
    version: ProtocolVersion,
}

impl Client {
    /// Connects to `addr`, sends CONNECT (clean start) as `client_id` and waits for a
    /// successful CONNACK.
    pub(crate) fn connect(
        addr: SocketAddr,
        client_id: &str,
        version: ProtocolVersion,
    ) -> Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT)
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        let mut client = Client {
            stream,
            decoder: Decoder::with_version(version),
            rbuf: BytesMut::with_capacity(1024),
            version,
        };
        let mut connect = Connect::new(version, ClientId::new(client_id)?);
        connect.clean_start = true;
        connect.keep_alive = KEEP_ALIVE_S;
        let bytes = client.encode(&Packet::Connect(Box::new(connect)))?;
        client.write(&bytes)?;
        match client.recv()? {
            Packet::ConnAck(ack) if ack.code == ReasonCode::Success => Ok(client),
            Packet::ConnAck(ack) => bail!("connection refused: {:?}", ack.code),
            other => bail!("expected CONNACK, got {:?}", other.packet_type()),
        }
    }

    /// `packet` encoded for this connection's protocol version.
    pub(crate) fn encode(&self, packet: &Packet) -> Result<Vec<u8>> {
        let mut out = BytesMut::new();
        packet.encode(self.version, &mut out)?;
        Ok(out.to_vec())
    }

    /// Writes encoded packets in one write (TCP_NODELAY: they leave at once).
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes)?;
        Ok(())
    }

    /// The next packet from the broker; an error when it closes the connection or says
    /// nothing for [`READ_TIMEOUT`].
    pub(crate) fn recv(&mut self) -> Result<Packet> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(packet) = self.decoder.decode(&mut self.rbuf)? {
                return Ok(packet);
            }
            let n = self
                .stream
                .read(&mut chunk)
                .context("reading from the broker")?;
            if n == 0 {
                bail!("the broker closed the connection");
            }
            self.rbuf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    /// Sends DISCONNECT and waits (at most [`READ_TIMEOUT`]) for the broker to close first,
    /// so that TIME_WAIT lands on the broker's side and the probe's ports stay reusable.
    pub(crate) fn close(mut self) {
        let goodbye = Packet::Disconnect(Disconnect::new(ReasonCode::NORMAL_DISCONNECTION));
        if let Ok(bytes) = self.encode(&goodbye) {
            let _ = self.write(&bytes);
        }
        let _ = self.stream.shutdown(Shutdown::Write);
        let mut scratch = [0u8; 512];
        while matches!(self.stream.read(&mut scratch), Ok(n) if n > 0) {}
    }
}
