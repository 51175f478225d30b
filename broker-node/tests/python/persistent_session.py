"""A persistent session resumed with the messages queued while the client was away.

Usage: persistent_session.py PORT VERSION  (VERSION: 3.1, 3.1.1 or 5)

v3.1.1: CleanSession 0; v5: Clean Start 0 and Session Expiry Interval 300. The subscriber
subscribes at QoS 1 and disconnects; 3 QoS 1 messages are published; the subscriber reconnects
and gets Session Present 1 (v3.1.1 MQTT-3.2.2-2, v5 MQTT-3.2.2-3) and the 3 messages, in order
(v3.1.1 MQTT-3.1.2-4, MQTT-3.1.2-5, MQTT-4.6.0-6; v5 MQTT-3.1.2-5, MQTT-3.1.2-23,
MQTT-4.6.0-5). A clean reconnect afterwards discards the session: Session Present 0
(v3.1.1 MQTT-3.1.2-6 and MQTT-3.2.2-1, v5 MQTT-3.1.2-4 and MQTT-3.2.2-2).
"""

from mqtt_common import Client, check, main, parse_args, pump, pump_for


def scenario(argv):
    args = parse_args(argv, ["port", "version"])
    port, version = args["port"], args["version"]
    tag = "sess" + version.replace(".", "")
    topic = f"it/{tag}/queue"
    client_id = f"{tag}-sub"

    sub = Client(port, version, client_id, clean=False, session_expiry=300)
    present = sub.connect()
    check(present is False, "session present on the very first connection")
    sub.subscribe(topic, 1)
    sub.disconnect()

    pub = Client(port, version, f"{tag}-pub")
    pub.connect()
    sent = [f"queued {i}".encode() for i in range(3)]
    for payload in sent:
        pub.publish(topic, payload, 1)

    again = Client(port, version, client_id, clean=False, session_expiry=300)
    present = again.connect()
    if version != "3.1":  # MQTT 3.1's CONNACK has no Session Present flag
        check(present is True, "CONNACK Session Present 0 on resuming a persistent session")
    pump([again, pub], lambda: len(again.messages) >= 3, "the 3 queued messages")
    pump_for([again, pub], 0.2)
    got = [(m.payload, m.qos) for m in again.messages]
    check(got == [(p, 1) for p in sent], f"resumed session got {got}, expected {sent} at QoS 1")
    again.disconnect()

    clean = Client(port, version, client_id, clean=True)
    check(clean.connect() is False, "CONNACK Session Present 1 on a clean connection")
    pub.publish(topic, b"after the clean start", 1, others=[clean])
    pump_for([clean, pub], 0.3)
    check(clean.messages == [], f"the discarded session's subscription still delivered "
                                f"{clean.payloads()}")
    clean.disconnect()
    pub.disconnect()


if __name__ == "__main__":
    main(scenario)
