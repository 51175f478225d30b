//! Publishers waiting for room in a full mailbox are served in the order they came: none is
//! overtaken, a turn moves a bounded number of copies, and every slot set aside comes back.
//! The mailbox first, then its waiting line on its own.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use tokio::sync::oneshot;

use super::backlog::Backlog;
use super::mailbox::{Mailbox, TryPush};
use super::waiting::{Admission, Ticket, WaitingLine};
use crate::codec::PublishProperties;
use crate::runtime::clock::now;
use crate::session::{Message, PushOutcome, QueueLimits, QueuedMessage};
use crate::types::{QoS, TopicName};

/// Long enough that no test here sees a stall.
const STALL: Duration = Duration::from_secs(60);

fn mailbox(max_messages: usize) -> Arc<Mailbox> {
    Mailbox::new(QueueLimits {
        max_messages,
        ..QueueLimits::default()
    })
}

fn copy(n: u8) -> QueuedMessage {
    let topic = TopicName::new("sensors/1").unwrap_or_else(|e| panic!("{e}"));
    let message = Message::new(
        topic,
        Bytes::from(vec![n]),
        QoS::AtLeastOnce,
        false,
        PublishProperties::default(),
        now(),
    );
    QueuedMessage::new(message, QoS::AtLeastOnce, false, Vec::new())
}

/// Pushes as a publisher would; a copy that must wait goes to `backlog`.
fn push(mailbox: &Arc<Mailbox>, backlog: &mut Backlog, n: u8) -> bool {
    let granted = backlog.take_slot(mailbox);
    match mailbox.try_push(copy(n), now(), STALL, granted) {
        TryPush::Done(PushOutcome::Queued { .. }) => true,
        TryPush::Done(other) => panic!("not queued: {other:?}"),
        TryPush::Wait(ticket) => {
            backlog.add(Arc::clone(mailbox), ticket);
            false
        }
    }
}

/// The owner takes `count` messages; returns their payloads.
fn take(mailbox: &Arc<Mailbox>, count: usize) -> Vec<u8> {
    let mut queue = mailbox.lock();
    let mut expired = Vec::new();
    let taken: Vec<u8> = (0..count)
        .map_while(|_| queue.pop(now(), &mut expired))
        .map(|m| m.message.payload[0])
        .collect();
    queue.took(now(), mailbox);
    taken
}

async fn wait(backlog: &mut Backlog) -> usize {
    let mut placed = 0;
    backlog.wait(STALL, |_, _| placed += 1).await;
    placed
}

#[tokio::test]
async fn a_publisher_that_comes_while_others_wait_queues_behind_them_even_with_room() {
    let mailbox = mailbox(2);
    let (mut a, mut b) = (Backlog::default(), Backlog::default());
    assert!(push(&mailbox, &mut a, 0));
    assert!(push(&mailbox, &mut a, 1));
    // Full: A's next copy waits in line.
    assert!(!push(&mailbox, &mut a, 2));
    // The owner takes one message: A's copy is admitted into the room.
    assert_eq!(take(&mailbox, 1), [0]);
    assert_eq!(wait(&mut a).await, 1);
    a.end_turn();
    // The owner takes another: room for one, but B comes while nobody waits, so it pushes.
    assert_eq!(take(&mailbox, 1), [1]);
    assert!(push(&mailbox, &mut b, 10));
    // Full again: A waits first, then B; room for one more appears. B must not take it
    // past A (before the line, a publisher woken for room raced those that were running,
    // and lost to them for seconds).
    assert!(!push(&mailbox, &mut a, 3));
    assert!(!push(&mailbox, &mut b, 11));
    assert_eq!(take(&mailbox, 1), [2]);
    assert_eq!(wait(&mut a).await, 1);
    assert!(!b.is_empty(), "B still waits behind A");
    assert_eq!(take(&mailbox, 1), [10]);
    assert_eq!(wait(&mut b).await, 1);
    assert_eq!(
        take(&mailbox, 2),
        [3, 11],
        "delivered in the order they came"
    );
}

