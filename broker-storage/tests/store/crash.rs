//! A writer killed with SIGKILL at random points, hundreds of times, on one data directory:
//! the store opens every time, and holds every write the writer was told was done.
//!
//! The writer is this test binary run again (`crash_child_writer`, ignored unless asked for).
//! Before each write it prints what it is about to do (`will`), after it what was done (`done`);
//! the parent keeps both. After each kill it opens the store and checks, per client, that
//! every enqueue that was done is there unless an acknowledgement that was done (or the one
//! under way) removed it, that nothing else is there but what a write under way may have
//! added, that sequence numbers and payloads rise together; and that each session record and
//! retained message is the last one done or a later one under way.
//!
//! `kill -9` leaves the kernel's page cache alone, so this proves that the store's writes are
//! ordered and atomic and that it recovers from an abrupt stop, not that its fsyncs reach the
//! platter (that needs a power cut).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use broker_core::codec::PublishProperties;
use broker_core::router::RetainedMessage;
use broker_core::session::{Message, QueuedMessage};
use broker_core::store::{SessionStore, StoredSession};
use broker_core::types::{ClientId, QoS, TopicName};
use broker_storage::{DiskStore, Durability, StoreOptions};
use bytes::Bytes;

/// Kills per run.
const KILLS: usize = 200;
/// What bounds one writer: writes, and time.
const CHILD_WRITES: u64 = 20_000;
const CHILD_TIME: Duration = Duration::from_secs(10);
const CLIENTS: u64 = 3;

fn client(n: u64) -> ClientId {
    ClientId::new(&format!("c{n}")).unwrap()
}

fn topic(n: u64) -> TopicName {
    TopicName::new(format!("t/{n}")).unwrap()
}

fn options(dir: &str, batched: bool) -> StoreOptions {
    let mut options = StoreOptions::new(dir);
    if batched {
        options.durability = Durability::Batched {
            window: Durability::DEFAULT_WINDOW,
        };
    }
    options
}

/// The writer: runs only when the parent starts it.
#[tokio::test]
#[ignore = "the crash test's child process; crash::a_writer_killed_at_random_points_loses_no_write_it_was_told_was_done runs it"]
async fn crash_child_writer() {
    let dir = std::env::var("SKEIN_CRASH_DIR").unwrap();
    let start: u64 = std::env::var("SKEIN_CRASH_START").unwrap().parse().unwrap();
    let batched = std::env::var("SKEIN_CRASH_BATCHED").is_ok();
    let store = DiskStore::open(&options(&dir, batched)).unwrap();
    let mut seqs: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let began = Instant::now();
    for i in start..start + CHILD_WRITES {
        if began.elapsed() > CHILD_TIME {
            break;
        }
        let c = i % CLIENTS;
        println!("@ will q {c} {i}");
        let message = Message::new(
            topic(c),
            Bytes::from(i.to_string()),
            QoS::AtLeastOnce,
            false,
            PublishProperties::default(),
            Instant::now(),
        );
        let seq = store
            .enqueue(
                &client(c),
                &QueuedMessage::new(message, QoS::AtLeastOnce, false, Vec::new()),
            )
            .await
            .unwrap();
        println!("@ done q {c} {i} {seq}");
        let mine = seqs.entry(c).or_default();
        mine.push(seq);
        if i % 10 == 0 && mine.len() > 2 {
            let up_to = mine[mine.len() - 3];
            println!("@ will ack {c} {up_to}");
            store.ack_queued(&client(c), up_to).await.unwrap();
            println!("@ done ack {c} {up_to}");
        }
        if i % 5 == 0 {
            println!("@ will s {c} {i}");
            let session = StoredSession {
                client_id: client(c),
                session_expiry: u32::try_from(i).unwrap(),
                subscriptions: Vec::new(),
                outbound: Vec::new(),
                shared_outbound: Vec::new(),
                inbound_qos2: Vec::new(),
                stored_outbound: Vec::new(),
                will: None,
            };
            store.save(&session).await.unwrap();
            println!("@ done s {c} {i}");
        }
        if i % 7 == 0 {
            let t = i % 2;
            println!("@ will r {t} {i}");
            let retained = RetainedMessage::new(
                topic(t),
                Bytes::from(i.to_string()),
                QoS::AtLeastOnce,
                PublishProperties::default(),
                i,
            );
            store.set_retained(&retained).await.unwrap();
            println!("@ done r {t} {i}");
        }
    }
}

