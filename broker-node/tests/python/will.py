"""Will Message on a killed client, and none after a normal DISCONNECT.

Usage: will.py PORT VERSION  (VERSION: 3.1, 3.1.1 or 5)

A child process (will_client.py) connects with a Will Message and is killed with SIGKILL: its
connection closes without DISCONNECT, so the broker publishes the will (v3.1.1 MQTT-3.1.2-8,
v5 MQTT-3.1.2-8 with no Will Delay Interval). A second child sends a normal DISCONNECT first:
its will is discarded (v3.1.1 MQTT-3.14.4-3 and MQTT-3.1.2-10, v5 MQTT-3.1.2-10).
"""

import os
import select
import subprocess
import sys
import time

from mqtt_common import Client, check, main, parse_args, pump, pump_for

HERE = os.path.dirname(os.path.abspath(__file__))


def start_child(port, version, client_id, topic, payload, mode):
    child = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "will_client.py"), str(port), version, client_id,
         topic, payload, mode],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        check(remaining > 0, f"will_client {client_id} did not connect within 10 s: {line!r}")
        ready, _, _ = select.select([child.stdout], [], [], remaining)
        if ready:
            byte = os.read(child.stdout.fileno(), 1)
            if not byte:
                break
            line += byte
    check(line.strip() == b"CONNECTED", f"will_client {client_id} said {line!r}, not CONNECTED")
    return child


def scenario(argv):
    args = parse_args(argv, ["port", "version"])
    port, version = args["port"], args["version"]
    tag = "will" + version.replace(".", "")
    topic = f"it/{tag}/status"

    watcher = Client(port, version, f"{tag}-watcher")
    watcher.connect()
    watcher.subscribe(f"it/{tag}/#", 1)

    killed = start_child(port, version, f"{tag}-killed", topic, "killed-went-away", "wait")
    killed.kill()  # SIGKILL: no DISCONNECT, the socket just closes
    killed.wait(timeout=5)
    pump([watcher], lambda: watcher.messages, "the will of the killed client")
    m = watcher.messages[0]
    check((m.topic, m.payload, m.qos) == (topic, b"killed-went-away", 1),
          f"got {(m.topic, m.payload, m.qos)}, expected ({topic!r}, b'killed-went-away', 1)")

    polite = start_child(port, version, f"{tag}-polite", topic, "polite-will-must-not-appear",
                         "disconnect")
    polite.wait(timeout=10)
    check(polite.returncode == 0,
          f"will_client with a normal DISCONNECT exited {polite.returncode}")
    # A marker published after the DISCONNECT: a will published on it would arrive before it.
    marker = Client(port, version, f"{tag}-marker")
    marker.connect()
    marker.publish(f"it/{tag}/marker", b"marker", 1, others=[watcher])
    pump([watcher, marker], lambda: b"marker" in watcher.payloads(), "the marker")
    pump_for([watcher, marker], 0.3)
    check(b"polite-will-must-not-appear" not in watcher.payloads(),
          "the will of a client that sent DISCONNECT was published")
    marker.disconnect()
    watcher.disconnect()


if __name__ == "__main__":
    main(scenario)
