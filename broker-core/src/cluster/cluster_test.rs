//! The standalone link and route acknowledgements.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use super::{ClusterError, ClusterLink, NodeId, RouteAck, Standalone};
use crate::types::{ClientId, TopicFilter};

/// Polls `future` once, with a waker that does nothing.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    pin!(future).poll(&mut cx)
}

#[test]
fn a_done_ack_is_ready_at_once() {
    let ack = RouteAck::done();
    assert!(ack.is_done());
    assert_eq!(poll_once(ack), Poll::Ready(Ok(())));
}

#[test]
fn a_pending_ack_gives_what_it_waits_on() {
    let ack = RouteAck::pending(async { Err(ClusterError::NoQuorum) });
    assert!(!ack.is_done());
    assert_eq!(poll_once(ack), Poll::Ready(Err(ClusterError::NoQuorum)));
}

#[test]
fn a_pending_ack_waits() {
    let ack = RouteAck::pending(std::future::pending());
    assert_eq!(poll_once(ack), Poll::Pending);
}

#[test]
fn a_standalone_node_has_no_peers_and_owes_no_route() {
    let link = Standalone::new(NodeId::new(7));
    assert_eq!(link.node(), NodeId::new(7));
    assert!(!link.has_peers());
    let filter = TopicFilter::new("a/#").unwrap();
    assert!(link.route_added(&filter).is_done());
    let client = ClientId::new("c").unwrap();
    assert_eq!(poll_once(link.take_over(&client)), Poll::Ready(Ok(None)));
    match poll_once(link.forward(NodeId::new(8), &[])) {
        Poll::Ready(Err(ClusterError::PeerUnreachable { peer, .. })) => {
            assert_eq!(peer, NodeId::new(8));
        }
        other => panic!("forwarded with no peers: {other:?}"),
    }
}

#[test]
fn a_node_id_shows_as_sixteen_hex_digits() {
    assert_eq!(NodeId::new(0xbeef).to_string(), "000000000000beef");
    assert_eq!(Standalone::default().node(), NodeId::new(0));
}