/// What the parent knows of the writes: those done, and those under way when a writer died.
#[derive(Default)]
struct Oracle {
    /// Per client: sequence number -> payload, for every enqueue done and not acknowledged away.
    queued: BTreeMap<u64, BTreeMap<u64, u64>>,
    /// Per client: the highest acknowledgement done.
    acked: BTreeMap<u64, u64>,
    /// Per client: acknowledgements under way when a writer died (they may have happened).
    acks_maybe: BTreeMap<u64, Vec<u64>>,
    /// Payloads of enqueues under way when a writer died (they may be there).
    enqueued_maybe: BTreeSet<u64>,
    /// Per client and per topic: the last value done (none while the first write of it is
    /// under way), and those under way since.
    sessions: BTreeMap<u64, (Option<u64>, BTreeSet<u64>)>,
    retained: BTreeMap<u64, (Option<u64>, BTreeSet<u64>)>,
    /// Per client: the payload of every enqueue begun.
    written: BTreeMap<u64, BTreeSet<u64>>,
    next: u64,
    writes_done: u64,
}

impl Oracle {
    /// Takes in one writer's output.
    fn read(&mut self, lines: &[String]) {
        let mut under_way: Option<Vec<String>> = None;
        for line in lines {
            // The first one follows the harness's "test ... " on the same line.
            let Some(rest) = line.find("@ ").and_then(|at| line.get(at + 2..)) else {
                continue;
            };
            let words: Vec<String> = rest.split(' ').map(str::to_owned).collect();
            let n = |k: usize| -> u64 { words[k].parse().unwrap() };
            match (words[0].as_str(), words[1].as_str()) {
                ("will", kind) => {
                    if kind == "q" {
                        self.next = self.next.max(n(3) + 1);
                        self.written.entry(n(2)).or_default().insert(n(3));
                    }
                    under_way = Some(words.clone());
                }
                ("done", "q") => {
                    self.queued.entry(n(2)).or_default().insert(n(4), n(3));
                    under_way = None;
                    self.writes_done += 1;
                }
                ("done", "ack") => {
                    let (c, up_to) = (n(2), n(3));
                    let acked = self.acked.entry(c).or_default();
                    *acked = (*acked).max(up_to);
                    self.queued
                        .entry(c)
                        .or_default()
                        .retain(|seq, _| *seq > up_to);
                    under_way = None;
                    self.writes_done += 1;
                }
                ("done", "s") | ("done", "r") => {
                    let map = if words[1] == "s" {
                        &mut self.sessions
                    } else {
                        &mut self.retained
                    };
                    *map.entry(n(2)).or_default() = (Some(n(3)), BTreeSet::new());
                    under_way = None;
                    self.writes_done += 1;
                }
                other => panic!("unknown line {other:?}"),
            }
        }
        if let Some(words) = under_way {
            let n = |k: usize| -> u64 { words[k].parse().unwrap() };
            match words[1].as_str() {
                "q" => {
                    self.enqueued_maybe.insert(n(3));
                }
                "ack" => self.acks_maybe.entry(n(2)).or_default().push(n(3)),
                "s" => {
                    self.sessions.entry(n(2)).or_default().1.insert(n(3));
                }
                "r" => {
                    self.retained.entry(n(2)).or_default().1.insert(n(3));
                }
                other => panic!("unknown write {other}"),
            }
        }
    }

    /// Checks a store at batched durability, which may lose the writes of its last window
    /// (they are committed without an fsync until then): it opens undamaged, and what it
    /// holds was written, in order.
    async fn check_structure(&self, store: &DiskStore) {
        assert_eq!(store.quarantined(), 0, "damaged records after a kill");
        for c in 0..CLIENTS {
            let written = self.written.get(&c).cloned().unwrap_or_default();
            let mut last: Option<(u64, u64)> = None;
            for (seq, message) in store.queued(&client(c)).await.unwrap() {
                let payload: u64 = std::str::from_utf8(&message.message.payload)
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(
                    written.contains(&payload),
                    "client {c}: {payload} is there and was never written"
                );
                if let Some((s, p)) = last {
                    assert!(
                        seq > s && payload > p,
                        "client {c}: ({seq}, {payload}) after ({s}, {p})"
                    );
                }
                last = Some((seq, payload));
            }
        }
    }

