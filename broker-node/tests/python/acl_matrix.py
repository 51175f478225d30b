"""The ACL file through paho-mqtt: who may subscribe to what, whose publishes are delivered.

Usage: acl_matrix.py PORT VERSION

The broker runs with this ACL file (auth_acl_file.rs writes it), users admin, alice and bob
in its password file, and allow_anonymous true:

    topic read public/#                 (anonymous clients)
    user admin
    topic readwrite #
    user alice
    topic readwrite alice/#
    topic read public/#
    topic deny alice/secret/#
    pattern readwrite clients/%c/#      (every client)
    pattern write users/%u/out

Clients: admin (subscribes to #: it sees every publish the broker lets through), alice (client
id alice-1), bob (bob-1, no user block: patterns only) and an anonymous client (anon-1).

Subscriptions: a denied filter gets SUBACK 0x80 in MQTT 3.1.1 ([MQTT-3.9.3-2] allows it) and
0x87 Not authorized in MQTT 5, each filter its own code in order ([MQTT-3.9.3-1]).
Publishes (QoS 1): a denied one is not delivered to anyone; MQTT 5 publishers get PUBACK 0x87
([MQTT-3.4.2-1] lists it), MQTT 3.1.1 publishers a plain PUBACK (as Mosquitto does).
"""

from auth_common import AuthClient, still_connected
from mqtt_common import check, main, pump, pump_for

GRANTED = 1


def scenario(argv):
    check(len(argv) == 2, f"usage: PORT VERSION (got {argv})")
    port, version = int(argv[0]), argv[1]
    denied_sub = 0x87 if version == "5" else 0x80
    denied_pub = 0x87 if version == "5" else 0

    admin = AuthClient(port, version, "admin", username="admin", password="admin-pw")
    alice = AuthClient(port, version, "alice-1", username="alice", password="alice-pw")
    bob = AuthClient(port, version, "bob-1", username="bob", password="bob-pw")
    anon = AuthClient(port, version, "anon-1")
    clients = [admin, alice, bob, anon]
    for client in clients:
        client.expect_connack(0)

    subscriptions = [
        (admin, [("#", GRANTED)]),
        (alice, [
            ("alice/inbox/#", GRANTED),            # topic readwrite alice/#
            ("public/#", GRANTED),                 # topic read public/#
            ("clients/alice-1/#", GRANTED),        # pattern clients/%c/#
            ("alice/secret/#", denied_sub),        # topic deny alice/secret/#
            ("alice/#", denied_sub),               # overlaps the deny line
            ("bob/#", denied_sub),                 # nothing grants it
            ("#", denied_sub),                     # wider than alice's rights
        ]),
        (bob, [
            ("clients/bob-1/#", GRANTED),          # pattern clients/%c/#, c = bob-1
            ("users/bob/out", denied_sub),         # pattern write users/%u/out: write only
            ("clients/alice-1/#", denied_sub),     # another client's %c
            ("public/#", denied_sub),              # only anonymous clients and alice
        ]),
        (anon, [
            ("public/#", GRANTED),                 # the anonymous block
            ("clients/anon-1/#", GRANTED),         # patterns apply to anonymous clients
            ("alice/inbox/#", denied_sub),
        ]),
    ]
    for client, expected in subscriptions:
        filters = [f for f, _ in expected]
        codes = client.subscribe_codes(filters, others=clients)
        check(codes == [c for _, c in expected],
              f"{client}: SUBACK {codes} for {filters}, expected {[c for _, c in expected]}")

    # Each publisher waits for its PUBACKs before the next one starts, and admin's public/news
    # comes last: once it has arrived everywhere, any message let through before it would
    # have arrived too (one outgoing queue per subscriber, in routing order).
    publishes = [
        (alice, "alice/inbox/1", True),
        (alice, "alice/secret/plans", False),      # topic deny
        (alice, "public/news", False),             # read only
        (alice, "users/alice/out", True),          # %u = alice
        (alice, "clients/alice-1/state", True),    # %c = alice-1
        (bob, "users/alice/out", False),           # %u is bob
        (bob, "clients/alice-1/state", False),     # %c is bob-1
        (bob, "alice/inbox/2", False),
        (bob, "users/bob/out", True),
        (anon, "public/news", False),              # read only
        (anon, "clients/anon-1/state", True),
        (admin, "public/news", True),
    ]
    allowed = []
    for client, topic, allow in publishes:
        payload = f"{client.client_id}:{topic}"
        code = client.publish_code(topic, payload, others=clients)
        expected = 0 if allow else denied_pub
        check(code == expected,
              f"{client}: PUBACK {code:#x} for {topic}, expected {expected:#x}")
        if allow:
            allowed.append((topic, payload))

    last = ("public/news", "admin:public/news")
    pump(clients, lambda: all(last in c.received() for c in (admin, alice, anon)),
         "admin's public/news at admin, alice and anon")
    pump_for(clients, 0.3)
    check(sorted(admin.received()) == sorted(allowed),
          f"admin (#) received {admin.received()}, expected exactly {allowed}")
    expected_alice = [("alice/inbox/1", "alice-1:alice/inbox/1"),
                      ("clients/alice-1/state", "alice-1:clients/alice-1/state"), last]
    check(sorted(alice.received()) == sorted(expected_alice),
          f"alice received {alice.received()}, expected {expected_alice}")
    expected_anon = [("clients/anon-1/state", "anon-1:clients/anon-1/state"), last]
    check(sorted(anon.received()) == sorted(expected_anon),
          f"anon received {anon.received()}, expected {expected_anon}")
    check(bob.received() == [], f"bob received {bob.received()}")
    still_connected(clients)
    for client in clients:
        client.disconnect()


if __name__ == "__main__":
    main(scenario)
