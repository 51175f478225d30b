//! What a closed store holds when it is opened again; one process per directory; damaged
//! records quarantined, the rest served.

use std::time::{Duration, Instant};

use broker_core::codec::PublishProperties;
use broker_core::router::RetainedMessage;
use broker_core::session::{Message, QueuedMessage};
use broker_core::store::{SessionStore, StoreWrite, StoredSession, WriteOutcome};
use broker_core::types::{ClientId, QoS, TopicName};
use broker_storage::{DiskStore, OpenError, StoreOptions, STORE_FORMAT};
use bytes::Bytes;
use redb::ReadableTable;

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
fn reopen(options: &StoreOptions) -> DiskStore {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match DiskStore::open(options) {
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
        let store = DiskStore::open(&options).unwrap();
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
    let first = DiskStore::open(&options).unwrap();
    let err = DiskStore::open(&options).unwrap_err();
    assert!(
        matches!(&err, OpenError::Locked { holder: Some(pid), .. } if *pid == std::process::id()),
        "{err}"
    );
    drop(first);
    reopen(&options);
}

/// The store's table, as `src/database.rs` names it.
const TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("skein");

/// Runs `change` on the store's table in `dir`, behind the store's back (the store is
/// closed; its database file is `store.redb`).
fn behind_the_back(dir: &std::path::Path, change: impl FnOnce(&mut redb::Table<&[u8], &[u8]>)) {
    let db = redb::Database::create(dir.join("store.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    change(&mut txn.open_table(TABLE).unwrap());
    txn.commit().unwrap();
}

/// Flips one byte in the middle of the value of `key`, behind the store's back.
fn damage(dir: &std::path::Path, key: &[u8]) {
    behind_the_back(dir, |table| {
        let mut value = table.get(key).unwrap().unwrap().value().to_vec();
        let middle = value.len() / 2;
        value[middle] ^= 0xff;
        table.insert(key, value.as_slice()).unwrap();
    });
}

#[tokio::test]
async fn a_damaged_record_is_quarantined_and_the_rest_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::new(dir.path());
    let seq = {
        let store = DiskStore::open(&options).unwrap();
        store.save(&session("a", 60)).await.unwrap();
        store.save(&session("b", 70)).await.unwrap();
        store.enqueue(&client("b"), &queued("1")).await.unwrap();
        let seq = store.enqueue(&client("b"), &queued("2")).await.unwrap();
        store.set_retained(&retained("r/1", "one")).await.unwrap();
        store.set_retained(&retained("r/2", "two")).await.unwrap();
        seq
    };
    // The key layout (src/keys.rs): "s" + client id; "l" + log record id; "r" + topic. Each
    // enqueue above was a batch of its own, so its copy is in a log record of its own, whose
    // id is the number given just after the copy's (copies are numbered as they are
    // submitted, records as they are applied).
    damage(dir.path(), b"sa");
    let mut log_key = b"l".to_vec();
    log_key.extend_from_slice(&(seq + 1).to_be_bytes());
    damage(dir.path(), &log_key);
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
    behind_the_back(dir.path(), |table| {
        table
            .insert(&b"mformat"[..], &99u32.to_be_bytes()[..])
            .unwrap();
    });
    let err = DiskStore::open(&StoreOptions::new(dir.path())).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::Format {
                expected: STORE_FORMAT,
                ..
            }
        ),
        "{err}"
    );
}

/// A data directory of an earlier Skein (formats 1 and 2 were sled databases, in `sled/`) is
/// refused with a message that says what to do, and nothing in it is touched.
#[test]
fn a_data_directory_of_the_earlier_sled_store_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sled")).unwrap();
    std::fs::write(dir.path().join("sled").join("db"), b"old").unwrap();
    let err = DiskStore::open(&StoreOptions::new(dir.path())).unwrap_err();
    assert!(matches!(err, OpenError::Legacy { .. }), "{err}");
    assert!(err.to_string().contains("move that folder away"), "{err}");
    assert!(!dir.path().join("store.redb").exists());
    assert_eq!(
        std::fs::read(dir.path().join("sled").join("db")).unwrap(),
        b"old"
    );
}

/// What clients finished (more clients than a batch writes the runs of) stays finished across
/// a graceful close and a reopen: the close writes every removal.
#[tokio::test]
async fn removals_are_all_written_by_a_graceful_close() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::new(dir.path());
    let names: Vec<String> = (0..40).map(|n| format!("c{n}")).collect();
    {
        let store = DiskStore::open(&options).unwrap();
        let mut writes = Vec::new();
        for name in &names {
            for payload in ["1", "2", "3"] {
                writes.push(StoreWrite::Enqueue(client(name), queued(payload)));
            }
        }
        let seqs: Vec<u64> = store
            .write_batch(writes)
            .await
            .into_iter()
            .map(|r| match r.unwrap() {
                WriteOutcome::Seq(seq) => seq,
                other => panic!("{other:?}"),
            })
            .collect();
        let forgets = names
            .iter()
            .zip(seqs.chunks(3))
            .map(|(name, seqs)| StoreWrite::Forget(client(name), vec![seqs[1]]))
            .collect();
        store.write_batch(forgets).await;
    }
    let store = reopen(&options);
    for name in &names {
        assert_eq!(
            payloads(&store.queued(&client(name)).await.unwrap()),
            vec![&b"1"[..], b"3"],
            "{name}"
        );
    }
}

/// The space of removed records goes back to the disk when the store opens again: while it
/// runs, the database file keeps the size of the most it held.
#[tokio::test]
async fn the_space_of_removed_records_is_given_back_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::new(dir.path());
    let file = dir.path().join("store.redb");
    // Each copy different: a log record writes a repeated message once.
    let big =
        |n: usize| -> &'static str { String::leak(format!("{n:05}{}", "x".repeat(16 * 1024))) };
    {
        let store = DiskStore::open(&options).unwrap();
        let mut seqs = Vec::new();
        for batch in 0..10 {
            let writes = (0..64)
                .map(|n| StoreWrite::Enqueue(client("a"), queued(big(batch * 64 + n))))
                .collect();
            for outcome in store.write_batch(writes).await {
                if let WriteOutcome::Seq(seq) = outcome.unwrap() {
                    seqs.push(seq);
                }
            }
        }
        // All but the last batch's copies finished: the last one, written last, holds the
        // end of the file, which therefore cannot simply be cut.
        store
            .ack_queued(&client("a"), seqs[9 * 64 - 1])
            .await
            .unwrap();
        store.save(&session("a", 60)).await.unwrap();
    }
    let full = std::fs::metadata(&file).unwrap().len();
    assert!(full > 10 * 1024 * 1024, "{full} bytes for 10 MiB of copies");
    let store = reopen(&options);
    let compacted = std::fs::metadata(&file).unwrap().len();
    assert!(
        compacted < full / 4,
        "{compacted} bytes after the reopen, {full} before"
    );
    assert_eq!(store.queued(&client("a")).await.unwrap().len(), 64);
    assert_eq!(
        store.load(&client("a")).await.unwrap(),
        Some(session("a", 60))
    );
}
