//! What the table holds when the process stops without a checkpoint (a crash): the removals
//! written so far, and never fewer than the contract promises (store/mod.rs in broker-core).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use broker_core::types::ClientId;
use bytes::Bytes;
use redb::Durability;

use super::{SeqCounter, StateMachine, RUNS_PER_BATCH};
use crate::database;
use crate::log_position::LogPosition;
use crate::op::{Op, Outcome};
use crate::options::StoreOptions;
use crate::recover;
use crate::shared_db::Db;

fn client(n: usize) -> ClientId {
    ClientId::new(&format!("c{n}")).unwrap()
}

fn open(db: &Db) -> StateMachine {
    let (index, damaged) = recover::load_index(db).unwrap();
    assert!(damaged.is_empty());
    let seqs: SeqCounter = Arc::new(AtomicU64::new(1));
    StateMachine::open(db.clone(), Arc::new(Mutex::new(index)), seqs).unwrap()
}

/// The live copies of `client` in the index a reopen would build from `db`.
fn live_after_crash(db: &Db, client: &ClientId) -> Vec<u64> {
    let (index, _) = recover::load_index(db).unwrap();
    index
        .live(client, 0, usize::MAX)
        .into_iter()
        .map(|(seq, _)| seq)
        .collect()
}

/// How many keys start with `prefix`.
fn count(db: &Db, prefix: &[u8]) -> usize {
    let mut count = 0;
    database::scan_prefix(&database::read(db).unwrap(), prefix, |_, _| {
        count += 1;
        Ok(())
    })
    .unwrap();
    count
}

/// Two copies for each of `clients` clients, in one batch (one log record): each client's
/// first and second copy's numbers.
fn enqueue_two(machine: &mut StateMachine, clients: usize) -> (Vec<u64>, Vec<u64>) {
    let ops: Vec<Op> = (0..2 * clients)
        .map(|k| Op::Enqueue {
            client_id: client(k % clients),
            seq: machine
                .seqs
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel),
            record: Bytes::from(format!("copy {k}")),
        })
        .collect();
    let seqs: Vec<u64> = machine
        .apply(&ops, Durability::Immediate)
        .unwrap()
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Seq(seq) => seq,
            other => panic!("{other:?}"),
        })
        .collect();
    let (first, second) = seqs.split_at(clients);
    (first.to_vec(), second.to_vec())
}

/// Client `n` forgets its copy `seqs[n]`, for every `n`.
fn forget_each(seqs: &[u64]) -> Vec<Op> {
    seqs.iter()
        .enumerate()
        .map(|(n, seq)| Op::ForgetQueued {
            client_id: client(n),
            seqs: vec![*seq],
        })
        .collect()
}

#[test]
fn removals_reach_the_disk_a_few_clients_per_batch_and_all_with_a_session_record() {
    let dir = tempfile::tempdir().unwrap();
    let tree = database::open(&StoreOptions::new(dir.path()), database::Compact::Yes).unwrap();
    let mut machine = open(&tree);
    let clients = 3 * RUNS_PER_BATCH;
    // Two copies per client, in one log record: the record stays (its second half is live),
    // so its finished copies are known only from the clients' runs.
    let (first, second) = enqueue_two(&mut machine, clients);
    machine
        .apply(&forget_each(&first), Durability::Immediate)
        .unwrap();
    // A crash now: the batch wrote the runs of RUNS_PER_BATCH clients, oldest first; the
    // others' removals are in memory only, and their copies come back (a legal duplicate).
    let back: Vec<usize> = (0..clients)
        .filter(|n| live_after_crash(&tree, &client(*n)).contains(&first[*n]))
        .collect();
    assert_eq!(back, (RUNS_PER_BATCH..clients).collect::<Vec<_>>());
    // A session record written for a lagging client carries its removals with it.
    let last = clients - 1;
    machine
        .apply(
            &[Op::SaveSession {
                client_id: client(last),
                record: b"record".to_vec(),
            }],
            Durability::Immediate,
        )
        .unwrap();
    assert_eq!(live_after_crash(&tree, &client(last)), vec![second[last]]);
    // The next batches write the rest, a few at a time.
    machine.apply(&[], Durability::Immediate).unwrap();
    for (n, seq) in second.iter().enumerate() {
        assert_eq!(live_after_crash(&tree, &client(n)), vec![*seq], "c{n}");
    }
    // Once every copy of the record is finished, the record goes, and with it the runs.
    machine
        .apply(&forget_each(&second), Durability::Immediate)
        .unwrap();
    assert_eq!(count(&tree, crate::keys::LOG_PREFIX), 0);
    assert_eq!(count(&tree, crate::keys::ACKS_PREFIX), 0);
}

