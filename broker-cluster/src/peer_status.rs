//! [`PeerStatus`]: how far one peer has recorded this node's routes, watched by the SUBACKs
//! that wait for it ([`wait_recorded`]).

use std::time::Duration;

use tokio::sync::watch;

use crate::node_name::NodeName;

/// Where this node's route stream to a peer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamState {
    /// No stream: the peer is unreachable (or refuses this node). A SUBACK does not wait for it.
    Down,
    /// A stream is open and the peer catches up.
    CatchingUp,
    /// The peer has recorded every change up to the catch-up's end.
    InSync,
}

/// One peer's side of this node's route stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerStatus {
    /// The stream's state.
    pub(crate) state: StreamState,
    /// The last change of this node's run that the peer acknowledged.
    pub(crate) acked: u64,
}

impl PeerStatus {
    /// No stream yet.
    pub(crate) const DOWN: PeerStatus = PeerStatus {
        state: StreamState::Down,
        acked: 0,
    };
}

/// How a wait for one peer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// The peer acknowledged the change.
    Yes,
    /// The peer has no stream: not waited for.
    PeerDown,
    /// No acknowledgement within the bound.
    TimedOut,
}

/// Waits until `peer` acknowledged change `seq`, its stream went down, or `bound` passed.
/// Counts the last two in `skein_cluster_route_ack_skipped_total{peer, reason}`.
pub(crate) async fn wait_recorded(
    peer: &NodeName,
    mut status: watch::Receiver<PeerStatus>,
    seq: u64,
    bound: Duration,
) -> Recorded {
    let done = |s: &PeerStatus| s.acked >= seq || s.state == StreamState::Down;
    let outcome = match tokio::time::timeout(bound, status.wait_for(done)).await {
        Ok(Ok(now)) if now.acked >= seq => Recorded::Yes,
        Ok(_) => Recorded::PeerDown,
        Err(_) => Recorded::TimedOut,
    };
    let reason = match outcome {
        Recorded::Yes => return outcome,
        Recorded::PeerDown => "peer_down",
        Recorded::TimedOut => "timeout",
    };
    tracing::debug!(%peer, seq, reason, "A SUBACK did not wait for a peer to record its route.");
    metrics::counter!(
        "skein_cluster_route_ack_skipped_total",
        "peer" => peer.as_str().to_owned(),
        "reason" => reason
    )
    .increment(1);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> NodeName {
        NodeName::new("b").unwrap()
    }

    #[tokio::test]
    async fn a_wait_ends_at_the_acknowledgement() {
        let (tx, rx) = watch::channel(PeerStatus {
            state: StreamState::InSync,
            acked: 3,
        });
        let waiting =
            tokio::spawn(
                async move { wait_recorded(&peer(), rx, 5, Duration::from_secs(60)).await },
            );
        tx.send_replace(PeerStatus {
            state: StreamState::InSync,
            acked: 5,
        });
        assert_eq!(waiting.await.unwrap(), Recorded::Yes);
    }

    #[tokio::test]
    async fn a_peer_that_is_down_is_not_waited_for() {
        let (_tx, rx) = watch::channel(PeerStatus::DOWN);
        let outcome = wait_recorded(&peer(), rx, 1, Duration::from_secs(60)).await;
        assert_eq!(outcome, Recorded::PeerDown);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_is_waited_for_within_the_bound() {
        let (_tx, rx) = watch::channel(PeerStatus {
            state: StreamState::CatchingUp,
            acked: 0,
        });
        let outcome = wait_recorded(&peer(), rx, 1, Duration::from_secs(2)).await;
        assert_eq!(outcome, Recorded::TimedOut);
    }
}
