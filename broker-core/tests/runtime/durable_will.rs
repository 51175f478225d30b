//! Wills across a crash (issue 13), with a store that keeps messages: a persistent session's
//! record, written before its CONNACK, holds its will, so a broker that crashed while the
//! session was connected publishes the will after its restart, as the loss of the connection
//! would have ([MQTT-3.1.2-8]); once, and never for a session whose client disconnected
//! normally ([MQTT-3.1.2-10], [MQTT-3.14.4-3]); after its Will Delay Interval, counted from
//! the restart, and not at all if the client comes back first ([MQTT-3.1.3-9]). A will's
//! copies for persistent subscribers are stored like any other copy.
//!
//! A crash is a broker on a runtime of its own that is dropped: every task stops where it
//! stands (no DISCONNECT, no will published, no session settled), as in a killed process,
//! while the store, in this process, keeps what it was given.

use std::net::SocketAddr;
use std::sync::Arc;

use broker_core::codec::{Connect, Will, WillProperties};
use broker_core::store::SessionStore;
use broker_core::types::{ClientId, ProtocolVersion, QoS};
use broker_core::Broker;

use crate::keeping_store::{start_on, KeepingStore};
use crate::support::{connect_packet, topic, Client, V311, V5};

/// A broker on a runtime of its own, so that the test can crash it.
struct Doomed {
    runtime: tokio::runtime::Runtime,
    broker: Broker,
    addr: SocketAddr,
}

impl Doomed {
    async fn start(store: &Arc<KeepingStore>) -> Doomed {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (broker, addr) = runtime.spawn(start_on(Arc::clone(store))).await.unwrap();
        Doomed {
            runtime,
            broker,
            addr,
        }
    }

    /// Stops the broker's runtime, dropping every task of the broker where it stands, and
    /// waits until its threads are gone; only then is the broker's handle dropped.
    async fn crash(self) {
        let Doomed {
            runtime, broker, ..
        } = self;
        tokio::task::spawn_blocking(move || drop(runtime))
            .await
            .unwrap();
        drop(broker);
    }
}

fn id(client: &str) -> ClientId {
    ClientId::new(client).unwrap()
}

/// A persistent CONNECT (3.x clean session 0; 5.0 clean start 0 and Session Expiry 300 s)
/// with a QoS 1 will to `wills/<client>` that says "gone", after `delay` seconds (5.0).
fn with_will(version: ProtocolVersion, client: &str, delay: Option<u32>) -> Connect {
    let mut connect = persistent(version, client);
    connect.will = Some(Will {
        topic: topic(&format!("wills/{client}")),
        payload: "gone".into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties {
            will_delay_interval: delay,
            ..WillProperties::default()
        },
    });
    connect
}

fn persistent(version: ProtocolVersion, client: &str) -> Connect {
    let mut connect = connect_packet(version, client, false);
    if version == V5 {
        connect.properties.session_expiry_interval = Some(300);
    }
    connect
}

/// "watcher", a persistent session subscribed to `wills/#` at QoS 1; connected, or left
/// offline when `stay` is false.
async fn watcher(addr: SocketAddr, stay: bool) -> Option<Client> {
    let (mut watcher, _) = Client::connect_with(addr, persistent(V311, "watcher")).await;
    watcher.subscribe(1, "wills/#", QoS::AtLeastOnce).await;
    if stay {
        return Some(watcher);
    }
    watcher.disconnect().await;
    None
}

/// "watcher" back on its session, which the restart kept.
async fn watcher_back(addr: SocketAddr) -> Client {
    let (watcher, ack) = Client::connect_with(addr, persistent(V311, "watcher")).await;
    assert!(ack.session_present, "the watcher's session was kept");
    watcher
}

/// Whether the store's record of `client` holds a will.
async fn stored_will(store: &KeepingStore, client: &str) -> bool {
    store
        .load(&id(client))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no record of {client}"))
        .will
        .is_some()
}

/// [MQTT-3.1.2-8]: a connection closed without DISCONNECT publishes the will, and a crash of
/// the broker closes it so. The record written before the CONNACK holds the will; after the
/// restart the persistent subscriber gets it once. The record then no longer holds it, so a
/// second crash and restart publish nothing ([MQTT-3.1.2-10]: a published will leaves the
/// session state).
#[tokio::test]
async fn the_will_of_a_session_online_at_a_crash_is_published_once_after_the_restart_mqtt_3_1_2_8()
{
    let (store, _gate) = KeepingStore::new();
    let first = Doomed::start(&store).await;
    watcher(first.addr, false).await;
    let (dying, _) = Client::connect_with(first.addr, with_will(V311, "dying", None)).await;
    assert!(
        stored_will(&store, "dying").await,
        "the record written before the CONNACK holds the will"
    );
    first.crash().await;
    drop(dying);

    let second = Doomed::start(&store).await;
    let mut watcher = watcher_back(second.addr).await;
    let will = watcher.recv_publish().await;
    assert_eq!(will.topic.as_ref().map(|t| t.as_str()), Some("wills/dying"));
    assert_eq!(&will.payload[..], b"gone");
    watcher.expect_nothing().await;
    assert!(
        !stored_will(&store, "dying").await,
        "the published will is still in the record"
    );
    watcher.disconnect().await;
    second.crash().await;

    let (third, addr) = start_on(Arc::clone(&store)).await;
    let mut watcher = watcher_back(addr).await;
    watcher.expect_nothing().await;
    watcher.disconnect().await;
    third.shutdown().await;
}

