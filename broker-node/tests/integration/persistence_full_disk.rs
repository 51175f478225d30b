//! Issue 13, item 6: a full disk. The `skein` binary keeps its data directory on a small
//! tmpfs the test mounts, at `sync`; a persistent subscriber is offline, the tmpfs is filled to
//! ENOSPC, and QoS 1 messages for the subscriber must be refused, not acknowledged: MQTT 5
//! PUBACK 0x97 (Quota exceeded), MQTT 3.1.1 no PUBACK. The broker
//! keeps running and logs the full disk. Once the space is freed it takes messages again
//! without a restart; after a restart on the same data, the subscriber's session is there and
//! it gets exactly the messages the broker acknowledged, none it refused.
//!
//! Mounting needs root (CAP_SYS_ADMIN), as in CI; without the privilege the tests say so on
//! standard error and pass without running. The tmpfs is always unmounted (a drop guard).

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use broker_core::types::{ProtocolVersion, ReasonCode};
use rumqttc::QoS;

use crate::integration::persistence::{start, stop};
use crate::support::raw_publisher::{Answer, Publisher};
use crate::support::rumqttc_client::{publish_fields, Client};
use crate::support::{run, scratch_dir, ConfiguredSkein};

/// The tmpfs: room for the store's files (a new redb file is a few pages) and the few
/// messages written before the filler takes the rest.
const TMPFS_SIZE: &str = "8m";
/// The stored copy of a refused message spans more than one 4 KiB page, so that its write
/// cannot fit in a page the database file already holds; under rumqttc's 10 KiB limit for
/// what the subscriber receives.
const BIG: usize = 8 * 1024;
/// How long a publisher waits for an answer that must come.
const WAIT: Duration = Duration::from_secs(10);
/// How long a v3 publisher waits for a PUBACK that must not come.
const NO_ACK_WAIT: Duration = Duration::from_secs(3);
const TOPIC: &str = "it/full/a";

