//! [`ForwardStream`]: the stream of forwarded batches to one peer, with a credit. The sender
//! does not wait for each batch's answer: it may have [`CREDIT`] batches unanswered, and waits
//! for an answer only when it has used them all, so a slow peer (its subscribers' queues
//! full) slows the publishers, bounded, as a slow local subscriber does, while a fast one
//! is not held up by one round trip per batch. The peer delivers the batches in order and
//! answers each in order.
//!
//! A stream that breaks (the peer went away, refused a batch) counts its unanswered batches as
//! lost (`skein_cluster_forward_dropped_total{reason="error"}`: at most once across a peer
//! failure, as docs/cluster.md says) and is opened again for the next batch.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{mpsc, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use crate::proto::cluster_client::ClusterClient;
use crate::proto::ForwardBatch;

/// Batches sent to a peer and not answered yet, at most.
pub(crate) const CREDIT: usize = 16;

/// Why a batch did not go out.
#[derive(Debug)]
pub(crate) struct StreamBroken(pub(crate) String);

/// One open stream of batches to a peer.
#[derive(Debug)]
pub(crate) struct ForwardStream {
    batches: mpsc::Sender<ForwardBatch>,
    credit: Arc<Semaphore>,
    /// The message counts of the batches sent and not answered, oldest first.
    unanswered: Arc<Mutex<VecDeque<usize>>>,
}

impl ForwardStream {
    /// Opens a stream to the peer `client` reaches; `peer` names it in metrics.
    pub(crate) async fn open(
        mut client: ClusterClient<Channel>,
        peer: String,
    ) -> Result<ForwardStream, StreamBroken> {
        let (batches, outgoing) = mpsc::channel(CREDIT);
        let mut answers = client
            .forward(ReceiverStream::new(outgoing))
            .await
            .map_err(|status| StreamBroken(status.message().to_owned()))?
            .into_inner();
        let credit = Arc::new(Semaphore::new(CREDIT));
        let unanswered: Arc<Mutex<VecDeque<usize>>> = Arc::default();
        let (reader_credit, reader_unanswered) = (Arc::clone(&credit), Arc::clone(&unanswered));
        tokio::spawn(async move {
            let forwarded =
                metrics::counter!("skein_cluster_forwarded_messages_total", "peer" => peer.clone());
            let ended = loop {
                match answers.message().await {
                    Ok(Some(_)) => {
                        let sent = lock(&reader_unanswered).pop_front().unwrap_or(0);
                        forwarded.increment(sent as u64);
                        reader_credit.add_permits(1);
                    }
                    Ok(None) => break "the peer ended the stream".to_owned(),
                    Err(status) => break status.message().to_owned(),
                }
            };
            // Whoever waits for credit learns the stream is gone; what was not answered is
            // lost.
            reader_credit.close();
            let lost: usize = lock(&reader_unanswered).drain(..).sum();
            if lost > 0 {
                tracing::warn!(%peer, lost, error = %ended, "The forward stream to a peer broke; messages in flight are lost.");
                metrics::counter!("skein_cluster_forward_dropped_total", "peer" => peer, "reason" => "error")
                    .increment(lost as u64);
            }
        });
        Ok(ForwardStream {
            batches,
            credit,
            unanswered,
        })
    }

    /// Whether the stream still carries batches.
    pub(crate) fn is_open(&self) -> bool {
        !self.credit.is_closed() && !self.batches.is_closed()
    }

    /// Sends `batch` of `count` messages once a credit is free (waiting for an answer when
    /// all are used).
    pub(crate) async fn send(&self, batch: ForwardBatch, count: usize) -> Result<(), StreamBroken> {
        let permit = self
            .credit
            .acquire()
            .await
            .map_err(|_| StreamBroken("the stream broke".to_owned()))?;
        // Given back by the answer, not by the end of this call.
        permit.forget();
        lock(&self.unanswered).push_back(count);
        if self.batches.send(batch).await.is_err() {
            // Not sent: the caller counts it (unless the broken stream's count took it).
            lock(&self.unanswered).pop_back();
            return Err(StreamBroken("the stream broke".to_owned()));
        }
        Ok(())
    }
}

fn lock(unanswered: &Mutex<VecDeque<usize>>) -> MutexGuard<'_, VecDeque<usize>> {
    unanswered.lock().unwrap_or_else(PoisonError::into_inner)
}
