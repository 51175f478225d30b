//! Applies batches of [`Op`]s to the store's tree, each batch as one atomic sled batch.
//!
//! Only the committer thread applies, so the state machine may keep the last sequence number
//! in memory; it is written in the same batch as the messages that used it, so after a crash
//! the tree and the counter agree.

use std::collections::BTreeMap;
use std::ops::Bound;

use broker_core::types::ClientId;

use crate::keys;
use crate::op::{Op, Outcome};

/// The state machine over one sled tree.
#[derive(Debug)]
pub(crate) struct StateMachine {
    tree: sled::Tree,
    last_seq: u64,
}

/// The keys a batch has written so far (true) or removed (false), for the reads of later
/// operations in the same batch.
type Overlay = BTreeMap<Vec<u8>, bool>;

impl StateMachine {
    /// The state machine of `tree`, which holds what earlier batches applied.
    pub(crate) fn open(tree: sled::Tree) -> sled::Result<StateMachine> {
        let last_seq = tree
            .get(keys::LAST_SEQ)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        Ok(StateMachine { tree, last_seq })
    }

    /// Applies `ops` in order, all or nothing, and gives one outcome per operation.
    pub(crate) fn apply<'a>(
        &mut self,
        ops: impl IntoIterator<Item = &'a Op>,
    ) -> sled::Result<Vec<Outcome>> {
        let mut batch = sled::Batch::default();
        let mut overlay = Overlay::new();
        let mut seq = self.last_seq;
        let mut outcomes = Vec::new();
        for op in ops {
            let outcome = match op {
                Op::SaveSession { client_id, record } => {
                    put(&mut batch, &mut overlay, keys::session(client_id), record);
                    Outcome::Done
                }
                Op::RemoveSession { client_id } => {
                    let key = keys::session(client_id);
                    let existed = self.present(&overlay, &key)?;
                    delete(&mut batch, &mut overlay, key);
                    self.remove_queued(&mut batch, &mut overlay, client_id, u64::MAX)?;
                    Outcome::Existed(existed)
                }
                Op::Enqueue { client_id, record } => {
                    seq = seq.saturating_add(1);
                    put(
                        &mut batch,
                        &mut overlay,
                        keys::queued(client_id, seq),
                        record,
                    );
                    Outcome::Seq(seq)
                }
                Op::AckQueued { client_id, up_to } => {
                    self.remove_queued(&mut batch, &mut overlay, client_id, *up_to)?;
                    Outcome::Done
                }
                Op::ForgetQueued { client_id, seq } => {
                    delete(&mut batch, &mut overlay, keys::queued(client_id, *seq));
                    Outcome::Done
                }
                Op::SetRetained { topic, record } => {
                    put(&mut batch, &mut overlay, keys::retained(topic), record);
                    Outcome::Done
                }
                Op::RemoveRetained { topic } => {
                    let key = keys::retained(topic);
                    let existed = self.present(&overlay, &key)?;
                    delete(&mut batch, &mut overlay, key);
                    Outcome::Existed(existed)
                }
            };
            outcomes.push(outcome);
        }
        if seq != self.last_seq {
            batch.insert(keys::LAST_SEQ, &seq.to_be_bytes());
        }
        self.tree.apply_batch(batch)?;
        self.last_seq = seq;
        Ok(outcomes)
    }

    /// Whether `key` holds a value once the batch so far is applied.
    fn present(&self, overlay: &Overlay, key: &[u8]) -> sled::Result<bool> {
        match overlay.get(key) {
            Some(present) => Ok(*present),
            None => self.tree.contains_key(key),
        }
    }

    /// Removes `client_id`'s queued messages with a sequence number up to `up_to`, those
    /// stored and those the batch added.
    fn remove_queued(
        &self,
        batch: &mut sled::Batch,
        overlay: &mut Overlay,
        client_id: &ClientId,
        up_to: u64,
    ) -> sled::Result<()> {
        let first = keys::queued(client_id, 0);
        let last = keys::queued(client_id, up_to);
        let mut doomed = Vec::new();
        for key in self.tree.range(first.as_slice()..=last.as_slice()).keys() {
            doomed.push(key?.to_vec());
        }
        let added = overlay
            .range::<[u8], _>((
                Bound::Included(first.as_slice()),
                Bound::Included(last.as_slice()),
            ))
            .filter(|(_, present)| **present)
            .map(|(key, _)| key.clone());
        doomed.extend(added);
        for key in doomed {
            delete(batch, overlay, key);
        }
        Ok(())
    }
}

fn put(batch: &mut sled::Batch, overlay: &mut Overlay, key: Vec<u8>, value: &[u8]) {
    batch.insert(key.as_slice(), value);
    overlay.insert(key, true);
}

fn delete(batch: &mut sled::Batch, overlay: &mut Overlay, key: Vec<u8>) {
    batch.remove(key.as_slice());
    overlay.insert(key, false);
}
