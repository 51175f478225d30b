//! What a closed store holds when it is opened again; one process per directory; damaged
//! records quarantined, the rest served.

use std::time::{Duration, Instant};

use broker_core::codec::PublishProperties;
use broker_core::router::RetainedMessage;
use broker_core::session::{Message, QueuedMessage};
use broker_core::store::{SessionStore, StoredSession};
use broker_core::types::{ClientId, QoS, TopicName};
use broker_storage::{OpenError, SledStore, StoreOptions};
use bytes::Bytes;

fn client(name: &str) -> ClientId {
    ClientId::new(name).unwrap()
}

fn session(name: &str, expiry: u32) -> StoredSession {
    StoredSession {
        client_id: client(name),
        session_expiry: expiry,
        subscriptions: Vec::new(),
        outbound: Vec::new(),
        shared_outbound: Vec::new(),
        inbound_qos2: Vec::new(),
        stored_outbound: Vec::new(),
        will: None,
    }
}

fn queued(payload: &'static str) -> QueuedMessage {
    let message = Message::new(
        TopicName::new("q/t").unwrap(),
        Bytes::from_static(payload.as_bytes()),
        QoS::AtLeastOnce,
        false,
        PublishProperties::default(),
        Instant::now(),
    );
    QueuedMessage::new(message, QoS::AtLeastOnce, false, Vec::new())
}

fn retained(topic: &str, payload: &'static str) -> RetainedMessage {
    RetainedMessage::new(
        TopicName::new(topic).unwrap(),
        Bytes::from_static(payload.as_bytes()),
        QoS::AtLeastOnce,
        PublishProperties::default(),
        1_700_000_000,
    )
}

/// Opens the store a test closed a moment ago. The crash test in this binary forks writer
/// processes: a fork made while the store was open holds a copy of its lock file's descriptor
/// until the child's `exec` closes it, so the lock may outlive the store by that long.
fn reopen(options: &StoreOptions) -> SledStore {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match SledStore::open(options) {
            Ok(store) => return store,
            Err(OpenError::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(error) => panic!("{error}"),
        }
    }
}

fn payloads(queue: &[(u64, QueuedMessage)]) -> Vec<&[u8]> {
    queue.iter().map(|(_, q)| &q.message.payload[..]).collect()
}

#[tokio::test]
async fn everything_written_is_there_after_a_reopen_and_sequence_numbers_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::new(dir.path());
    let last = {
        let store = SledStore::open(&options).unwrap();
        store.save(&session("a", 60)).await.unwrap();
        let first = store.enqueue(&client("a"), &queued("1")).await.unwrap();
        store.enqueue(&client("a"), &queued("2")).await.unwrap();
        let last = store.enqueue(&client("a"), &queued("3")).await.unwrap();
        store.ack_queued(&client("a"), first).await.unwrap();
        store.set_retained(&retained("r/1", "kept")).await.unwrap();
        last
    };
    let store = reopen(&options);
    assert_eq!(
        store.load(&client("a")).await.unwrap(),
        Some(session("a", 60))
    );
    let queue = store.queued(&client("a")).await.unwrap();
    assert_eq!(payloads(&queue), vec![&b"2"[..], b"3"]);
    assert_eq!(
        store.retained().await.unwrap(),
        vec![retained("r/1", "kept")]
    );
    let next = store.enqueue(&client("a"), &queued("4")).await.unwrap();
    assert!(next > last, "sequence {next} after {last}");
    assert_eq!(store.quarantined(), 0);
}

#[test]
fn a_second_store_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::new(dir.path());
    let first = SledStore::open(&options).unwrap();
    let err = SledStore::open(&options).unwrap_err();
    assert!(
        matches!(&err, OpenError::Locked { holder: Some(pid), .. } if *pid == std::process::id()),
        "{err}"
    );
    drop(first);
    reopen(&options);
}

/// Flips one byte in the middle of the value of `key`, behind the store's back.
fn damage(dir: &std::path::Path, key: &[u8]) {
    let db = sled::open(dir.join("sled")).unwrap();
    let mut value = db.get(key).unwrap().unwrap().to_vec();
    let middle = value.len() / 2;
    value[middle] ^= 0xff;
    db.insert(key, value).unwrap();
    db.flush().unwrap();
}

#[tokio::test]
async fn a_damaged_record_is_quarantined_and_the_rest_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::new(dir.path());
    let seq = {
        let store = SledStore::open(&options).unwrap();
        store.save(&session("a", 60)).await.unwrap();
        store.save(&session("b", 70)).await.unwrap();
        store.enqueue(&client("b"), &queued("1")).await.unwrap();
        let seq = store.enqueue(&client("b"), &queued("2")).await.unwrap();
        store.set_retained(&retained("r/1", "one")).await.unwrap();
        store.set_retained(&retained("r/2", "two")).await.unwrap();
        seq
    };
    // The key layout (src/keys.rs): "s" + client id; "q" + client id + 0 + seq; "r" + topic.
    damage(dir.path(), b"sa");
    let mut queue_key = b"qb\0".to_vec();
    queue_key.extend_from_slice(&seq.to_be_bytes());
    damage(dir.path(), &queue_key);
    damage(dir.path(), b"rr/2");

    let store = reopen(&options);
    assert_eq!(store.load(&client("a")).await.unwrap(), None);
    assert_eq!(
        store.load(&client("b")).await.unwrap(),
        Some(session("b", 70))
    );
    assert_eq!(
        payloads(&store.queued(&client("b")).await.unwrap()),
        vec![&b"1"[..]]
    );
    assert_eq!(
        store.retained().await.unwrap(),
        vec![retained("r/1", "one")]
    );
    assert_eq!(store.quarantined(), 3);
    // Quarantined records are out of the store: reading again finds nothing new.
    assert_eq!(store.load(&client("a")).await.unwrap(), None);
    assert_eq!(store.retained().await.unwrap().len(), 1);
    assert_eq!(store.quarantined(), 3);
    let mut ids: Vec<String> = store
        .sessions()
        .await
        .unwrap()
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["b".to_owned()]);
}

#[test]
fn a_store_of_another_format_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path().join("sled")).unwrap();
        db.insert(b"mformat", &99u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(&StoreOptions::new(dir.path())).unwrap_err();
    assert!(
        matches!(err, OpenError::Format { expected: 1, .. }),
        "{err}"
    );
}
