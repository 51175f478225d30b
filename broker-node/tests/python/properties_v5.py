"""MQTT 5 properties passed through from publisher to subscriber.

Usage: properties_v5.py PORT

User properties unaltered and in order (MQTT-3.3.2-17, MQTT-3.3.2-18), Response Topic
(MQTT-3.3.2-15), Correlation Data (MQTT-3.3.2-16), Content Type (MQTT-3.3.2-20), Payload Format
Indicator (MQTT-3.3.2-4) unaltered; Message Expiry Interval forwarded as the received value
minus the time waited, so never more than was sent (MQTT-3.3.2-6). Also for a message that
waited in an offline session's queue.
"""

from mqtt_common import Client, PacketTypes, check, main, parse_args, props, pump

EXPIRY = 120


def publish_properties():
    properties = props(
        PacketTypes.PUBLISH,
        ResponseTopic="it/props/reply/42",
        CorrelationData=b"\x00corr\xff",
        ContentType="application/json; charset=utf-8",
        PayloadFormatIndicator=1,
        MessageExpiryInterval=EXPIRY,
    )
    properties.UserProperty = [("b-key", "1"), ("a-key", "2"), ("b-key", "3"), ("ünï", "çødé")]
    return properties


def check_properties(message, what):
    p = message.properties
    check(p is not None, f"{what}: no properties at all")
    got_user = list(getattr(p, "UserProperty", []))
    want_user = [("b-key", "1"), ("a-key", "2"), ("b-key", "3"), ("ünï", "çødé")]
    check(got_user == want_user, f"{what}: user properties {got_user}, expected {want_user}")
    for name, want in [("ResponseTopic", "it/props/reply/42"), ("CorrelationData", b"\x00corr\xff"),
                       ("ContentType", "application/json; charset=utf-8"),
                       ("PayloadFormatIndicator", 1)]:
        got = getattr(p, name, None)
        check(got == want, f"{what}: {name} = {got!r}, expected {want!r}")
    expiry = getattr(p, "MessageExpiryInterval", None)
    check(expiry is not None and 0 < expiry <= EXPIRY,
          f"{what}: Message Expiry Interval {expiry!r}, expected 1..={EXPIRY}")


def scenario(argv):
    port = parse_args(argv, ["port"])["port"]
    topic = "it/props/request"
    live = Client(port, "5", "props-live")
    live.connect()
    live.subscribe(topic, 1)
    offline = Client(port, "5", "props-offline", clean=False, session_expiry=300)
    offline.connect()
    offline.subscribe(topic, 1)
    offline.disconnect()

    pub = Client(port, "5", "props-pub")
    pub.connect()
    payload = '{"temperature": 21.5}'.encode()
    pub.publish(topic, payload, 1, properties=publish_properties(), others=[live])
    pump([live, pub], lambda: live.messages, "the message with properties")
    check(live.messages[0].payload == payload, f"payload {live.messages[0].payload!r}")
    check_properties(live.messages[0], "live subscriber")

    resumed = Client(port, "5", "props-offline", clean=False, session_expiry=300)
    check(resumed.connect() is True, "offline session not resumed")
    pump([resumed, pub], lambda: resumed.messages, "the queued message with properties")
    check_properties(resumed.messages[0], "queued for an offline session")
    for client in (live, resumed, pub):
        client.disconnect()


if __name__ == "__main__":
    main(scenario)