#[test]
fn a_checkpoint_writes_every_removal_and_numbers_go_on_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let tree = database::open(&StoreOptions::new(dir.path()), database::Compact::Yes).unwrap();
    let mut machine = open(&tree);
    let clients = 2 * RUNS_PER_BATCH + 1;
    let (first, second) = enqueue_two(&mut machine, clients);
    let acks: Vec<Op> = (0..clients)
        .map(|n| Op::AckQueued {
            client_id: client(n),
            up_to: first[n],
        })
        .collect();
    machine.apply(&acks, Durability::Immediate).unwrap();
    machine
        .apply(&[Op::Checkpoint], Durability::Immediate)
        .unwrap();
    for (n, seq) in second.iter().enumerate() {
        assert_eq!(live_after_crash(&tree, &client(n)), vec![*seq], "c{n}");
    }
    let highest = *second.iter().max().unwrap();
    drop(machine);
    let mut again = open(&tree);
    let (next, _) = enqueue_two(&mut again, 1);
    assert!(next[0] > highest, "{next:?} after {highest}");
}

#[test]
fn copies_queued_after_the_batchs_first_copies_were_forgotten_in_the_same_batch_are_kept() {
    // At `batched` a write is answered before it is applied: a subscriber can get a copy and
    // acknowledge it before the committer takes both, with more copies, into one batch.
    let dir = tempfile::tempdir().unwrap();
    let tree = database::open(&StoreOptions::new(dir.path()), database::Compact::Yes).unwrap();
    let mut machine = open(&tree);
    let a = client(0);
    let first = machine
        .seqs
        .fetch_add(3, std::sync::atomic::Ordering::AcqRel);
    let third = first + 2;
    let enqueue = |seq: u64| Op::Enqueue {
        client_id: a.clone(),
        seq,
        record: Bytes::from(format!("copy {seq}")),
    };
    let ops = [
        enqueue(first),
        enqueue(first + 1),
        Op::ForgetQueued {
            client_id: a.clone(),
            seqs: vec![first, first + 1],
        },
        enqueue(third),
    ];
    machine.apply(&ops, Durability::Immediate).unwrap();
    assert_eq!(
        machine.index.lock().unwrap().live(&a, 0, usize::MAX),
        vec![(third, first + 3)]
    );
    assert_eq!(live_after_crash(&tree, &a), vec![third]);
    assert_eq!(count(&tree, crate::keys::LOG_PREFIX), 1);
}

#[test]
fn each_batch_that_changes_the_table_is_written_with_its_position_and_an_open_starts_an_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let tree = database::open(&StoreOptions::new(dir.path()), database::Compact::Yes).unwrap();
    let applied = |db: &Db| super::read_applied(&database::read(db).unwrap()).unwrap();
    assert_eq!(applied(&tree), LogPosition::default());
    let mut machine = open(&tree);
    enqueue_two(&mut machine, 1);
    assert_eq!(applied(&tree), LogPosition::new(1, 1));
    // A batch that changes nothing commits nothing, and takes no position.
    machine.apply(&[], Durability::Immediate).unwrap();
    assert_eq!(applied(&tree), LogPosition::new(1, 1));
    enqueue_two(&mut machine, 1);
    assert_eq!(applied(&tree), LogPosition::new(1, 2));
    drop(machine);
    // The next open numbers its batches in the next epoch, the index going on.
    let mut again = open(&tree);
    enqueue_two(&mut again, 1);
    assert_eq!(applied(&tree), LogPosition::new(2, 3));
    assert!(LogPosition::new(1, 2) < applied(&tree));
}
