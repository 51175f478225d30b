//! [`DiskStore`]: the durable [`SessionStore`], on redb.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use async_trait::async_trait;
use broker_core::router::RetainedMessage;
use broker_core::session::QueuedMessage;
use broker_core::store::{
    decode_queued, decode_retained, SessionStore, StoreError, StoreWrite, StoredSession, WallClock,
    WriteOutcome,
};
use broker_core::types::{ClientId, TopicName};
use metrics::counter;
use redb::ReadableTable;
use tokio::sync::mpsc;

use crate::committer::{self, Committer, Failure, Submission, QUEUE};
use crate::database::{self, backend, Compact};
use crate::error::OpenError;
use crate::keys;
use crate::lock::DirLock;
use crate::log_record;
use crate::op::Op;
use crate::options::{Durability, StoreOptions};
use crate::record;
use crate::recover::{self, Damaged};
use crate::shared_db::{Db, SharedDb};
use crate::state_machine::{self, SeqCounter, SharedIndex, StateMachine};

/// The format of the store's keys and envelopes, written at its creation. Formats 1 and 2 were
/// sled databases (in the data directory's `sled` folder), which this store does not read.
pub const STORE_FORMAT: u32 = 3;

/// Persistent sessions, their queued messages and the retained messages, in redb, in a data
/// directory that one process at a time may open.
///
/// Every write goes through one committer thread that applies writes in the order they are
/// made, in atomic batches, and shares fsyncs between them (group commit); reads go to the
/// database directly and see every write that was answered before they started. Every value
/// carries a CRC-32: a damaged one is moved to the quarantine when it is read, logged and
/// counted (`skein_store_corrupt_records_total`), and the rest of the store is served.
pub struct DiskStore {
    pub(crate) tx: Option<mpsc::Sender<Submission>>,
    /// Held while a call's copies are numbered and submitted: numbers reach the committer in
    /// order.
    pub(crate) order: tokio::sync::Mutex<()>,
    pub(crate) seqs: SeqCounter,
    pub(crate) failure: Failure,
    committer: Option<JoinHandle<()>>,
    flusher: Option<(JoinHandle<()>, Arc<AtomicBool>)>,
    db: SharedDb,
    index: SharedIndex,
    /// Damaged records found (and quarantined) when the store opened.
    damaged_at_open: Vec<Damaged>,
    dir: PathBuf,
    durability: Durability,
    /// Dropped last: the directory is free only once the database is closed.
    _lock: DirLock,
}

impl DiskStore {
    /// Opens (or makes) the store in `options.dir`.
    ///
    /// # Errors
    ///
    /// Another process holds the directory ([`OpenError::Locked`]), it cannot be made or read,
    /// or it holds a store of another format.
    pub fn open(options: &StoreOptions) -> Result<DiskStore, OpenError> {
        let dir = options.dir.clone();
        std::fs::create_dir_all(&dir).map_err(|source| OpenError::Dir {
            dir: dir.clone(),
            source,
        })?;
        let lock = DirLock::take(&dir)?;
        let database = |source| OpenError::Database {
            dir: dir.clone(),
            source,
        };
        if dir.join(LEGACY_DATABASE).exists() && !dir.join(database::FILE).exists() {
            return Err(OpenError::Legacy { dir });
        }
        let db = database::open(options, Compact::Yes).map_err(database)?;
        check_format(&db, &dir)?;
        let (index, damaged_at_open) = recover::load_index(&db).map_err(database)?;
        if !damaged_at_open.is_empty() {
            tracing::warn!(
                records = damaged_at_open.len(),
                "The session store found damaged records as it opened; they are in its quarantine."
            );
        }
        let index: SharedIndex = Arc::new(std::sync::Mutex::new(index));
        let seqs: SeqCounter = Arc::new(AtomicU64::new(1));
        let mut machine =
            StateMachine::open(db.clone(), Arc::clone(&index), seqs.clone()).map_err(database)?;
        // Removes the log records whose copies are all finished.
        machine
            .apply(std::iter::empty(), redb::Durability::Immediate)
            .map_err(database)?;
        let failure = Failure::default();
        let db = SharedDb::new(db);
        let (tx, rx) = mpsc::channel(QUEUE);
        let unsynced = committer::Unsynced::new();
        let flusher = match options.durability {
            Durability::Sync => None,
            Durability::Batched { window } => {
                let stop = Arc::new(AtomicBool::new(false));
                let handle = committer::spawn_flusher(
                    db.clone(),
                    window,
                    Arc::clone(&unsynced),
                    Arc::clone(&stop),
                )
                .map_err(OpenError::Thread)?;
                Some((handle, stop))
            }
        };
        let worker = Committer {
            rx,
            db: db.clone(),
            options: options.clone(),
            machine: Some(machine),
            index: Arc::clone(&index),
            durability: options.durability,
            unsynced,
            seqs: seqs.clone(),
            reopen_at: Instant::now(),
            failure: failure.clone(),
        };
        let committer = std::thread::Builder::new()
            .name("skein-store".to_owned())
            .spawn(move || worker.run())
            .map_err(OpenError::Thread)?;
        Ok(DiskStore {
            tx: Some(tx),
            order: tokio::sync::Mutex::new(()),
            seqs,
            failure,
            committer: Some(committer),
            flusher,
            db,
            index,
            damaged_at_open,
            dir,
            durability: options.durability,
            _lock: lock,
        })
    }

