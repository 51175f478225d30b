"""Shared subscription load split: each message goes to exactly one member of the group.

Usage: shared_subscription.py PORT VERSION  (VERSION: 3.1.1 or 5; Skein parses $share/ in
every version)

Two subscribers in group g on $share/g/TOPIC (v5 §4.8.2, MQTT-4.8.2-1, MQTT-4.8.2-2), 20 QoS 1
messages: both members get some, and together they get every message exactly once; each member
gets them at the granted QoS (v5 MQTT-4.8.2-3).
"""

from mqtt_common import Client, check, main, parse_args, pump, pump_for

COUNT = 20


def scenario(argv):
    args = parse_args(argv, ["port", "version"])
    port, version = args["port"], args["version"]
    tag = "share" + version.replace(".", "")
    topic = f"it/{tag}/jobs"

    members = [Client(port, version, f"{tag}-member{i}") for i in range(2)]
    for member in members:
        member.connect()
        member.subscribe(f"$share/g/{topic}", 1)
    pub = Client(port, version, f"{tag}-pub")
    pub.connect()
    everyone = [*members, pub]
    for i in range(COUNT):
        pub.publish(topic, f"job {i}".encode(), 1, others=members)
    pump(everyone, lambda: sum(len(m.messages) for m in members) >= COUNT, f"{COUNT} messages")
    pump_for(everyone, 0.3)  # duplicates would show up now

    got = [m.payloads() for m in members]
    sent = [f"job {i}".encode() for i in range(COUNT)]
    check(all(got), f"one member got nothing: counts {[len(g) for g in got]}")
    received = sorted(got[0] + got[1], key=lambda p: int(p.split()[1]))
    check(received == sent,
          f"members got {len(got[0])} + {len(got[1])} messages, not each of the {COUNT} exactly "
          f"once: {got}")
    for member in members:
        check(all(m.qos == 1 and m.topic == topic for m in member.messages),
              f"{member}: wrong QoS or topic: {[(m.topic, m.qos) for m in member.messages]}")
    for client in everyone:
        client.disconnect()


if __name__ == "__main__":
    main(scenario)
