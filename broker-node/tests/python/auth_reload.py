"""SIGHUP reloads the password file; connected clients stay connected.

Usage: auth_reload.py PORT VERSION DIR

The file starts with alice (alice-pw) and bob (bob-pw). alice and bob connect and subscribe;
carol is refused. Then the script pauses (DIR/reload.ready) while the Rust test adds carol and
deletes bob with mosquitto_passwd and sends SIGHUP; it goes on at DIR/reload.go:

- carol (carol-pw) connects; a new connection as bob is refused (4 / 0x86), and, refused
  before the client identifier is looked at, it does not take over the connected bob (v5:
  the takeover of [MQTT-3.1.4-3] comes after the checks of [MQTT-3.1.4-2]);
- carol's QoS 1 message reaches alice and bob, still on their first connections.
"""

from auth_common import AuthClient, pause, still_connected
from mqtt_common import check, main, pump

TOPIC = "it/reload/news"


def scenario(argv):
    check(len(argv) == 3, f"usage: PORT VERSION DIR (got {argv})")
    port, version, directory = int(argv[0]), argv[1], argv[2]
    refused = 4 if version != "5" else 0x86

    alice = AuthClient(port, version, "alice", username="alice", password="alice-pw")
    bob = AuthClient(port, version, "bob", username="bob", password="bob-pw")
    for client in (alice, bob):
        client.expect_connack(0)
        client.subscribe("it/reload/#", 1)
    AuthClient(port, version, "carol", username="carol", password="carol-pw") \
        .expect_connack(refused)

    pause([alice, bob], directory, "reload")

    carol = AuthClient(port, version, "carol", username="carol", password="carol-pw")
    carol.expect_connack(0)
    AuthClient(port, version, "bob", username="bob", password="bob-pw").expect_connack(refused)
    carol.publish(TOPIC, b"after the reload", 1, others=(alice, bob))
    pump([alice, bob, carol], lambda: alice.messages and bob.messages,
         "carol's message at alice and bob")
    for client in (alice, bob):
        check(client.received() == [(TOPIC, "after the reload")],
              f"{client} received {client.received()}")
    still_connected([alice, bob])
    for client in (alice, bob, carol):
        client.disconnect()


if __name__ == "__main__":
    main(scenario, hard_timeout=40)