#[tokio::test]
async fn a_turn_grants_slots_that_go_past_the_line_and_come_back_when_unused() {
    let mailbox = mailbox(40);
    let (mut a, mut b, mut c) = (Backlog::default(), Backlog::default(), Backlog::default());
    for n in 0..40 {
        assert!(push(&mailbox, &mut a, n));
    }
    assert!(!push(&mailbox, &mut a, 100));
    assert!(!push(&mailbox, &mut b, 200));
    // Six slots free: A's copy is admitted with half the room left after it (2 slots),
    // B's with half of what is left then (1); one slot stays free.
    assert_eq!(take(&mailbox, 6).len(), 6);
    assert_eq!(wait(&mut a).await, 1);
    assert_eq!(wait(&mut b).await, 1);
    assert_eq!(mailbox.depth().0, 36);
    // C comes while nobody waits and takes the free slot; its next copy waits.
    assert!(push(&mailbox, &mut c, 250));
    assert!(
        !push(&mailbox, &mut c, 251),
        "the granted slots are set aside"
    );
    // A pushes two copies past C with its grant; its third waits behind C.
    let granted = (101..=110)
        .take_while(|&n| push(&mailbox, &mut a, n))
        .count();
    assert_eq!(granted, 2);
    assert!(!a.is_empty());
    // B does not use its slot and ends its turn: the slot comes back, and C, first in
    // line, gets it when the owner next looks.
    b.end_turn();
    assert_eq!(mailbox.depth().0, 39);
    assert!(take(&mailbox, 0).is_empty());
    assert_eq!(wait(&mut c).await, 1);
    assert!(!a.is_empty(), "A waits behind C");
    assert_eq!(take(&mailbox, 1).len(), 1);
    assert_eq!(wait(&mut a).await, 1);
    for backlog in [&mut a, &mut b, &mut c] {
        backlog.end_turn();
    }
    // Every slot set aside came back: the queue fills to its limit.
    assert_eq!(take(&mailbox, 10).len(), 10);
    let mut d = Backlog::default();
    while push(&mailbox, &mut d, 0) {}
    assert_eq!(mailbox.depth().0, 40);
}

#[tokio::test]
async fn copies_waiting_when_the_owner_goes_offline_are_placed_at_once() {
    let mailbox = mailbox(1);
    let mut a = Backlog::default();
    assert!(push(&mailbox, &mut a, 0));
    assert!(!push(&mailbox, &mut a, 1));
    mailbox.set_online(false);
    let mut outcomes = Vec::new();
    a.wait(STALL, |_, outcome| outcomes.push(outcome)).await;
    // The offline session's policy acts (DropNewest: the queue is full).
    assert!(matches!(outcomes.as_slice(), [PushOutcome::Dropped(_)]));
}

#[tokio::test(start_paused = true)]
async fn a_copy_waiting_for_an_owner_that_takes_nothing_meets_the_policy_after_the_stall() {
    let mailbox = mailbox(1);
    let mut a = Backlog::default();
    assert!(push(&mailbox, &mut a, 0));
    let TryPush::Wait(ticket) = mailbox.try_push(copy(1), now(), Duration::from_secs(1), false)
    else {
        panic!("the queue is full");
    };
    let admission = mailbox.wait_for_room(ticket, Duration::from_secs(1)).await;
    assert!(matches!(
        admission.map(|a| a.outcome),
        Some(PushOutcome::Dropped(_))
    ));
}

#[tokio::test]
async fn a_session_that_ends_takes_the_waiting_copies_with_its_queue() {
    let mailbox = mailbox(1);
    let mut a = Backlog::default();
    assert!(push(&mailbox, &mut a, 0));
    assert!(!push(&mailbox, &mut a, 1));
    let all: Vec<u8> = mailbox
        .take_all()
        .into_iter()
        .map(|m| m.message.payload[0])
        .collect();
    assert_eq!(all, [0, 1]);
    assert_eq!(
        wait(&mut a).await,
        0,
        "nothing placed: the copy went with the session"
    );
}