    /// The data directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// When writes are on disk.
    #[must_use]
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// The database, unless the committer is reopening it.
    pub(crate) fn db(&self) -> Result<Db, StoreError> {
        self.db.get()
    }

    /// The table as the last commit left it, unless the committer is reopening the database.
    pub(crate) fn table(&self) -> Result<database::ReadTable, StoreError> {
        let db = self.db()?;
        database::read(&db).map_err(|e| backend("reading", e))
    }

    /// How many damaged records the quarantine holds (0 while the database is reopening).
    #[must_use]
    pub fn quarantined(&self) -> usize {
        let mut count = 0;
        let counted = self.table().ok().map(|table| {
            database::scan_prefix(&table, keys::QUARANTINE_PREFIX, |_, _| {
                count += 1;
                Ok(())
            })
        });
        if let Some(Err(error)) = counted {
            tracing::warn!(%error, "Could not count the session store's quarantine.");
        }
        count
    }

    /// One write, as [`SessionStore::write_batch`] makes it: the record-level methods are
    /// batches of one.
    async fn write_one(&self, write: StoreWrite) -> Result<WriteOutcome, StoreError> {
        self.submit_writes(vec![write])
            .await
            .pop()
            .unwrap_or_else(|| {
                Err(StoreError::Backend(
                    "the committer gave no outcome".to_owned(),
                ))
            })
    }

    /// Moves the damaged value of `key` to the quarantine (unless it has changed since it was
    /// read), and says so.
    pub(crate) fn quarantine(&self, key: &[u8], value: &[u8], reason: &str) {
        if let Some(db) = self.db.current() {
            recover::quarantine(&db, key, value, reason);
        }
    }

    /// The damaged records found when the store opened.
    pub(crate) fn damaged_at_open(&self) -> &[Damaged] {
        &self.damaged_at_open
    }

    /// The store's index of queued copies.
    pub(crate) fn index(&self) -> &SharedIndex {
        &self.index
    }

    /// Every value under `prefix`, opened; damaged ones are quarantined and left out.
    pub(crate) fn scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, bytes::Bytes)>, StoreError> {
        let mut found = Vec::new();
        let mut damaged = Vec::new();
        database::scan_prefix(&self.table()?, prefix, |key, value| {
            match record::open(value) {
                Ok(record) => found.push((key.to_vec(), record)),
                Err(reason) => damaged.push((key.to_vec(), value.to_vec(), reason)),
            }
            Ok(())
        })
        .map_err(|e| backend("reading", e))?;
        for (key, value, reason) in damaged {
            self.quarantine(&key, &value, &reason);
        }
        Ok(found)
    }

    /// The record of `key`, opened; a damaged one is quarantined and reads as missing.
    fn get(&self, key: &[u8]) -> Result<Option<bytes::Bytes>, StoreError> {
        let value = self
            .table()?
            .get(key)
            .map_err(|e| backend("reading", e))?
            .map(|v| v.value().to_vec());
        let Some(value) = value else {
            return Ok(None);
        };
        match record::open(&value) {
            Ok(record) => Ok(Some(record)),
            Err(reason) => {
                self.quarantine(key, &value, &reason);
                Ok(None)
            }
        }
    }
}

