"""The jwt-auth WASM plugin through paho-mqtt: a token in the CONNECT password, and the topic
prefix its claim gives the client as its ACL.

Usage: plugin_jwt.py PORT VERSION USER TOKEN FORGED PREFIX

The broker runs the jwt-auth example with an RS256 public key and `prefix-claim`
(plugin_examples.rs writes the config). TOKEN is signed for USER with the claim PREFIX; FORGED
is the same token with its claims changed after signing.

- A forged token is refused: CONNACK 0x86 Bad User Name or Password in MQTT 5, return code 4
  in MQTT 3.1.1 ([MQTT-3.1.4-2], with Session Present 0, [MQTT-3.2.2-6]).
- The good token is accepted. Under PREFIX the client may subscribe and publish; elsewhere a
  subscription gets SUBACK 0x87 (v5) / 0x80 (v3.1.1) ([MQTT-3.9.3-1]: a code per filter) and
  a QoS 1 publish PUBACK 0x87 (v5) and is delivered to nobody.
"""

from auth_common import AuthClient, still_connected
from mqtt_common import check, main, pump, pump_for


def scenario(argv):
    check(len(argv) == 6, f"usage: PORT VERSION USER TOKEN FORGED PREFIX (got {argv})")
    port, version, user, token, forged, prefix = int(argv[0]), *argv[1:]
    v5 = version == "5"

    refused = AuthClient(port, version, f"{user}-forged", username=user, password=forged)
    refused.expect_connack(0x86 if v5 else 4)

    client = AuthClient(port, version, f"{user}-1", username=user, password=token)
    client.expect_connack(0)
    mine, theirs = f"{prefix}#", "elsewhere/#"
    codes = client.subscribe_codes([mine, theirs], others=[client])
    check(codes == [1, 0x87 if v5 else 0x80], f"SUBACK {codes} for {[mine, theirs]}")

    outside = client.publish_code("elsewhere/t", b"no", others=[client])
    check(outside == (0x87 if v5 else 0), f"PUBACK {outside:#x} outside the prefix")
    inside = client.publish_code(f"{prefix}t", b"yes", others=[client])
    check(inside == 0, f"PUBACK {inside:#x} under the prefix")
    pump([client], lambda: (f"{prefix}t", "yes") in client.received(), "its own message")
    pump_for([client], 0.3)
    check(client.received() == [(f"{prefix}t", "yes")], f"received {client.received()}")
    still_connected([client])
    client.disconnect()
    print(f"{user}: forged token refused, prefix {prefix} enforced", flush=True)


if __name__ == "__main__":
    main(scenario)
