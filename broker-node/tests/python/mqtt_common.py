"""Shared helpers for the paho-mqtt scenario scripts run by
broker-node/tests/integration/clients_paho.rs.

Each scenario script takes the broker's port (and usually a protocol version: 3.1, 3.1.1 or 5)
on its command line, does one scenario against a running broker on 127.0.0.1 and exits 0 when
every check held. A failed check prints what was expected and what was seen, then exits 1.
Every script arms a hard timeout (SIGALRM) so it can never hang the test run.

Clients are driven by hand (`client.loop()` in bounded loops, no background thread) so that
paho never reconnects behind the test's back and every wait has a deadline.
"""

import os
import signal
import sys
import time

try:
    import paho.mqtt
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
except ImportError as error:  # the Rust side checks first; this is the fallback message
    print(f"FAIL: paho-mqtt is not installed ({error}); .ci/run installs it", flush=True)
    sys.exit(2)

HOST = "127.0.0.1"
PROTOCOLS = {"3.1": mqtt.MQTTv31, "3.1.1": mqtt.MQTTv311, "5": mqtt.MQTTv5}
# How long one wait may take; the broker runs on the same machine, so this is generous.
WAIT = 5.0


class Failure(Exception):
    """A check that did not hold."""


def check(condition, message):
    """Fails the scenario with `message` unless `condition` holds."""
    if not condition:
        raise Failure(message)


def main(scenario, hard_timeout=30):
    """Runs `scenario(args)` under a hard timeout; exit code 0 = pass, 1 = a check failed."""

    def on_alarm(_signum, _frame):
        print(f"FAIL: hard timeout of {hard_timeout} s reached", flush=True)
        os._exit(3)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(hard_timeout)
    check_paho_version()
    try:
        scenario(sys.argv[1:])
    except Failure as failure:
        print(f"FAIL: {failure}", flush=True)
        sys.exit(1)
    print("PASS", flush=True)
    sys.exit(0)


def check_paho_version():
    """The scripts use paho's 2.x callback API."""
    version = paho.mqtt.__version__
    if not version.startswith("2."):
        print(f"FAIL: paho-mqtt 2.x required, found {version}; .ci/run installs it", flush=True)
        sys.exit(2)


def parse_args(args, names):
    """Parses positional arguments: the first is always the port."""
    check(len(args) == len(names), f"usage: {' '.join(names)} (got {args})")
    values = dict(zip(names, args))
    values["port"] = int(values["port"])
    if "version" in values:
        check(values["version"] in PROTOCOLS, f"unknown protocol version {values['version']}")
    return values


def props(packet_type, **fields):
    """Builds MQTT 5 properties, e.g. props(PacketTypes.CONNECT, SessionExpiryInterval=60)."""
    properties = Properties(packet_type)
    for name, value in fields.items():
        setattr(properties, name, value)
    return properties