    /// Checks the store against what was done.
    async fn check(&self, store: &DiskStore) {
        assert_eq!(store.quarantined(), 0, "damaged records after a kill");
        for c in 0..CLIENTS {
            let stored = store.queued(&client(c)).await.unwrap();
            let acked = self.acked.get(&c).copied().unwrap_or(0);
            let maybe_acked = self
                .acks_maybe
                .get(&c)
                .into_iter()
                .flatten()
                .copied()
                .max()
                .unwrap_or(0);
            let mut last: Option<(u64, u64)> = None;
            let mut found = BTreeMap::new();
            for (seq, message) in &stored {
                let payload: u64 = std::str::from_utf8(&message.message.payload)
                    .unwrap()
                    .parse()
                    .unwrap();
                // Removals are written lazily (with the client's session record, a few
                // clients' per batch, all at a checkpoint), so a crash may bring a finished
                // copy back. This writer waits for each write, so every batch holds one, and
                // a batch writes the removals of up to eight clients: with three, every
                // acknowledgement done is on disk, and none may come back.
                assert!(
                    *seq > acked,
                    "client {c}: {seq} is there after an acknowledgement up to {acked}"
                );
                if let Some((s, p)) = last {
                    assert!(
                        *seq > s && payload > p,
                        "client {c}: ({seq}, {payload}) after ({s}, {p})"
                    );
                }
                last = Some((*seq, payload));
                found.insert(*seq, payload);
            }
            let done = self.queued.get(&c).cloned().unwrap_or_default();
            for (seq, payload) in &done {
                if *seq <= maybe_acked {
                    continue;
                }
                assert_eq!(
                    found.get(seq),
                    Some(payload),
                    "client {c}: enqueue {seq} ({payload}) was done and is lost"
                );
            }
            for (seq, payload) in &found {
                assert!(
                    done.get(seq) == Some(payload) || self.enqueued_maybe.contains(payload),
                    "client {c}: ({seq}, {payload}) is there and was never written"
                );
            }
            if let Some((last, later)) = self.sessions.get(&c) {
                let expiry = store
                    .load(&client(c))
                    .await
                    .unwrap()
                    .map(|session| u64::from(session.session_expiry));
                assert!(
                    expiry == *last || expiry.is_some_and(|e| later.contains(&e)),
                    "client {c}: session {expiry:?}, last done {last:?}"
                );
            }
        }
        let retained = store.retained().await.unwrap();
        for (t, (last, later)) in &self.retained {
            let name = topic(*t);
            let payload: Option<u64> = retained
                .iter()
                .find(|r| r.topic == name)
                .map(|got| std::str::from_utf8(&got.payload).unwrap().parse().unwrap());
            assert!(
                payload == *last || payload.is_some_and(|p| later.contains(&p)),
                "topic {t}: {payload:?}, last done {last:?}"
            );
        }
    }
}

/// A small xorshift generator: the kill times, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test]
async fn a_writer_killed_at_random_points_loses_no_write_it_was_told_was_done() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let seed = std::env::var("SKEIN_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("seed {seed} (SKEIN_CRASH_SEED repeats it)");
    let mut rng = Rng(seed);
    // Every third writer runs at batched durability, on a directory of its own.
    let batched_dir = tempfile::tempdir().unwrap();
    let batched_path = batched_dir.path().to_str().unwrap().to_owned();
    let mut oracle = Oracle::default();
    let mut batched_oracle = Oracle::default();
    for kill in 0..KILLS {
        let batched = kill % 3 == 2;
        let (path, oracle) = if batched {
            (&batched_path, &mut batched_oracle)
        } else {
            (&path, &mut oracle)
        };
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--exact",
                "crash::crash_child_writer",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SKEIN_CRASH_DIR", path)
            .env("SKEIN_CRASH_START", oracle.next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if batched {
            command.env("SKEIN_CRASH_BATCHED", "1");
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (began_tx, began) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            let mut began = Some(began_tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("@ will") {
                    if let Some(began) = began.take() {
                        let _ = began.send(());
                    }
                }
                lines.push(line);
            }
            lines
        });
        // The kill lands while the writer writes, not while it opens the store: from its
        // first write on (or after a bounded wait, should it never get there).
        let _ = began.recv_timeout(Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(rng.below(60)));
        child.kill().unwrap();
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        oracle.read(&lines);
        let store = DiskStore::open(&options(path, false))
            .unwrap_or_else(|e| panic!("kill {kill}: the store does not open: {e}"));
        if batched {
            oracle.check_structure(&store).await;
        } else {
            oracle.check(&store).await;
        }
    }
    println!(
        "{KILLS} kills; sync: {} writes done, all found; batched: {} writes done",
        oracle.writes_done, batched_oracle.writes_done
    );
    assert!(
        oracle.writes_done > KILLS as u64,
        "the writer hardly wrote: {}",
        oracle.writes_done
    );
}
