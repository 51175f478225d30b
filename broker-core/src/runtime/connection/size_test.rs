//! The memory every connection costs while its task runs: the `Connection` and the future of
//! its task. Both are paid once per open connection, so neither may grow unnoticed; a
//! change that needs more room raises the bound here, with its reason in the commit.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use super::serve::drive;
use super::task::Connection;
use super::wire::Wire;
use crate::config::ListenerConfig;
use crate::hooks::HookChain;
use crate::runtime::hooks::runtime_hooks::RuntimeHooks;
use crate::runtime::state::receive_limits::ReceiveLimits;
use crate::runtime::state::shared::Shared;
use crate::runtime::transport::listener::Listener;
use crate::runtime::transport::stream::Stream;
use crate::session::SessionConfig;
use crate::store::MemoryStore;

/// The size of a [`Connection`], in bytes, on 64-bit targets, in a test (debug) build; a
/// release build measured 8 bytes less for both.
const CONNECTION_BYTES: usize = 696;
/// The size of a connection task's future ([`drive`]), in bytes, on 64-bit targets.
const TASK_BYTES: usize = 976;

#[tokio::test]
async fn a_connection_and_its_task_do_not_grow() {
    let (hooks, _) = RuntimeHooks::start(Arc::new(HookChain::builder().build()));
    let shared = Shared::new(
        SessionConfig::default(),
        None,
        Duration::from_secs(1),
        Duration::from_secs(1),
        Arc::new(MemoryStore::new()),
        hooks,
        None,
        None,
        ReceiveLimits::new(16 * 1024, None),
        crate::config::RetainedLimits::default(),
    );
    let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let server = TcpListener::bind(local).await.unwrap();
    let client = TcpStream::connect(server.local_addr().unwrap())
        .await
        .unwrap();
    let (socket, peer) = server.accept().await.unwrap();
    let listener = Arc::new(Listener::new(ListenerConfig::tcp("size", local)).unwrap());
    let guard = shared.network_tasks().guard();
    let connection = Connection::new(shared, Stream::Tcp(socket), Some(peer), listener, guard);
    let task = drive(connection);
    println!(
        "Wire {} B, Connection {} B, task {} B",
        std::mem::size_of::<Wire>(),
        std::mem::size_of::<Connection>(),
        std::mem::size_of_val(&task)
    );
    if cfg!(target_pointer_width = "64") {
        assert!(std::mem::size_of::<Connection>() <= CONNECTION_BYTES);
        assert!(std::mem::size_of_val(&task) <= TASK_BYTES);
    }
    drop(client);
}
