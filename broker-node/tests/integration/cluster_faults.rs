//! Faults between cluster nodes (issue 16, item 5), on a network the test makes: three `skein`
//! nodes, each in a network namespace of its own joined by a bridge (`support::netns`), with
//! mosquitto_sub / mosquitto_pub run inside the namespaces. A node cut off from the others
//! (its link down) or stalled (SIGSTOP) blocks no traffic between the other two, even when it
//! subscribes to the same topics; once it is back, its routes and theirs converge: messages
//! flow to and from it again, checked, not assumed. A node behind a slow link (`tc netem`)
//! holds up nobody and still gets every message, in order.
//!
//! Needs root and `ip` (iproute2), as `.ci/run` has, and the slow-link test the kernel's netem
//! queueing discipline; without them a test prints why it skips.

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::netns::Lab;
use crate::support::{require_program, run, scratch_dir, ConfiguredSkein};

/// Every node's MQTT port (on its own namespace's loopback) and cluster port (on its lab
/// address).
const MQTT_PORT: u16 = 1883;
const CLUSTER_PORT: u16 = 7400;
/// How long a message may take to cross, or routes to converge after a fault heals.
const CONVERGE: Duration = Duration::from_secs(30);

/// Node `n`'s config: its peers are the other nodes of `lab`. A SUBACK waits 500 ms at most
/// for a peer that does not acknowledge its route.
fn config(lab: &Lab, n: usize, nodes: usize) -> String {
    let peers: Vec<String> = (0..nodes)
        .filter(|&other| other != n)
        .map(|other| format!("\"n{other}={}:{CLUSTER_PORT}\"", lab.addr(other)))
        .collect();
    format!(
        "[[listener]]\nbind = \"127.0.0.1:{MQTT_PORT}\"\n\n[storage]\ndurability = \"memory\"\n\n\
         [cluster]\nenabled = true\nnode = \"n{n}\"\ncluster_id = \"faults\"\n\
         bind = \"{}:{CLUSTER_PORT}\"\npeers = [{}]\nroute_ack_timeout_ms = 500\n",
        lab.addr(n),
        peers.join(", ")
    )
}

/// A mosquitto_sub inside a node's namespace, its output in a file (`-d`: SUBACK shown).
struct Sub {
    child: Child,
    out: PathBuf,
}

impl Sub {
    /// Subscribes on node `n` to `filter` at QoS 1 and waits for the SUBACK.
    fn start(lab: &Lab, n: usize, filter: &str, dir: &std::path::Path) -> Sub {
        let out = dir.join(format!(
            "sub-{n}-{}.txt",
            filter.replace(['/', '#', '+'], "_")
        ));
        let file = File::create(&out).expect("creating the subscriber's output");
        // Line-buffered: its output goes to a file, read while it runs.
        let mut command = lab.command_in(n, "stdbuf");
        command
            .args([
                "-oL",
                "mosquitto_sub",
                "-h",
                "127.0.0.1",
                "-p",
                &MQTT_PORT.to_string(),
                "-q",
                "1",
                "-d",
            ])
            .args(["-t", filter])
            .stderr(file.try_clone().expect("cloning the output's handle"))
            .stdout(file);
        let child = command.spawn().expect("starting mosquitto_sub");
        let mut sub = Sub { child, out };
        if !sub.saw("SUBACK", Duration::from_secs(10)) {
            let status = sub.child.try_wait();
            panic!(
                "no SUBACK for {command:?} within 10 s ({status:?}); it printed:\n{}",
                sub.output()
            );
        }
        sub
    }

