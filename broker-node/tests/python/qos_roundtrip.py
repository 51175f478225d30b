"""QoS 0, 1 and 2 round trips, and the downgrade to the granted QoS.

Usage: qos_roundtrip.py PORT VERSION  (VERSION: 3.1, 3.1.1 or 5)

A subscriber granted QoS 2 receives each message at the QoS it was published with; a second
subscriber granted QoS 0 receives all of them at QoS 0 (v3.1.1 MQTT-3.8.4-6, v5 MQTT-3.8.4-8).
The publisher's flows complete (PUBACK for QoS 1, PUBREC/PUBREL/PUBCOMP for QoS 2:
MQTT-3.3.4-1, MQTT-4.3.2-*, MQTT-4.3.3-*). Payloads arrive unaltered, in order, retain 0
(v3.1.1 MQTT-3.3.1-9, v5 MQTT-3.3.1-12).
"""

from mqtt_common import Client, check, main, parse_args, pump


def scenario(argv):
    args = parse_args(argv, ["port", "version"])
    port, version = args["port"], args["version"]
    tag = "qos" + version.replace(".", "")
    topic = f"it/{tag}/data"

    high = Client(port, version, f"{tag}-sub2")
    low = Client(port, version, f"{tag}-sub0")
    pub = Client(port, version, f"{tag}-pub")
    for client in (high, low, pub):
        check(client.connect() is False, f"{client}: session present on a clean connection")
    high.subscribe(topic, 2)
    low.subscribe(topic, 0)

    sent = [(b"zero \x00\xff", 0), (b"one " + bytes(range(256)), 1), (b"two" * 1000, 2)]
    for payload, qos in sent:
        pub.publish(topic, payload, qos, others=[high, low])
    everyone = [high, low, pub]
    pump(everyone, lambda: len(high.messages) >= 3 and len(low.messages) >= 3,
         "3 messages at each subscriber")

    got = [(m.payload, m.qos, m.retain, m.topic) for m in high.messages]
    want = [(payload, qos, False, topic) for payload, qos in sent]
    check(got == want, f"QoS 2 subscriber: got {summary(got)}, expected {summary(want)}")
    got = [(m.payload, m.qos, m.retain, m.topic) for m in low.messages]
    want = [(payload, 0, False, topic) for payload, _ in sent]
    check(got == want, f"QoS 0 subscriber: got {summary(got)}, expected {summary(want)}")
    for client in everyone:
        client.disconnect()


def summary(messages):
    return [(payload[:16], qos, retain, topic) for payload, qos, retain, topic in messages]


if __name__ == "__main__":
    main(scenario)