/// Every session has a mailbox for its whole life, idle or not: with the two counters of
/// its `Arc` it stays within 192 bytes, one of mimalloc's size classes. One size class up
/// (224 or 256 bytes) shares its pages with the buffers a connection frees when it parks,
/// which then cannot go back to the system: measured +280 bytes per idle connection.
#[test]
fn a_mailbox_stays_in_its_size_class() {
    let with_arc = std::mem::size_of::<Mailbox>() + 2 * std::mem::size_of::<usize>();
    assert!(with_arc <= 192, "{with_arc} bytes");
}

fn queued() -> PushOutcome {
    PushOutcome::Queued {
        evicted: Vec::new(),
    }
}

fn is_queued(admission: Result<Admission, oneshot::error::TryRecvError>) -> bool {
    matches!(
        admission,
        Ok(Admission {
            outcome: PushOutcome::Queued { .. },
            grant: None
        })
    )
}

#[test]
fn copies_are_admitted_in_the_order_they_joined() {
    let mut line = WaitingLine::default();
    let mut tickets: Vec<Ticket> = (0..3).map(|n| line.join(copy(n))).collect();
    let mut admitted = Vec::new();
    line.admit_all(|copy| {
        admitted.push(copy.message.payload[0]);
        queued()
    });
    assert_eq!(admitted, [0, 1, 2]);
    assert!(line.is_empty());
    for ticket in &mut tickets {
        assert!(is_queued(ticket.outcome.try_recv()));
    }
}

#[test]
fn a_publisher_that_leaves_takes_its_own_copy_and_keeps_the_others_in_order() {
    let mut line = WaitingLine::default();
    let _first = line.join(copy(0));
    let second = line.join(copy(1));
    let _third = line.join(copy(2));
    let left = line.leave(second.number).map(|c| c.message.payload[0]);
    assert_eq!(left, Some(1));
    assert!(line.leave(second.number).is_none());
    let rest: Vec<u8> = line.drain().map(|c| c.message.payload[0]).collect();
    assert_eq!(rest, [0, 2]);
}

#[test]
fn a_drained_line_closes_the_tickets_without_an_outcome() {
    let mut line = WaitingLine::default();
    let mut ticket = line.join(copy(0));
    assert_eq!(line.drain().count(), 1);
    assert!(matches!(
        ticket.outcome.try_recv(),
        Err(oneshot::error::TryRecvError::Closed)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_that_was_slow_and_took_messages_again_gets_the_wait_again() {
    let stall = Duration::from_secs(1);
    let mailbox = mailbox(1);
    let mut a = Backlog::default();
    assert!(push(&mailbox, &mut a, 0));
    // The owner takes nothing for the stall: a copy meets the policy (DropNewest).
    let TryPush::Wait(ticket) = mailbox.try_push(copy(1), now(), stall, false) else {
        panic!("the queue is full");
    };
    let dropped = mailbox.wait_for_room(ticket, stall).await;
    assert!(matches!(
        dropped.map(|a| a.outcome),
        Some(PushOutcome::Dropped(_))
    ));
    // Past the stall, a new copy meets the policy at once.
    assert!(matches!(
        mailbox.try_push(copy(2), now(), stall, false),
        TryPush::Done(PushOutcome::Dropped(_))
    ));
    // The owner takes its message: it keeps up again, so the next copy that meets a full
    // queue waits for room instead of being dropped.
    assert_eq!(take(&mailbox, 1), [0]);
    assert!(push(&mailbox, &mut a, 3));
    assert!(matches!(
        mailbox.try_push(copy(4), now(), stall, false),
        TryPush::Wait(_)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_copy_whose_publisher_went_away_before_its_turn_is_not_delivered() {
    let mailbox = mailbox(1);
    let (mut a, mut b) = (Backlog::default(), Backlog::default());
    assert!(push(&mailbox, &mut a, 0));
    // A's copy waits, then A's connection ends: it was never acknowledged, so A's client
    // sends it again on its next connection (a QoS 2 message placed as well would arrive
    // twice).
    assert!(!push(&mailbox, &mut a, 1));
    assert!(!push(&mailbox, &mut b, 2));
    drop(a);
    assert_eq!(take(&mailbox, 1), [0]);
    assert_eq!(wait(&mut b).await, 1, "B, behind A, gets the room");
    assert_eq!(take(&mailbox, 2), [2]);
}