/// [MQTT-3.1.2-8]: a connection lost without DISCONNECT publishes its will. A persistent
/// subscriber's QoS 1 copy of it is stored as any copy for the session is, once the will's
/// record no longer holds the will: a crash after the will went out loses it for nobody the
/// store kept it for, and does not publish it again. "watcher" is away when the will goes
/// out; "observer", a clean session, tells the test when it has. After a crash and a
/// restart on the same store the watcher gets the will once.
#[tokio::test]
async fn a_wills_copy_for_an_offline_persistent_subscriber_is_stored_and_survives_a_crash_mqtt_3_1_2_8(
) {
    let (store, _gate) = KeepingStore::new();
    let first = Doomed::start(&store).await;
    watcher(first.addr, false).await;
    let (mut observer, _) = Client::connect(first.addr, V311, "observer", true).await;
    observer.subscribe(1, "wills/#", QoS::AtLeastOnce).await;
    let (dying, _) = Client::connect_with(first.addr, with_will(V311, "dying", None)).await;
    drop(dying);
    let will = observer.recv_publish().await;
    assert_eq!(will.topic.as_ref().map(|t| t.as_str()), Some("wills/dying"));
    store.wait_queued("watcher", 1).await;
    assert!(
        !stored_will(&store, "dying").await,
        "the record still holds the published will"
    );
    first.crash().await;
    drop(observer);

    let second = Doomed::start(&store).await;
    let mut watcher = watcher_back(second.addr).await;
    let will = watcher.recv_publish().await;
    assert_eq!(will.topic.as_ref().map(|t| t.as_str()), Some("wills/dying"));
    assert_eq!(&will.payload[..], b"gone");
    assert_eq!(will.qos_pid.qos(), QoS::AtLeastOnce);
    watcher.expect_nothing().await;
    store.wait_queued("watcher", 0).await;
    watcher.disconnect().await;
    second.crash().await;
}

/// [MQTT-3.1.2-10] (5.0), [MQTT-3.14.4-3] (3.1.1): a DISCONNECT with Reason Code 0x00 (every
/// 3.x DISCONNECT) discards the will. The record loses it before the broker closes the
/// socket, so a crash right after the close publishes nothing after the restart.
#[tokio::test]
async fn a_will_discarded_by_a_normal_disconnect_is_not_published_after_a_crash_mqtt_3_1_2_10() {
    for version in [V311, V5] {
        let (store, _gate) = KeepingStore::new();
        let first = Doomed::start(&store).await;
        watcher(first.addr, false).await;
        let (polite, _) =
            Client::connect_with(first.addr, with_will(version, "polite", None)).await;
        assert!(stored_will(&store, "polite").await);
        // Returns once the broker has closed the connection.
        polite.disconnect().await;
        assert!(
            !stored_will(&store, "polite").await,
            "{version:?}: the record still holds the discarded will once the socket is closed"
        );
        first.crash().await;

        let (second, addr) = start_on(Arc::clone(&store)).await;
        let mut watcher = watcher_back(addr).await;
        watcher.expect_nothing().await;
        watcher.disconnect().await;
        second.shutdown().await;
    }
}

/// [MQTT-3.1.3-9]: the will of a session that was online at the crash waits for its Will
/// Delay Interval, counted from the restart, and is not published if the client's new
/// connection comes first. "back" returns at once, "away" does not: the watcher, connected
/// through the delay, gets only away's will, and not before the delay.
#[tokio::test]
async fn a_delayed_will_is_not_published_when_its_client_returns_after_a_crash_mqtt_3_1_3_9() {
    const DELAY: u32 = 3;
    let (store, _gate) = KeepingStore::new();
    let first = Doomed::start(&store).await;
    watcher(first.addr, false).await;
    let (back, _) = Client::connect_with(first.addr, with_will(V5, "back", Some(DELAY))).await;
    let (away, _) = Client::connect_with(first.addr, with_will(V5, "away", Some(DELAY))).await;
    first.crash().await;
    drop((back, away));

    let (second, addr) = start_on(Arc::clone(&store)).await;
    let (back, ack) = Client::connect_with(addr, persistent(V5, "back")).await;
    assert!(ack.session_present, "back's session was kept");
    let mut watcher = watcher_back(addr).await;
    // Well within the delay: nothing yet.
    watcher.expect_nothing().await;
    let will = watcher.recv_publish().await;
    assert_eq!(will.topic.as_ref().map(|t| t.as_str()), Some("wills/away"));
    // back's will was due with away's: had it not been dropped, it would be here by now.
    watcher.expect_nothing().await;
    back.disconnect().await;
    watcher.disconnect().await;
    second.shutdown().await;
}
