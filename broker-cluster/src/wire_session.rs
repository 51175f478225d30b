//! A [`MovedSession`] to and from its wire form: the session store's own record forms
//! (versioned), so a node reads a session another node gave up as it reads its store. What
//! comes from the network is decoded as a store record is: any byte string is safe, and one
//! that is not a complete record of a known version is refused.

use std::time::Instant;

use broker_core::cluster::MovedSession;
use broker_core::codec::EncodeError;
use broker_core::store::{decode_queued, encode_queued, StoreError, StoredSession, WallClock};
use bytes::BytesMut;

use crate::proto;

/// `session`'s wire form; `now` is the clock the record's times are on.
pub(crate) fn to_wire(
    session: &MovedSession,
    now: Instant,
) -> Result<proto::MovedSession, EncodeError> {
    let mut record = BytesMut::new();
    session.session.encode(now, &mut record)?;
    let clock = WallClock::now();
    let mut queued = Vec::with_capacity(session.queued.len());
    for copy in &session.queued {
        let mut buf = BytesMut::new();
        encode_queued(copy, clock, &mut buf)?;
        queued.push(buf.freeze());
    }
    Ok(proto::MovedSession {
        record: record.freeze(),
        queued,
    })
}

/// The session a wire form holds, its times on `now`'s clock.
pub(crate) fn from_wire(
    wire: proto::MovedSession,
    now: Instant,
) -> Result<MovedSession, StoreError> {
    let session = StoredSession::decode(wire.record, now)?;
    let clock = WallClock::now();
    let queued = wire
        .queued
        .into_iter()
        .map(|record| decode_queued(record, clock))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MovedSession::new(session, queued))
}
