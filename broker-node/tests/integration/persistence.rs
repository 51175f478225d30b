//! The session store of the `skein` binary (`[storage]`, docs/persistence.md): what it keeps
//! across a SIGKILL, one process per data directory, `skein store check`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rumqttc::{Packet, QoS};

use crate::support::rumqttc_client::{publish_fields, Client};
use crate::support::{free_port, run, scratch_dir, ConfiguredSkein};

/// A skein whose sessions are kept in `data_dir`, at `durability` (its config and log stay in
/// its scratch directory).
pub(crate) fn start(tag: &str, data_dir: &Path, durability: &str) -> (ConfiguredSkein, u16) {
    let mut port = 0;
    let skein = ConfiguredSkein::start(tag, |_| {
        port = free_port();
        let config = format!(
            "[[listener]]\nbind = \"127.0.0.1:{port}\"\n[sys]\ninterval = 0\n\
             [storage]\ndurability = \"{durability}\"\ndata_dir = {:?}\n",
            data_dir.display().to_string()
        );
        (config, port)
    });
    (skein, port)
}

/// SIGKILL, and waits (bounded) until the process is gone.
pub(crate) fn kill_9(skein: &mut ConfiguredSkein) {
    stop(skein, "-KILL");
}

/// Sends `signal`, and waits (bounded) until the process is gone.
pub(crate) fn stop(skein: &mut ConfiguredSkein, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &skein.pid().to_string()])
        .status()
        .expect("running kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while skein.is_running() {
        assert!(
            Instant::now() < deadline,
            "skein outlived {signal}\n{}",
            skein.log_tail()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A persistent session (clean session 0) and a retained message, both written before the
/// broker answered (the retained message's PUBACK comes after its fsync at `sync`), are there
/// after a SIGKILL: the client resumes with Session Present 1 ([MQTT-3.2.2-2]) and its
/// subscription in force ([MQTT-3.1.2-4]), and a new subscriber gets the retained message
/// with RETAIN 1 ([MQTT-3.3.1-9]).
async fn session_and_retained_survive_kill_9(durability: &str) {
    let data = scratch_dir("persist-data");
    let (mut first, port) = start("persist-1", &data, durability);
    let (mut sub, present) = Client::connect(port, first.log_path(), "persist-sub", false).await;
    assert!(!present);
    sub.subscribe("it/persist/#", QoS::AtLeastOnce).await;
    sub.disconnect().await;
    let (mut publisher, _) = Client::connect(port, first.log_path(), "persist-pub", true).await;
    publisher
        .publish_qos1_with("it/retained", b"kept", true)
        .await;
    kill_9(&mut first);

    let (second, port) = start("persist-2", &data, durability);
    let (mut sub, present) = Client::connect(port, second.log_path(), "persist-sub", false).await;
    assert!(
        present,
        "Session Present 0 after the restart\n{}",
        second.log_tail()
    );
    let (mut publisher, _) = Client::connect(port, second.log_path(), "persist-pub", true).await;
    publisher.publish_qos1("it/persist/x", b"after").await;
    let got = publish_fields("persist-sub", sub.next("the message").await);
    assert_eq!(
        got,
        (
            "it/persist/x".to_owned(),
            b"after".to_vec(),
            QoS::AtLeastOnce,
            false
        )
    );
    let (mut reader, _) = Client::connect(port, second.log_path(), "persist-new", true).await;
    reader.subscribe("it/retained", QoS::AtLeastOnce).await;
    let got = publish_fields("persist-new", reader.next("the retained message").await);
    assert_eq!(
        got,
        (
            "it/retained".to_owned(),
            b"kept".to_vec(),
            QoS::AtLeastOnce,
            true
        )
    );
    sub.disconnect().await;
    publisher.disconnect().await;
    reader.disconnect().await;
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn sync_keeps_the_session_and_the_retained_message_across_kill_9() {
    session_and_retained_survive_kill_9("sync").await;
}

/// At `batched` a SIGTERM drains the broker and writes what the store holds to disk before
/// the process ends: nothing is lost by a stop, only by a crash within the window.
#[tokio::test]
async fn batched_keeps_the_session_and_the_retained_message_across_a_graceful_stop() {
    let data = scratch_dir("persist-batched");
    let (mut first, port) = start("persist-b1", &data, "batched");
    let (mut sub, _) = Client::connect(port, first.log_path(), "b-sub", false).await;
    sub.subscribe("it/b/#", QoS::AtLeastOnce).await;
    sub.disconnect().await;
    let (mut publisher, _) = Client::connect(port, first.log_path(), "b-pub", true).await;
    publisher
        .publish_qos1_with("it/b/retained", b"kept", true)
        .await;
    publisher.disconnect().await;
    stop(&mut first, "-TERM");
    let (second, port) = start("persist-b2", &data, "batched");
    let (sub, present) = Client::connect(port, second.log_path(), "b-sub", false).await;
    assert!(
        present,
        "Session Present 0 after the restart\n{}",
        second.log_tail()
    );
    let (mut reader, _) = Client::connect(port, second.log_path(), "b-new", true).await;
    reader.subscribe("it/b/retained", QoS::AtLeastOnce).await;
    let got = publish_fields("b-new", reader.next("the retained message").await);
    assert_eq!(got.1, b"kept".to_vec());
    sub.disconnect().await;
    reader.disconnect().await;
    let _ = std::fs::remove_dir_all(&data);
}

/// A second skein on a data directory in use exits 1 and says which process holds it; the
/// first one goes on. Once it is stopped, `skein store check` reads the store and exits 0.
#[tokio::test]
async fn a_second_skein_on_the_same_data_directory_is_refused_and_store_check_reads_it() {
    let data = scratch_dir("persist-lock");
    let (mut first, port) = start("persist-lock-1", &data, "sync");
    let (mut publisher, _) = Client::connect(port, first.log_path(), "lock-pub", true).await;
    publisher.publish_qos1_with("it/lock", b"r", true).await;
    publisher.disconnect().await;

    let mut second = Command::new(env!("CARGO_BIN_EXE_skein"));
    second
        .args([
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--data-dir",
        ])
        .arg(&data);
    let refused = run(second, Duration::from_secs(20));
    let expected = format!("is in use by another Skein (process {})", first.pid());
    assert!(
        refused.status.and_then(|s| s.code()) == Some(1) && refused.stderr.contains(&expected),
        "{}",
        refused.describe()
    );
    assert!(first.is_running());
    kill_9(&mut first);

    let mut check = Command::new(env!("CARGO_BIN_EXE_skein"));
    check.args(["store", "check", "--data-dir"]).arg(&data);
    let checked = run(check, Duration::from_secs(20));
    assert!(
        checked.success()
            && checked.stdout.contains(
                "0 session(s), 0 queued message(s), 1 retained message(s) read back whole"
            ),
        "{}",
        checked.describe()
    );
    let _ = std::fs::remove_dir_all(&data);
}

/// Issue 13: a QoS 1 or 2 message acknowledged to its publisher (PUBACK, PUBCOMP) for a
/// persistent subscriber that is offline is on disk before the acknowledgement; a SIGKILL
/// loses none of them: after the restart the subscriber resumes (Session Present 1,
/// [MQTT-3.2.2-2]) and gets every message, in order ([MQTT-4.6.0-6]), at its QoS, and once
/// it has acknowledged them the store forgets them (a clean stop and `skein store check`
/// find no queued message). There are more of them than a durable mailbox holds in memory
/// (256): the rest stay in the store, restored in pieces and read back as the client takes
/// them; without `restart`, the same broker reads them back.
async fn offline_messages_survive_kill_9(qos: QoS, restart: bool) {
    const MESSAGES: usize = 300;
    let data = scratch_dir("persist-queue");
    let (mut first, port) = start("persist-q1", &data, "sync");
    let (mut sub, _) = Client::connect(port, first.log_path(), "q-sub", false).await;
    sub.subscribe("it/q/#", qos).await;
    sub.disconnect().await;
    let (mut publisher, _) = Client::connect(port, first.log_path(), "q-pub", true).await;
    for n in 0..MESSAGES {
        let payload = format!("m{n}");
        match qos {
            QoS::ExactlyOnce => publisher.publish_qos2("it/q/a", payload.as_bytes()).await,
            _ => publisher.publish_qos1("it/q/a", payload.as_bytes()).await,
        }
    }
    let (mut second, port) = if restart {
        kill_9(&mut first);
        start("persist-q2", &data, "sync")
    } else {
        (first, port)
    };
    let (mut sub, present) = Client::connect(port, second.log_path(), "q-sub", false).await;
    assert!(
        present,
        "Session Present 0 after the restart\n{}",
        second.log_tail()
    );
    let (mut received, mut released) = (0, 0);
    let releases = if qos == QoS::ExactlyOnce { MESSAGES } else { 0 };
    while received < MESSAGES || released < releases {
        match sub.next("a stored message or a PUBREL").await {
            Packet::PubRel(_) => released += 1,
            packet => {
                let got = publish_fields("q-sub", packet);
                assert_eq!(
                    got,
                    (
                        "it/q/a".to_owned(),
                        format!("m{received}").into_bytes(),
                        qos,
                        false
                    ),
                    "message {received}\n{}",
                    second.log_tail()
                );
                received += 1;
            }
        }
    }
    // The acknowledgements (PUBACK, PUBCOMP) go before the DISCONNECT, and are read first.
    sub.disconnect().await;
    stop(&mut second, "-TERM");
    let mut check = Command::new(env!("CARGO_BIN_EXE_skein"));
    check.args(["store", "check", "--data-dir"]).arg(&data);
    let checked = run(check, Duration::from_secs(20));
    assert!(
        checked.success() && checked.stdout.contains("1 session(s), 0 queued message(s)"),
        "{}",
        checked.describe()
    );
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn qos1_messages_for_an_offline_persistent_session_survive_kill_9() {
    offline_messages_survive_kill_9(QoS::AtLeastOnce, true).await;
}

#[tokio::test]
async fn qos1_messages_beyond_the_memory_window_come_back_from_the_store_in_order() {
    offline_messages_survive_kill_9(QoS::AtLeastOnce, false).await;
}

#[tokio::test]
async fn qos2_messages_for_an_offline_persistent_session_survive_kill_9() {
    offline_messages_survive_kill_9(QoS::ExactlyOnce, true).await;
}

/// A persistent session that never went offline: its record is written before the CONNACK
/// and again before each SUBACK, so a SIGKILL while it is connected keeps it and its
/// subscriptions (Session Present 1, [MQTT-3.2.2-2]; subscriptions kept, [MQTT-3.1.2-4]):
/// messages published after the restart reach it without a new SUBSCRIBE.
#[tokio::test]
async fn an_online_persistent_session_and_its_subscriptions_survive_kill_9() {
    let data = scratch_dir("persist-online");
    let (mut first, port) = start("persist-o1", &data, "sync");
    let (mut sub, _) = Client::connect(port, first.log_path(), "o-sub", false).await;
    sub.subscribe("it/o/one", QoS::AtLeastOnce).await;
    sub.subscribe("it/o/two", QoS::ExactlyOnce).await;
    kill_9(&mut first);
    drop(sub);

    let (second, port) = start("persist-o2", &data, "sync");
    let (mut sub, present) = Client::connect(port, second.log_path(), "o-sub", false).await;
    assert!(
        present,
        "Session Present 0 after the restart\n{}",
        second.log_tail()
    );
    let (mut publisher, _) = Client::connect(port, second.log_path(), "o-pub", true).await;
    publisher.publish_qos1("it/o/one", b"1").await;
    publisher.publish_qos1("it/o/two", b"2").await;
    for (topic, payload) in [("it/o/one", b"1"), ("it/o/two", b"2")] {
        let got = publish_fields("o-sub", sub.next("a message").await);
        assert_eq!((got.0.as_str(), got.1.as_slice()), (topic, &payload[..]));
    }
    sub.disconnect().await;
    publisher.disconnect().await;
    let _ = std::fs::remove_dir_all(&data);
}

/// Issue 13, [MQTT-3.1.2-8]: a connection closed without DISCONNECT publishes the will, and a
/// SIGKILL of the broker closes every connection so. A persistent session (clean session 0)
/// connected with a will at the kill has it in its record, written before the CONNACK; the
/// restarted `skein` publishes it, and a persistent subscriber away across the kill gets it
/// once when it returns. A client that sent DISCONNECT before the kill gets no will
/// ([MQTT-3.14.4-3]: its record lost the will before the connection was closed). After a
/// second SIGKILL and restart the will is not published again ([MQTT-3.1.2-10]: a published
/// will leaves the session).
#[tokio::test]
async fn the_will_of_a_session_connected_at_a_kill_9_is_published_after_the_restart_mqtt_3_1_2_8() {
    const QUIET: Duration = Duration::from_millis(500);
    let data = scratch_dir("persist-will");
    let (mut first, port) = start("persist-w1", &data, "sync");
    let (mut watcher, _) = Client::connect(port, first.log_path(), "w-watcher", false).await;
    watcher.subscribe("it/will/#", QoS::AtLeastOnce).await;
    watcher.disconnect().await;
    let log = first.log_path().to_path_buf();
    let will = Some(("it/will/dying", &b"gone"[..]));
    let (dying, _) = Client::connect_with_will(port, &log, "w-dying", false, will).await;
    let will = Some(("it/will/polite", &b"bye"[..]));
    let (polite, _) = Client::connect_with_will(port, &log, "w-polite", false, will).await;
    polite.disconnect().await;
    // The broker has acted on the DISCONNECT (the line comes after the record's write).
    first.wait_for_log(&["Client w-polite disconnected."]);
    kill_9(&mut first);
    drop(dying);

    let (mut second, port) = start("persist-w2", &data, "sync");
    let (mut watcher, present) = Client::connect(port, second.log_path(), "w-watcher", false).await;
    assert!(
        present,
        "Session Present 0 after the restart\n{}",
        second.log_tail()
    );
    let got = publish_fields("w-watcher", watcher.next("the will").await);
    assert_eq!(
        got,
        (
            "it/will/dying".to_owned(),
            b"gone".to_vec(),
            QoS::AtLeastOnce,
            false
        ),
        "{}",
        second.log_tail()
    );
    watcher.expect_nothing(QUIET).await;
    watcher.disconnect().await;
    // Back once more: its record is written before the CONNACK, and whatever the store
    // forgot of the watcher's queue is on disk with it.
    let (watcher, _) = Client::connect(port, second.log_path(), "w-watcher", false).await;
    watcher.disconnect().await;
    kill_9(&mut second);

    let (third, port) = start("persist-w3", &data, "sync");
    let (mut watcher, present) = Client::connect(port, third.log_path(), "w-watcher", false).await;
    assert!(present);
    watcher.expect_nothing(QUIET).await;
    watcher.disconnect().await;
    let _ = std::fs::remove_dir_all(&data);
}
