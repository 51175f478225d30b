//! systemd's readiness protocol (`Type=notify`, `deploy/skein.service`): started with
//! `NOTIFY_SOCKET`, as systemd starts it, `skein` sends `READY=1` once it serves (its
//! listener accepts by then) and `STOPPING=1` when SIGTERM starts its shutdown. The test
//! plays systemd's part with a datagram socket of its own.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use crate::support::{free_port, scratch_dir, Running};

const WAIT: Duration = Duration::from_secs(15);

fn receive(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = socket
        .recv(&mut buf)
        .expect("a notification within the wait");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn skein_tells_systemd_it_is_ready_once_it_serves_and_when_it_stops() {
    let dir = scratch_dir("systemd-notify");
    let path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_skein"));
    command
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("NOTIFY_SOCKET", &path)
        .current_dir(&dir);
    let skein = Running::start(command);

    assert_eq!(receive(&socket), "READY=1\n");
    // Ready means serving.
    TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), WAIT)
        .expect("the listener accepts once READY=1 is sent");

    skein.terminate();
    assert_eq!(receive(&socket), "STOPPING=1\n");
    let finished = skein.finish(WAIT);
    assert!(finished.success(), "{}", finished.describe());
}
