"""Helpers for the authentication and ACL scenarios (auth_*.py, acl_*.py) run by
broker-node/tests/integration/auth_password_file.rs and auth_acl_file.rs.

- AuthClient: mqtt_common's Client with a user name and password, TLS, the CONNACK code as
  it was on the wire, and the reason code of every PUBACK.
- pause(): hands control to the Rust test (which edits a file and sends SIGHUP) while the
  connected clients keep being served.
"""

import os
import re
import ssl
import time

from mqtt_common import Client, Failure, check, pump

# paho hands an MQTT 3 CONNACK return code to on_connect converted to an MQTT 5 reason code;
# its log line "Received CONNACK (flags, rc)" has the return code as it was on the wire.
V3_CONNACK = re.compile(r"Received CONNACK \((\d+), (\d+)\)")


class AuthClient(Client):
    """A paho client with credentials (None: none sent) and optional TLS (CAFILE, CERT, KEY)."""

    def __init__(self, port, version, client_id, username=None, password=None, tls=None,
                 **kwargs):
        super().__init__(port, version, client_id, **kwargs)
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls is not None:
            cafile, certfile, keyfile = tls
            self.client.tls_set(ca_certs=cafile, certfile=certfile, keyfile=keyfile,
                                cert_reqs=ssl.CERT_REQUIRED)
        self.v3_return_code = None
        self.acks = {}  # mid -> PUBACK reason code (MQTT 5; always 0 for MQTT 3)
        self.client.on_log = self._on_log

    def _on_log(self, _client, _userdata, _level, text):
        match = V3_CONNACK.search(text)
        if match:
            self.v3_return_code = int(match.group(2))

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        super()._on_publish(client, userdata, mid, reason_code, properties)
        self.acks[mid] = reason_code.value

    def connack_code(self):
        """Connects and waits for CONNACK; returns (session present, the code on the wire:
        the MQTT 3 return code or the MQTT 5 reason code)."""
        self.start_connect()
        pump([self], lambda: self.connack is not None or self.disconnects, f"CONNACK for {self}")
        check(self.connack is not None,
              f"{self}: connection closed before CONNACK (reason {self.disconnects})")
        code = self.connack[1] if self.version == "5" else self.v3_return_code
        check(code is not None, f"{self}: no CONNACK return code in paho's log")
        return self.connack[0], code

    def expect_connack(self, expected):
        """Connects and checks the CONNACK code (0: then it is connected)."""
        session_present, code = self.connack_code()
        check(code == expected, f"{self}: CONNACK code {code:#x}, expected {expected:#x}")
        if code != 0:
            # v3.1.1 [MQTT-3.2.2-4], v5 [MQTT-3.2.2-6]: Session Present 0 with a refusal.
            check(not session_present, f"{self}: Session Present 1 with code {code:#x}")

    def subscribe_codes(self, filters, qos=1, others=()):
        """One SUBSCRIBE with every filter of `filters`; returns the SUBACK's codes, one per
        filter, in order (v3.1.1 and v5 [MQTT-3.9.3-1])."""
        result, mid = self.client.subscribe([(f, qos) for f in filters])
        check(result == 0, f"{self}: subscribe {filters} failed: {result}")
        pump([self, *others], lambda: mid in self.subacks, f"SUBACK for {filters} ({self})")
        return self.subacks[mid]

    def publish_code(self, topic, payload, qos=1, others=()):
        """Publishes at QoS 1 and waits for the PUBACK; returns its reason code."""
        info = self.client.publish(topic, payload, qos=qos)
        check(info.rc == 0, f"{self}: publish to {topic} failed: {info.rc}")
        pump([self, *others], lambda: info.mid in self.acks, f"PUBACK for {topic} ({self})")
        return self.acks[info.mid]

    def received(self):
        """(topic, payload) of every message received so far, in order."""
        return [(m.topic, m.payload.decode()) for m in self.messages]


def pause(clients, directory, step, timeout=25.0):
    """Writes DIRECTORY/STEP.ready, then serves `clients` until the Rust test writes
    DIRECTORY/STEP.go (after it changed a file and sent SIGHUP)."""
    with open(os.path.join(directory, f"{step}.ready"), "w", encoding="utf-8") as ready:
        ready.write("ready\n")
    go = os.path.join(directory, f"{step}.go")
    deadline = time.monotonic() + timeout
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout} s waiting for {go}")
        for client in clients:
            client.client.loop(timeout=0.01)


def still_connected(clients):
    """Checks that each of `clients` connected once and was never disconnected."""
    for client in clients:
        check(client.connects == 1 and not client.disconnects,
              f"{client}: connected {client.connects} time(s), disconnects {client.disconnects}")
