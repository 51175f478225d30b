//! A tiny HTTP/1.1 authentication backend on 127.0.0.1 for the `http` capability's tests: a
//! thread that answers each POST as its script says (by the user name in the JSON body), and
//! keeps every request body it was sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

/// What the backend does with one request.
pub(crate) enum Reply {
    /// Answers with this status and body.
    Answer(u16, String),
    /// Never answers: the connection is held open until the client closes it.
    Silent,
    /// Says it got the request on the first channel, waits for a word on the second (at most
    /// [`GATE`]), then answers `{"result":"allow"}`.
    Gated(UnboundedSender<()>, Arc<Mutex<Receiver<()>>>),
}

/// The longest a [`Reply::Gated`] request waits to be let through.
pub(crate) const GATE: Duration = Duration::from_secs(20);

/// The connections one backend serves at most, and the requests on one connection.
const MAX_CONNECTIONS: usize = 64;
const MAX_REQUESTS: usize = 64;

/// A running backend.
pub(crate) struct Backend {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Backend {
    /// A backend answering by `script`, called with each request's JSON body.
    pub(crate) fn start(
        script: impl Fn(&serde_json::Value) -> Reply + Send + Sync + 'static,
    ) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let script = Arc::new(script);
        std::thread::spawn(move || {
            // A thread per connection: a client may keep one open while it opens another.
            for stream in listener.incoming().take(MAX_CONNECTIONS) {
                let Ok(stream) = stream else { continue };
                let (script, log) = (Arc::clone(&script), Arc::clone(&log));
                std::thread::spawn(move || serve(stream, &*script, &log));
            }
        });
        Backend { addr, seen }
    }

    /// Its origin, `http://127.0.0.1:port`.
    pub(crate) fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of its authentication endpoint.
    pub(crate) fn url(&self) -> String {
        format!("{}/mqtt/auth", self.origin())
    }

    /// The bodies of the requests it got so far.
    pub(crate) fn requests(&self) -> Vec<serde_json::Value> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serves the requests of one connection, until it closes or a request is left unanswered.
fn serve(
    stream: TcpStream,
    script: &impl Fn(&serde_json::Value) -> Reply,
    seen: &Mutex<Vec<serde_json::Value>>,
) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut stream = stream;
    for _ in 0..MAX_REQUESTS {
        let mut length = 0usize;
        let mut line = String::new();
        // The request line and the headers, up to the empty line.
        for n in 0..100 {
            line.clear();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if n > 0 && line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok()?;
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        seen.lock().unwrap().push(json.clone());
        let (status, body) = match script(&json) {
            Reply::Answer(status, body) => (status, body),
            Reply::Silent => {
                // Until the client gives up and closes.
                let _ = reader.read(&mut [0; 1]);
                return None;
            }
            Reply::Gated(arrived, gate) => {
                let _ = arrived.send(());
                let _ = gate.lock().unwrap().recv_timeout(GATE);
                (200, r#"{"result":"allow"}"#.to_owned())
            }
        };
        let answer = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).ok()?;
    }
    None
}