class Client:
    """A paho client with its events recorded, driven by `pump`."""

    def __init__(self, port, version, client_id, clean=True, session_expiry=None, keepalive=30,
                 will=None):
        self.port = port
        self.version = version
        self.client_id = client_id
        self.clean = clean
        self.session_expiry = session_expiry
        self.keepalive = keepalive
        self.connack = None  # (session_present, reason code value)
        self.connects = 0
        self.disconnects = []  # reason codes (paho ReasonCode)
        self.messages = []  # paho MQTTMessage
        self.subacks = {}  # mid -> [granted QoS or reason code values]
        self.unsubacks = set()
        self.completed = set()  # mids of QoS 0 sent / QoS 1 PUBACKed / QoS 2 PUBCOMPed publishes
        protocol = PROTOCOLS[version]
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=None if version == "5" else clean,
            protocol=protocol,
            reconnect_on_failure=False,
        )
        if will is not None:
            topic, payload, qos, retain = will
            self.client.will_set(topic, payload, qos=qos, retain=retain)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_unsubscribe = self._on_unsubscribe
        self.client.on_publish = self._on_publish

    def __repr__(self):
        return f"client {self.client_id!r} (MQTT {self.version})"

    # --- callbacks -------------------------------------------------------------------------
    def _on_connect(self, _client, _userdata, flags, reason_code, _properties):
        self.connects += 1
        self.connack = (bool(flags.session_present), reason_code.value)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties):
        self.disconnects.append(reason_code)

    def _on_message(self, _client, _userdata, message):
        self.messages.append(message)

    def _on_subscribe(self, _client, _userdata, mid, reason_codes, _properties):
        self.subacks[mid] = [code.value for code in reason_codes]

    def _on_unsubscribe(self, _client, _userdata, mid, _reason_codes, _properties):
        self.unsubacks.add(mid)

    def _on_publish(self, _client, _userdata, mid, _reason_code, _properties):
        self.completed.add(mid)

    # --- actions ---------------------------------------------------------------------------
    def start_connect(self, properties=None):
        """Opens the TCP connection and sends CONNECT; `connect()` also waits for CONNACK."""
        kwargs = {}
        if self.version == "5":
            kwargs["clean_start"] = self.clean
            if self.session_expiry is not None:
                properties = properties or props(PacketTypes.CONNECT)
                properties.SessionExpiryInterval = self.session_expiry
            kwargs["properties"] = properties
        self.client.connect(HOST, self.port, keepalive=self.keepalive, **kwargs)

    def connect(self, properties=None):
        """Connects and waits for a successful CONNACK; returns its session present flag."""
        self.start_connect(properties)
        pump([self], lambda: self.connack is not None or self.disconnects, f"CONNACK for {self}")
        check(self.connack is not None, f"{self}: connection closed before CONNACK "
                                        f"(reason {self.disconnects})")
        check(self.connack[1] == 0, f"{self}: CONNACK reason {self.connack[1]:#x}, expected 0")
        return self.connack[0]

    def subscribe(self, topic, qos, others=(), expect_granted=None, options=None, properties=None):
        """Subscribes and waits for the SUBACK; checks the granted QoS (default: `qos`)."""
        if options is not None:
            result, mid = self.client.subscribe(topic, options=options, properties=properties)
        else:
            result, mid = self.client.subscribe(topic, qos, properties=properties)
        check(result == mqtt.MQTT_ERR_SUCCESS, f"{self}: subscribe to {topic} failed: {result}")
        pump([self, *others], lambda: mid in self.subacks, f"SUBACK for {topic} ({self})")
        granted = qos if expect_granted is None else expect_granted
        check(self.subacks[mid] == [granted],
              f"{self}: SUBACK for {topic} carried {self.subacks[mid]}, expected [{granted}]")

    def publish(self, topic, payload, qos, retain=False, properties=None, others=()):
        """Publishes and waits until the QoS flow completes (PUBACK / PUBCOMP)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        check(info.rc == mqtt.MQTT_ERR_SUCCESS, f"{self}: publish to {topic} failed: {info.rc}")
        pump([self, *others], lambda: info.mid in self.completed,
             f"QoS {qos} publish flow to {topic} to complete ({self})")

    def disconnect(self):
        """Sends DISCONNECT (normal) and closes the connection."""
        self.client.disconnect()
        pump([self], lambda: self.disconnects, f"{self} to disconnect")

    def payloads(self, topic=None):
        """The payloads received so far (on `topic` if given), in order."""
        return [m.payload for m in self.messages if topic is None or m.topic == topic]


def pump(clients, done, what, timeout=WAIT):
    """Runs the clients' network loops until `done()` holds; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout} s waiting for {what}")
        for client in clients:
            client.client.loop(timeout=0.01)


def pump_for(clients, seconds):
    """Runs the clients' network loops for a fixed short time (to see that nothing else comes)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for client in clients:
            client.client.loop(timeout=0.01)