    fn output(&self) -> String {
        fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Whether a line of output has `text`, waiting up to `wait`.
    fn saw(&self, text: &str, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            if self.output().lines().any(|line| line.contains(text)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for(&self, text: &str, wait: Duration) {
        assert!(
            self.saw(text, wait),
            "no {text:?} within {wait:?}; mosquitto_sub printed:\n{}",
            self.output()
        );
    }
}

impl Drop for Sub {
    fn drop(&mut self) {
        // By PID (the `ip netns exec` process is mosquitto_sub itself once it runs).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes `payload` to `topic` at QoS 1 on node `n`; whether the broker took it.
fn publish(lab: &Lab, n: usize, topic: &str, payload: &str) -> bool {
    let mut command = lab.command_in(n, "mosquitto_pub");
    command.args(["-h", "127.0.0.1", "-p", &MQTT_PORT.to_string(), "-q", "1"]);
    command.args(["-t", topic, "-m", payload]);
    run(command, Duration::from_secs(10)).success()
}

/// Publishes on node `from`, again every 300 ms with a new number, until `sub` shows one of
/// them, within [`CONVERGE`]: routes that must converge after a fault get that long.
fn delivered_eventually(lab: &Lab, from: usize, topic: &str, tag: &str, sub: &Sub) -> bool {
    let deadline = Instant::now() + CONVERGE;
    for attempt in 0.. {
        let payload = format!("{tag}-{attempt}");
        let _ = publish(lab, from, topic, &payload);
        if sub.saw(tag, Duration::from_millis(300)) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
    }
    false
}

/// Sends `signal` to the process `pid` (a node this test started).
fn signal(pid: u32, signal: &str) {
    let mut kill = Command::new("kill");
    kill.args([signal, &pid.to_string()]);
    assert!(
        run(kill, Duration::from_secs(5)).success(),
        "kill {signal} {pid}"
    );
}

/// The lab, or `None` (the test skips, saying why) where namespaces cannot be made.
fn lab(tag: char) -> Option<Lab> {
    require_program("mosquitto_sub", &["--help"], "mosquitto-clients");
    match Lab::new(tag, 3) {
        Ok(lab) => Some(lab),
        Err(reason) => {
            eprintln!(
                "SKIPPED: this test makes network namespaces and needs root and iproute2: {reason}"
            );
            None
        }
    }
}

fn start_nodes(lab: &Lab) -> Vec<ConfiguredSkein> {
    let nodes: Vec<ConfiguredSkein> = (0..3)
        .map(|n| {
            ConfiguredSkein::start_command(
                &format!("faults-n{n}"),
                &config(lab, n, 3),
                lab.command_in(n, env!("CARGO_BIN_EXE_skein")),
            )
        })
        .collect();
    for node in &nodes {
        node.wait_for_lines(&["Connected to a peer node"], 2);
    }
    nodes
}

/// A partitioned node (its link down) holds up neither a SUBACK beyond the bounded wait nor
/// a message between the other two, though it subscribes to the same topics; healed, it gets
/// the others' messages again and they get its.
#[test]
fn a_partitioned_node_blocks_nobody_and_converges_when_it_returns() {
    let Some(lab) = lab('p') else { return };
    let nodes = start_nodes(&lab);
    let dir = scratch_dir("faults-partition");
    let on_2 = Sub::start(&lab, 2, "f/#", &dir);
    let before = Sub::start(&lab, 0, "f/#", &dir);
    assert!(publish(&lab, 1, "f/x", "before"));
    before.wait_for("before", Duration::from_secs(10));
    on_2.wait_for("before", Duration::from_secs(10));

    lab.partition(2);
    // A new subscription on node 0: its SUBACK comes though node 2 cannot acknowledge it.
    let during = Sub::start(&lab, 0, "g/#", &dir);
    assert!(publish(&lab, 1, "g/x", "during"));
    during.wait_for("during", Duration::from_secs(10));
    assert!(publish(&lab, 1, "f/x", "cut-off"));
    before.wait_for("cut-off", Duration::from_secs(10));

    lab.heal(2);
    // Node 0's route made while node 2 was away reaches it, and node 2's messages flow again.
    assert!(
        delivered_eventually(&lab, 2, "g/y", "healed-2to0", &during),
        "node 2's messages did not reach node 0 again\n--- n2 ---\n{}",
        nodes[2].log_tail()
    );
    assert!(
        delivered_eventually(&lab, 1, "f/z", "healed-1to2", &on_2),
        "node 1's messages did not reach node 2 again\n--- n2 ---\n{}",
        nodes[2].log_tail()
    );
    let _ = fs::remove_dir_all(&dir);
}

/// A stalled node (SIGSTOP) subscribing to the same topics does not hold up messages between
/// the other two; resumed (SIGCONT), it gets messages again.
#[test]
fn a_stalled_node_blocks_nobody_and_catches_up_when_resumed() {
    let Some(lab) = lab('s') else { return };
    let nodes = start_nodes(&lab);
    let dir = scratch_dir("faults-stall");
    let on_2 = Sub::start(&lab, 2, "s/#", &dir);
    let on_0 = Sub::start(&lab, 0, "s/#", &dir);

    signal(nodes[2].pid(), "-STOP");
    for n in 0..20 {
        let payload = format!("while-stalled-{n}");
        assert!(
            publish(&lab, 1, "s/x", &payload),
            "node 1 refused {payload}"
        );
        on_0.wait_for(&payload, Duration::from_secs(10));
    }
    signal(nodes[2].pid(), "-CONT");
    assert!(
        delivered_eventually(&lab, 1, "s/y", "resumed", &on_2),
        "node 2 got nothing after it resumed\n--- n2 ---\n{}",
        nodes[2].log_tail()
    );
    let _ = fs::remove_dir_all(&dir);
}

/// A slow link (200 ms each way to node 2, `tc netem`) holds up nothing between the other two
/// nodes, and node 2 still gets every message, in order, only later: 20 QoS 1 messages
/// published on node 1 reach subscribers on nodes 0 and 2.
#[test]
fn a_slow_node_holds_up_nobody_and_gets_every_message() {
    let Some(lab) = lab('d') else { return };
    let _nodes = start_nodes(&lab);
    let dir = scratch_dir("faults-delay");
    let on_2 = Sub::start(&lab, 2, "d/#", &dir);
    let on_0 = Sub::start(&lab, 0, "d/#", &dir);
    if let Err(reason) = lab.delay(2, 200) {
        eprintln!(
            "SKIPPED: this test slows a link with tc netem, which this kernel lacks: {reason}"
        );
        return;
    }
    for n in 0..20 {
        let payload = format!("slow-link-{n:02}");
        assert!(
            publish(&lab, 1, "d/x", &payload),
            "node 1 refused {payload}"
        );
        on_0.wait_for(&payload, Duration::from_secs(10));
    }
    on_2.wait_for("slow-link-19", CONVERGE);
    let got: Vec<String> = on_2
        .output()
        .lines()
        .filter(|line| line.starts_with("slow-link-"))
        .map(str::to_owned)
        .collect();
    let expected: Vec<String> = (0..20).map(|n| format!("slow-link-{n:02}")).collect();
    assert_eq!(got, expected, "node 2 got every message once, in order");
    let _ = fs::remove_dir_all(&dir);
}
