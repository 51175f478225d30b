//! A network the test makes and removes itself: one network namespace per node, each joined
//! by a veth pair to a bridge in a namespace of its own. A node's address (10.201.0.N) exists
//! only inside these namespaces; the host's network is not touched. A partition is a node's
//! link set down on the bridge side, healed by setting it up again; a slow link is `tc netem`
//! delay on both ends of a node's link.
//!
//! Making namespaces needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and `ip` (iproute2), as in CI;
//! [`Lab::new`] says why it cannot when either is missing, and the test skips with that
//! reason.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::run;

/// How long one `ip` command may take.
const IP_WAIT: Duration = Duration::from_secs(10);

/// The namespaces and links of one test.
pub(crate) struct Lab {
    /// Unique per test process and lab: `sk<pid>x<n>`.
    prefix: String,
    nodes: usize,
}

impl Lab {
    /// `nodes` namespaces joined by a bridge, or why they cannot be made here.
    pub(crate) fn new(tag: char, nodes: usize) -> Result<Lab, String> {
        let prefix = format!("sk{}{tag}", std::process::id());
        let lab = Lab { prefix, nodes };
        lab.ip_ok(&["netns", "add", &lab.bridge_ns()])
            .map_err(|error| format!("cannot make a network namespace ({error})"))?;
        let bridge = lab.bridge_ns();
        lab.ip_in(&bridge, &["link", "add", "br0", "type", "bridge"])?;
        lab.ip_in(&bridge, &["link", "set", "br0", "up"])?;
        for n in 0..nodes {
            let (ns, inner, outer) = (lab.node_ns(n), format!("n{n}"), lab.outer(n));
            lab.ip_ok(&["netns", "add", &ns])?;
            lab.ip_ok(&[
                "link", "add", &inner, "netns", &ns, "type", "veth", "peer", "name", &outer,
                "netns", &bridge,
            ])?;
            lab.ip_in(&bridge, &["link", "set", &outer, "master", "br0"])?;
            lab.ip_in(&bridge, &["link", "set", &outer, "up"])?;
            lab.ip_in(
                &ns,
                &["addr", "add", &format!("{}/24", lab.addr(n)), "dev", &inner],
            )?;
            lab.ip_in(&ns, &["link", "set", &inner, "up"])?;
            lab.ip_in(&ns, &["link", "set", "lo", "up"])?;
        }
        Ok(lab)
    }

    /// Node `n`'s namespace.
    pub(crate) fn node_ns(&self, n: usize) -> String {
        format!("{}n{n}", self.prefix)
    }

    /// Node `n`'s address, inside the lab only.
    pub(crate) fn addr(&self, n: usize) -> String {
        format!("10.201.0.{}", n + 1)
    }

    /// Cuts node `n` off from every other node.
    pub(crate) fn partition(&self, n: usize) {
        self.set_link(n, "down");
    }

    /// Joins node `n` to the others again.
    pub(crate) fn heal(&self, n: usize) {
        self.set_link(n, "up");
    }

    /// Delays every packet to and from node `n` by `ms` milliseconds (`tc netem` on its
    /// link, both directions), as a slow network would; why not, where the kernel has no
    /// netem.
    pub(crate) fn delay(&self, n: usize, ms: u32) -> Result<(), String> {
        let delay = format!("{ms}ms");
        let outer = self.outer(n);
        let inner = format!("n{n}");
        for (ns, dev) in [
            (self.bridge_ns(), outer.as_str()),
            (self.node_ns(n), inner.as_str()),
        ] {
            let args = [
                "-n", &ns, "qdisc", "replace", "dev", dev, "root", "netem", "delay", &delay,
            ];
            let mut command = Command::new("tc");
            command.args(args);
            let finished = run(command, IP_WAIT);
            if !finished.success() {
                return Err(format!("tc {}: {}", args.join(" "), finished.describe()));
            }
        }
        Ok(())
    }

    /// A command run inside node `n`'s namespace (`ip netns exec NS program`).
    pub(crate) fn command_in(&self, n: usize, program: &str) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.node_ns(n), program])
            .stdin(Stdio::null());
        command
    }

    fn set_link(&self, n: usize, state: &str) {
        let outer = self.outer(n);
        if let Err(error) = self.ip_in(&self.bridge_ns(), &["link", "set", &outer, state]) {
            panic!("setting node {n}'s link {state}: {error}");
        }
    }

    fn bridge_ns(&self) -> String {
        format!("{}br", self.prefix)
    }

    /// Node `n`'s end of its link, in the bridge's namespace.
    fn outer(&self, n: usize) -> String {
        format!("b{n}")
    }

    fn ip_in(&self, ns: &str, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["-n", ns];
        all.extend_from_slice(args);
        self.ip_ok(&all)
    }

    fn ip_ok(&self, args: &[&str]) -> Result<(), String> {
        let mut command = Command::new("ip");
        command.args(args);
        let finished = run(command, IP_WAIT);
        if finished.success() {
            Ok(())
        } else {
            Err(format!("ip {}: {}", args.join(" "), finished.describe()))
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Removing a namespace removes the links in it, and their peers with them.
        for n in 0..self.nodes {
            let _ = self.ip_ok(&["netns", "del", &self.node_ns(n)]);
        }
        let _ = self.ip_ok(&["netns", "del", &self.bridge_ns()]);
    }
}