/// The folder of the sled database that stores of formats 1 and 2 kept.
const LEGACY_DATABASE: &str = "sled";

/// Writes the format of a new store, or checks an existing one's.
fn check_format(db: &redb::Database, dir: &Path) -> Result<(), OpenError> {
    let database = |source| OpenError::Database {
        dir: dir.to_path_buf(),
        source,
    };
    let found = database::read(db)
        .and_then(|table| Ok(table.get(keys::FORMAT)?.map(|v| v.value().to_vec())))
        .map_err(database)?;
    match found {
        None => {
            let write = || -> Result<(), redb::Error> {
                let txn = db.begin_write()?;
                txn.open_table(database::TABLE)?
                    .insert(keys::FORMAT, STORE_FORMAT.to_be_bytes().as_slice())?;
                txn.commit()?;
                Ok(())
            };
            write().map_err(database)
        }
        Some(v) if v == STORE_FORMAT.to_be_bytes() => Ok(()),
        Some(v) => Err(OpenError::Format {
            dir: dir.to_path_buf(),
            found: format!("{v:02x?}"),
            expected: STORE_FORMAT,
        }),
    }
}

#[async_trait]
impl SessionStore for DiskStore {
    async fn load(&self, client_id: &ClientId) -> Result<Option<StoredSession>, StoreError> {
        self.settle().await;
        let key = keys::session(client_id);
        let Some(record) = self.get(&key)? else {
            return Ok(None);
        };
        match StoredSession::decode(record.clone(), Instant::now()) {
            Ok(session) => Ok(Some(session)),
            Err(error) => {
                self.quarantine(&key, &record::seal(&record), &error.to_string());
                Ok(None)
            }
        }
    }

    async fn save(&self, session: &StoredSession) -> Result<(), StoreError> {
        self.write_one(StoreWrite::Save(session.clone()))
            .await
            .map(drop)
    }

    async fn remove(&self, client_id: &ClientId) -> Result<bool, StoreError> {
        self.write_one(StoreWrite::Remove(client_id.clone()))
            .await
            .map(|outcome| outcome == WriteOutcome::Existed(true))
    }

    async fn sessions(&self) -> Result<Vec<ClientId>, StoreError> {
        self.settle().await;
        let mut clients = Vec::new();
        database::scan_prefix(&self.table()?, keys::SESSION_PREFIX, |key, _| {
            clients.extend(keys::session_client(key));
            Ok(())
        })
        .map_err(|e| backend("reading", e))?;
        Ok(clients)
    }

    async fn enqueue(
        &self,
        client_id: &ClientId,
        message: &QueuedMessage,
    ) -> Result<u64, StoreError> {
        match self
            .write_one(StoreWrite::Enqueue(client_id.clone(), message.clone()))
            .await?
        {
            WriteOutcome::Seq(seq) => Ok(seq),
            other => Err(StoreError::Backend(format!(
                "an enqueue gave {other:?}, not a sequence number"
            ))),
        }
    }

    async fn queued(&self, client_id: &ClientId) -> Result<Vec<(u64, QueuedMessage)>, StoreError> {
        self.queued_from(client_id, 0, usize::MAX).await
    }

    async fn queued_from(
        &self,
        client_id: &ClientId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, QueuedMessage)>, StoreError> {
        self.settle().await;
        let live = state_machine::lock(&self.index).live(client_id, from, limit);
        self.read_copies(client_id, &live)
    }

    async fn queued_seqs(
        &self,
        client_id: &ClientId,
        seqs: &[u64],
    ) -> Result<Vec<(u64, QueuedMessage)>, StoreError> {
        self.settle().await;
        let live = state_machine::lock(&self.index).live_among(client_id, seqs);
        self.read_copies(client_id, &live)
    }

