"""SIGHUP reloads the ACL file: a decision the broker has cached changes at once.

Usage: acl_reload.py PORT VERSION DIR

Same ACL file as acl_matrix.py. bob (no user block) may not publish to or subscribe to
shared/#: his SUBSCRIBE is refused and his QoS 1 publish dropped (both decisions are now
cached for 60 s). The script pauses (DIR/reload.ready) while the Rust test gives bob
`topic readwrite shared/#` and sends SIGHUP, and goes on at DIR/reload.go: on the same
connection bob's subscription is granted and his publish delivered (MQTT 5: PUBACK 0x00
instead of 0x87). admin and bob stay connected throughout.
"""

from auth_common import AuthClient, pause, still_connected
from mqtt_common import check, main, pump, pump_for

TOPIC = "shared/news"


def scenario(argv):
    check(len(argv) == 3, f"usage: PORT VERSION DIR (got {argv})")
    port, version, directory = int(argv[0]), argv[1], argv[2]
    denied_sub = 0x87 if version == "5" else 0x80
    denied_pub = 0x87 if version == "5" else 0

    admin = AuthClient(port, version, "admin", username="admin", password="admin-pw")
    bob = AuthClient(port, version, "bob-1", username="bob", password="bob-pw")
    clients = [admin, bob]
    for client in clients:
        client.expect_connack(0)
    check(admin.subscribe_codes(["#"]) == [1], "admin's subscription to # refused")

    check(bob.subscribe_codes(["shared/#"], others=clients) == [denied_sub],
          "bob's subscription to shared/# granted before the reload")
    code = bob.publish_code(TOPIC, "before", others=clients)
    check(code == denied_pub, f"bob's publish before the reload: PUBACK {code:#x}")
    # An allowed publish after it: once it arrives, the first would have arrived too.
    bob.publish_code("users/bob/out", "barrier", others=clients)
    pump(clients, lambda: admin.messages, "bob's barrier at admin")
    pump_for(clients, 0.2)
    check(admin.received() == [("users/bob/out", "barrier")],
          f"admin received {admin.received()} before the reload")

    pause(clients, directory, "reload")

    code = bob.publish_code(TOPIC, "after", others=clients)
    check(code == 0, f"bob's publish after the reload: PUBACK {code:#x}, expected 0")
    pump(clients, lambda: len(admin.messages) >= 2, "bob's publish after the reload at admin")
    check(admin.received()[1] == (TOPIC, "after"), f"admin received {admin.received()}")
    check(bob.subscribe_codes(["shared/#"], others=clients) == [1],
          "bob's subscription to shared/# refused after the reload")
    still_connected(clients)
    for client in clients:
        client.disconnect()


if __name__ == "__main__":
    main(scenario, hard_timeout=40)
