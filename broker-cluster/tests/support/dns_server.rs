//! A DNS server on 127.0.0.1 for the discovery tests: it answers queries over UDP from
//! records the test sets (SRV, A, AAAA), authoritatively and with a TTL of 0, so that a
//! resolver sees a change at its next lookup. Messages are read and written with
//! hickory-proto's types; a name without records is answered NXDOMAIN.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use hickory_resolver::proto::op::{Message, ResponseCode};
use hickory_resolver::proto::rr::rdata::SRV;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// The server: its address and its records; it stops when dropped.
pub(crate) struct DnsServer {
    addr: SocketAddr,
    records: Arc<Mutex<Vec<Record>>>,
    task: JoinHandle<()>,
}

impl DnsServer {
    /// Serves on an ephemeral port of 127.0.0.1, with no records yet.
    pub(crate) async fn start() -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let records = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(serve(socket, Arc::clone(&records)));
        DnsServer {
            addr,
            records,
            task,
        }
    }

    /// Where it answers.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the SRV records of `name` with one per target host and port (priority 0,
    /// weight 10, as a Kubernetes headless service gives them).
    pub(crate) fn set_srv(&self, name: &str, targets: &[(&str, u16)]) {
        let records = targets.iter().map(|(target, port)| {
            let srv = SRV::new(0, 10, *port, fqdn(target));
            Record::from_rdata(fqdn(name), 0, RData::SRV(srv))
        });
        self.replace(name, &[RecordType::SRV], records.collect());
    }

    /// Replaces the A / AAAA records of `host` with `ips`.
    pub(crate) fn set_addresses(&self, host: &str, ips: &[IpAddr]) {
        let records: Vec<Record> = ips
            .iter()
            .map(|ip| Record::from_rdata(fqdn(host), 0, RData::from(*ip)))
            .collect();
        self.replace(host, &[RecordType::A, RecordType::AAAA], records);
    }

    /// Replaces the records of `name` of the types `kinds` with `new`.
    fn replace(&self, name: &str, kinds: &[RecordType], new: Vec<Record>) {
        let name = fqdn(name);
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        records.retain(|r| !(r.name == name && kinds.contains(&r.record_type())));
        records.extend(new);
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `text` as a rooted name.
fn fqdn(text: &str) -> Name {
    let mut name = Name::from_ascii(text).unwrap();
    name.set_fqdn(true);
    name
}

/// Answers each datagram on `socket` from `records`.
async fn serve(socket: UdpSocket, records: Arc<Mutex<Vec<Record>>>) {
    let mut buf = vec![0; 4096];
    loop {
        let Ok((len, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Ok(request) = Message::from_vec(&buf[..len]) else {
            continue;
        };
        let reply = {
            let records = records.lock().unwrap_or_else(PoisonError::into_inner);
            answer(&records, &request)
        };
        if let Ok(bytes) = reply.to_vec() {
            let _ = socket.send_to(&bytes, from).await;
        }
    }
}

/// The answer to `request` from `records`.
fn answer(records: &[Record], request: &Message) -> Message {
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    let Some(query) = request.queries.first() else {
        reply.metadata.response_code = ResponseCode::FormErr;
        return reply;
    };
    reply.add_query(query.clone());
    let mut name = query.name().clone();
    name.set_fqdn(true);
    let at_name: Vec<&Record> = records.iter().filter(|r| r.name == name).collect();
    if at_name.is_empty() {
        reply.metadata.response_code = ResponseCode::NXDomain;
    }
    reply.add_answers(
        at_name
            .into_iter()
            .filter(|r| r.record_type() == query.query_type())
            .cloned(),
    );
    reply
}