    async fn ack_queued(&self, client_id: &ClientId, up_to: u64) -> Result<(), StoreError> {
        self.write_one(StoreWrite::AckQueued(client_id.clone(), up_to))
            .await
            .map(drop)
    }

    async fn forget_queued(&self, client_id: &ClientId, seq: u64) -> Result<(), StoreError> {
        self.write_one(StoreWrite::Forget(client_id.clone(), vec![seq]))
            .await
            .map(drop)
    }

    fn keeps_messages(&self) -> bool {
        true
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // The committer makes a checkpoint durable at every level.
        self.submit(vec![Op::Checkpoint]).await.map(drop)
    }

    async fn set_retained(&self, message: &RetainedMessage) -> Result<(), StoreError> {
        self.write_one(StoreWrite::SetRetained(message.clone()))
            .await
            .map(drop)
    }

    async fn remove_retained(&self, topic: &TopicName) -> Result<bool, StoreError> {
        self.write_one(StoreWrite::RemoveRetained(topic.clone()))
            .await
            .map(|outcome| outcome == WriteOutcome::Existed(true))
    }

    async fn write_batch(&self, writes: Vec<StoreWrite>) -> Vec<Result<WriteOutcome, StoreError>> {
        self.submit_writes(writes).await
    }

    async fn retained(&self) -> Result<Vec<RetainedMessage>, StoreError> {
        self.settle().await;
        let mut messages = Vec::new();
        for (key, record) in self.scan(keys::RETAINED_PREFIX)? {
            match decode_retained(record.clone()) {
                Ok(message) => messages.push(message),
                Err(error) => self.quarantine(&key, &record::seal(&record), &error.to_string()),
            }
        }
        Ok(messages)
    }
}

impl Drop for DiskStore {
    fn drop(&mut self) {
        // The committer ends once its channel closes, after a last fsync; the flusher at its
        // next tick. Both are joined, so the directory's lock outlives every use.
        self.tx = None;
        if let Some(committer) = self.committer.take() {
            let _ = committer.join();
        }
        if let Some((flusher, stop)) = self.flusher.take() {
            stop.store(true, Ordering::Release);
            let _ = flusher.join();
        }
    }
}

impl fmt::Debug for DiskStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiskStore")
            .field("dir", &self.dir)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

impl DiskStore {
    /// Reads the copies `live` (number, log record) of `client_id` from their log records,
    /// in the order of their numbers. The index said they were live when it was read; a log
    /// record read below only loses copies (finished since), never moves them.
    fn read_copies(
        &self,
        client_id: &ClientId,
        live: &[(u64, u64)],
    ) -> Result<Vec<(u64, QueuedMessage)>, StoreError> {
        let clock = WallClock::now();
        let mut records: Vec<u64> = live.iter().map(|(_, record)| *record).collect();
        records.sort_unstable();
        records.dedup();
        let wanted: std::collections::HashSet<u64> = live.iter().map(|(seq, _)| *seq).collect();
        let mut queue = Vec::with_capacity(live.len());
        let table = self.table()?;
        for id in records {
            let key = keys::log(id);
            let Some(guard) = table
                .get(key.as_slice())
                .map_err(|e| backend("reading", e))?
            else {
                continue;
            };
            let value = guard.value();
            let copies = record::verify(value).and_then(|record| {
                log_record::read_client(record, client_id, |seq| wanted.contains(&seq))
            });
            let copies = match copies {
                Ok(copies) => copies,
                Err(reason) => {
                    self.quarantine(&key, value, &reason);
                    continue;
                }
            };
            for (seq, bytes) in copies {
                match decode_queued(bytes, clock) {
                    Ok(message) => queue.push((seq, message)),
                    Err(error) => {
                        counter!("skein_store_corrupt_records_total").increment(1);
                        tracing::warn!(%error, client = %client_id, seq, "A queued message in the session store does not read; it is left out.");
                    }
                }
            }
        }
        queue.sort_by_key(|(seq, _)| *seq);
        Ok(queue)
    }
}
