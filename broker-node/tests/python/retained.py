"""Retained messages: set, delivered to a later subscriber with RETAIN 1, cleared by an empty
payload.

Usage: retained.py PORT VERSION  (VERSION: 3.1, 3.1.1 or 5)

v3.1.1: MQTT-3.3.1-5 (stored), MQTT-3.3.1-6 and -8 (sent to a new subscription with RETAIN 1),
MQTT-3.3.1-9 (RETAIN 0 on an established subscription), MQTT-3.3.1-10 and -11 (an empty payload
removes it), MQTT-3.3.1-12 (RETAIN 0 publish leaves it alone).
v5: MQTT-3.3.1-5, -6, -7, -8, -9 (Retain Handling 0 sends it), -12.
"""

from mqtt_common import Client, check, main, parse_args, pump, pump_for


def scenario(argv):
    args = parse_args(argv, ["port", "version"])
    port, version = args["port"], args["version"]
    tag = "ret" + version.replace(".", "")
    topic = f"it/{tag}/state"

    pub = Client(port, version, f"{tag}-pub")
    pub.connect()
    pub.publish(topic, b"first", 1, retain=True)
    pub.publish(topic, b"second", 1, retain=True)  # replaces "first"
    pub.publish(topic, b"live, not retained", 1, retain=False)  # must not replace it

    early = Client(port, version, f"{tag}-early")
    early.connect()
    early.subscribe(topic, 1, others=[pub])
    pump([early, pub], lambda: early.messages, "the retained message at a new subscriber")
    pump_for([early, pub], 0.2)
    got = [(m.payload, m.retain) for m in early.messages]
    check(got == [(b"second", True)],
          f"new subscriber got {got}, expected [(b'second', True)] (the last retained message)")

    pub.publish(topic, b"third", 1, retain=True, others=[early])
    pump([early, pub], lambda: len(early.messages) >= 2, "a retained publish at an established "
         "subscription")
    m = early.messages[1]
    check((m.payload, m.retain) == (b"third", False),
          f"established subscription got {(m.payload, m.retain)}, expected (b'third', False)")

    pub.publish(topic, b"", 1, retain=True, others=[early])  # clears the retained message
    pump([early, pub], lambda: len(early.messages) >= 3, "the empty retained publish, forwarded")
    m = early.messages[2]
    check((m.payload, m.retain) == (b"", False),
          f"the empty retained publish reached the subscriber as {(m.payload, m.retain)}")

    late = Client(port, version, f"{tag}-late")
    late.connect()
    late.subscribe(topic, 1, others=[pub, early])
    # Anything retained would be sent before this marker, published after the SUBACK.
    pub.publish(topic, b"marker", 1, others=[late, early])
    pump([late, pub, early], lambda: b"marker" in late.payloads(), "the marker at the late "
         "subscriber")
    got = [(m.payload, m.retain) for m in late.messages]
    check(got == [(b"marker", False)],
          f"late subscriber got {got} first, expected only the marker: the retained message "
          "should have been removed by the empty payload")
    for client in (pub, early, late):
        client.disconnect()


if __name__ == "__main__":
    main(scenario)