/// A tmpfs mounted on a scratch directory; unmounted (lazily if it is busy) and removed on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `TMPFS_SIZE`. `None`, said on standard error, when the process lacks
    /// the privilege to mount; any other failure fails the test.
    fn mount(tag: &str) -> Option<Tmpfs> {
        let dir = scratch_dir(tag);
        let mut mount = Command::new("mount");
        mount
            .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_SIZE}"), "tmpfs"])
            .arg(&dir);
        let mounted = run(mount, Duration::from_secs(20));
        if mounted.success() {
            return Some(Tmpfs { dir });
        }
        let _ = std::fs::remove_dir(&dir);
        let said = mounted.stderr.to_lowercase();
        let unprivileged = !is_root()
            || [
                "must be superuser",
                "operation not permitted",
                "permission denied",
            ]
            .iter()
            .any(|text| said.contains(text));
        assert!(
            unprivileged,
            "mount -t tmpfs failed: {}",
            mounted.describe()
        );
        eprintln!(
            "SKIPPED: this test mounts a tmpfs and needs root (CAP_SYS_ADMIN); mount said: {}",
            mounted.stderr.trim()
        );
        None
    }

    fn path(&self) -> &Path {
        &self.dir
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler")
    }

    /// Writes a filler file until the tmpfs has no room left (ENOSPC); returns its size.
    fn fill(&self) -> u64 {
        let mut file = File::create(self.filler()).expect("creating the filler file");
        let chunk = vec![0x5a_u8; 64 * 1024];
        let mut written = 0_u64;
        loop {
            match file.write(&chunk) {
                Ok(0) => panic!("the filler's write returned 0 before ENOSPC"),
                Ok(n) => written += n as u64,
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => {
                    assert_eq!(
                        error.kind(),
                        ErrorKind::StorageFull,
                        "filling the tmpfs: {error}"
                    );
                    return written;
                }
            }
            assert!(written < 64 << 20, "the tmpfs took 64 MiB without filling");
        }
    }

    /// Removes the filler file: the tmpfs has room again.
    fn free(&self) {
        std::fs::remove_file(self.filler()).expect("removing the filler file");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.dir).status();
        if !unmounted.is_ok_and(|status| status.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the process runs as root (effective uid 0, from /proc/self/status).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// A payload that names its message: `name`, a newline, padding up to `len` bytes.
fn payload(name: &str, len: usize) -> Vec<u8> {
    let mut bytes = format!("{name}\n").into_bytes();
    bytes.resize(len.max(bytes.len()), b'.');
    bytes
}

/// The name a [`payload`] carries.
fn name_of(payload: &[u8]) -> String {
    let end = payload
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(payload.len());
    String::from_utf8_lossy(&payload[..end]).into_owned()
}

/// The part both tests share: a skein at `sync` on a tmpfs, an offline persistent subscriber
/// to [`TOPIC`] (MQTT 3.1.1 clean session 0, QoS 1) and one message acknowledged for it
/// ("stored"), then the tmpfs filled. Returns the broker, its port and an MQTT 5 publisher.
async fn full_disk(disk: &Tmpfs, tag: &str) -> (ConfiguredSkein, u16, Publisher) {
    let (skein, port) = start(tag, &disk.path().join("data"), "sync");
    let (mut sub, _) = Client::connect(port, skein.log_path(), "full-sub", false).await;
    sub.subscribe("it/full/#", QoS::AtLeastOnce).await;
    sub.disconnect().await;
    let mut v5 = Publisher::connect(port, ProtocolVersion::V5, "full-pub5").await;
    let stored = v5.publish_qos1(TOPIC, payload("stored", BIG), WAIT).await;
    assert_eq!(
        stored,
        Answer::PubAck(ReasonCode::Success),
        "before the disk is full\n{}",
        skein.log_tail()
    );
    let filled = disk.fill();
    println!("filler: {filled} bytes until ENOSPC");
    (skein, port, v5)
}

/// MQTT 5: with the disk full, a QoS 1 message for a persistent session, which must be on disk
/// before its PUBACK, is refused: PUBACK 0x97 (Quota exceeded: "an implementation or
/// administrative imposed limit has been exceeded", MQTT 5.0 §3.4.2.1), never 0x00 unless it
/// was written ([MQTT-3.3.4-1] asks for a PUBACK; its reason code tells the publisher whether
/// the message was taken: once the store has reopened its database after a failed write, a
/// message may fit in room the database file already holds). The broker keeps running and its
/// log says the disk is full.
/// Once the filler is removed, the store reopens its database and messages are acknowledged
/// again, without a restart; after a restart on the same data the subscriber resumes (Session Present 1,
/// [MQTT-3.2.2-2]) and receives, in order ([MQTT-4.6.0-6]), exactly the messages
/// acknowledged to their publisher, none that was refused.
#[tokio::test]
async fn a_full_disk_refuses_v5_qos1_and_delivers_only_what_was_acknowledged() {
    let Some(disk) = Tmpfs::mount("full-disk-v5") else {
        return;
    };
    let (mut first, _, mut v5) = full_disk(&disk, "full-v5-1").await;
    let mut acknowledged = vec!["stored".to_owned()];
    // Refused, or (after the store reopened its database) taken into room the database file
    // already holds: then it was written, and counts as acknowledged. Never anything else.
    let mut refused = 0;
    for n in 0..40 {
        let name = format!("full-{n}");
        let answer = v5.publish_qos1(TOPIC, payload(&name, BIG), WAIT).await;
        println!("{name} with the disk full: {answer:?}");
        match answer {
            Answer::PubAck(ReasonCode::QuotaExceeded) => refused += 1,
            Answer::PubAck(ReasonCode::Success) if n > 0 => acknowledged.push(name),
            other => panic!("{name} with the disk full: {other:?}\n{}", first.log_tail()),
        }
        if refused == 3 {
            break;
        }
    }
    assert_eq!(refused, 3, "writes refused\n{}", first.log_tail());
    let failed = first.wait_for_log(&["The session store failed a write"]);
    println!("log: {failed}");
    assert!(
        failed.contains("disk is full") || failed.contains("No space left on device"),
        "the log does not say the disk is full: {failed}"
    );
    let refused = first.wait_for_log(&["could not take a message for persistent sessions"]);
    println!("log: {refused}");
    assert!(first.is_running(), "skein died\n{}", first.log_tail());

    // Room again: the store takes writes again, without a restart (after a failed commit it
    // reopens its database first, at most every half second). A message sent before
    // that is refused; the first one after it is acknowledged, and so is the next.
    disk.free();
    let mut taken = 0;
    for n in 0..40 {
        let name = format!("after-free-{n}");
        let answer = v5.publish_qos1(TOPIC, payload(&name, BIG), WAIT).await;
        println!("{name}, the filler removed: {answer:?}");
        match answer {
            Answer::PubAck(ReasonCode::Success) => {
                acknowledged.push(name);
                taken += 1;
                if taken == 2 {
                    break;
                }
            }
            Answer::PubAck(ReasonCode::QuotaExceeded) if taken == 0 => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("{name}: {other:?}\n{}", first.log_tail()),
        }
    }
    assert_eq!(
        taken,
        2,
        "no write taken once the disk had room\n{}",
        first.log_tail()
    );
    first.wait_for_log(&["reopened its database"]);
    assert!(first.is_running(), "skein died\n{}", first.log_tail());
    drop(v5);
    stop(&mut first, "-TERM");

    let (second, port) = start("full-v5-2", &disk.path().join("data"), "sync");
    let (mut sub, present) = Client::connect(port, second.log_path(), "full-sub", false).await;
    assert!(
        present,
        "Session Present 0 after the restart\n{}",
        second.log_tail()
    );
    let mut v5 = Publisher::connect(port, ProtocolVersion::V5, "full-pub5").await;
    let marker = v5.publish_qos1(TOPIC, payload("marker", 8), WAIT).await;
    assert_eq!(marker, Answer::PubAck(ReasonCode::Success));
    acknowledged.push("marker".to_owned());
    let mut received = Vec::new();
    while received.last().map(String::as_str) != Some("marker") {
        let (topic, bytes, qos, _) = publish_fields("full-sub", sub.next("a message").await);
        assert_eq!((topic.as_str(), qos), (TOPIC, QoS::AtLeastOnce));
        received.push(name_of(&bytes));
    }
    assert_eq!(
        received,
        acknowledged,
        "what the subscriber got after the restart\n{}",
        second.log_tail()
    );
    sub.disconnect().await;
}

/// MQTT 3.1.1 has no reason code in PUBACK: a QoS 1 message the broker cannot store must not
/// be acknowledged at all (issue 13, item 6), so that the publisher goes on treating it as
/// unacknowledged ([MQTT-4.3.2-1]) and can send it again; it may be disconnected (the broker
/// does: `Session::complete_publish` closes a 3.x connection whose message was refused).
#[tokio::test]
async fn a_full_disk_leaves_a_v3_qos1_publish_unacknowledged() {
    let Some(disk) = Tmpfs::mount("full-disk-v3") else {
        return;
    };
    let (mut first, port, mut v5) = full_disk(&disk, "full-v3-1").await;
    let mut v3 = Publisher::connect(port, ProtocolVersion::V3_1_1, "full-pub3").await;
    // A message may still fit in room the database file holds (then it is written and
    // acknowledged); the first one that does not must get no PUBACK.
    let mut answer = Answer::PubAck(ReasonCode::Success);
    for n in 0..20 {
        answer = v3
            .publish_qos1(TOPIC, payload(&format!("refused-v3-{n}"), BIG), NO_ACK_WAIT)
            .await;
        println!("v3 QoS 1 PUBLISH {n} with the disk full: {answer:?}");
        if answer != Answer::PubAck(ReasonCode::Success) {
            break;
        }
    }
    first.wait_for_log(&["could not take a message for persistent sessions"]);
    // Every message acknowledged above was taken: only the last one was refused.
    let refusals = first
        .log()
        .lines()
        .filter(|line| line.contains("could not take a message for persistent sessions"))
        .count();
    assert_eq!(refusals, 1, "{}", first.log_tail());
    assert!(first.is_running(), "skein died\n{}", first.log_tail());
    let v5_answer = v5
        .publish_qos1(TOPIC, payload("refused-v5", BIG), WAIT)
        .await;
    println!("v5 QoS 1 PUBLISH with the disk full: {v5_answer:?}");
    assert!(
        matches!(answer, Answer::Nothing | Answer::Closed),
        "a v3 publisher got {answer:?} for a message the store refused \
         (the v5 publisher got {v5_answer:?})\n{}",
        first.log_tail()
    );
}
