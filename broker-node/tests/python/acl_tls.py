"""A TLS client certificate's CN as the user name, and the ACL rights of that user.

Usage: acl_tls.py PORT VERSION TLSPORT CAFILE CERTFILE KEYFILE

PORT is a plain listener, TLSPORT a TLS listener with use_identity_as_username (client
certificate required); the broker has a password file without alice, the ACL file of
acl_matrix.py, and refuses anonymous clients. The certificate's CN is alice.

- Over TLS with the certificate and no user name or password, the client connects (the
  certificate authenticates it; the password file is not asked, as in Mosquitto) and has
  alice's rights: alice/inbox/# granted, bob/# refused; its publish to alice/inbox/tls is
  delivered, its publish to bob/x is not (MQTT 5: PUBACK 0x87).
- On the plain listener, the user name alice without a password is refused (4 / 0x86), and a
  client without credentials is refused as anonymous (5 / 0x87).
"""

from auth_common import AuthClient
from mqtt_common import check, main, pump, pump_for


def scenario(argv):
    check(len(argv) == 6, f"usage: PORT VERSION TLSPORT CAFILE CERTFILE KEYFILE (got {argv})")
    port, version, tls_port = int(argv[0]), argv[1], int(argv[2])
    tls = tuple(argv[3:6])
    v5 = version == "5"

    client = AuthClient(tls_port, version, "by-certificate", tls=tls)
    client.expect_connack(0)
    codes = client.subscribe_codes(["alice/inbox/#", "bob/#"])
    check(codes == [1, 0x87 if v5 else 0x80], f"SUBACK {codes}")
    check(client.publish_code("alice/inbox/tls", "mine") == 0, "publish to alice/inbox refused")
    code = client.publish_code("bob/x", "not mine")
    check(code == (0x87 if v5 else 0), f"PUBACK {code:#x} for bob/x")
    check(client.publish_code("alice/inbox/end", "end") == 0, "publish to alice/inbox refused")
    pump([client], lambda: len(client.messages) >= 2, "the client's own messages")
    pump_for([client], 0.2)
    check(client.received() == [("alice/inbox/tls", "mine"), ("alice/inbox/end", "end")],
          f"received {client.received()}")
    client.disconnect()

    AuthClient(port, version, "alice-plain", username="alice") \
        .expect_connack(0x86 if v5 else 4)
    AuthClient(port, version, "nobody").expect_connack(0x87 if v5 else 5)


if __name__ == "__main__":
    main(scenario)
