"""Takeover: a second connection with the same client id closes the first one.

Usage: takeover.py PORT VERSION [OTHER_PORT]  (VERSION: 3.1, 3.1.1 or 5)

With OTHER_PORT (another node of a cluster), the second connection and the publisher connect
there: the takeover crosses nodes, and the session moves with it.

The first connection is closed by the broker (v3.1.1 MQTT-3.1.4-2; v5 MQTT-3.1.4-3: with a
DISCONNECT carrying reason code 0x8E, Session taken over). Both connect with a persistent
session, so the new connection resumes it: CONNACK Session Present 1 (v3.1.1 MQTT-3.2.2-2,
v5 MQTT-3.2.2-3) and the first connection's subscription keeps delivering to the new one
(v3.1.1 MQTT-3.1.2-4, v5 MQTT-3.1.2-5).
"""

from mqtt_common import Client, check, main, parse_args, pump, pump_for

TAKEN_OVER = 0x8E


def scenario(argv):
    names = ["port", "version"] + (["other_port"] if len(argv) == 3 else [])
    args = parse_args(argv, names)
    port, version = args["port"], args["version"]
    other_port = int(args.get("other_port", port))
    tag = "take" + version.replace(".", "")
    topic = f"it/{tag}/inbox"
    client_id = f"{tag}-device"

    first = Client(port, version, client_id, clean=False, session_expiry=300)
    first.connect()
    first.subscribe(topic, 1)

    second = Client(other_port, version, client_id, clean=False, session_expiry=300)
    second.start_connect()
    pump([first, second], lambda: first.disconnects and second.connack is not None,
         "the first connection to be closed and the second one to get its CONNACK")
    # MQTT 3.1's CONNACK has no Session Present flag.
    want = (version != "3.1", 0)
    check(second.connack == want,
          f"second connection: CONNACK (session present, code) = {second.connack}, "
          f"expected {want}: the session of the first connection should be resumed")
    if version == "5":
        code = first.disconnects[0].value
        check(code == TAKEN_OVER,
              f"first connection closed with reason {code:#x}, expected 0x8E (Session taken over)")

    pub = Client(other_port, version, f"{tag}-pub")
    pub.connect()
    pub.publish(topic, b"for the new connection", 1, others=[first, second])
    pump([second, pub, first], lambda: second.messages, "a message on the inherited subscription")
    pump_for([first, second, pub], 0.2)
    check(second.payloads() == [b"for the new connection"],
          f"second connection got {second.payloads()}")
    check(first.messages == [], f"the closed first connection got {first.payloads()}")
    check(len(first.disconnects) == 1 and first.connects == 1,
          "the first client should have been disconnected exactly once")
    second.disconnect()
    pub.disconnect()


if __name__ == "__main__":
    main(scenario)
