"""CONNECT with and without credentials, against a broker with a password file.

Usage: auth_connect.py PORT VERSION [USER PASSWORD EXPECTED]...

  USER, PASSWORD  what CONNECT carries; - for none
  EXPECTED        the CONNACK code on the wire: for MQTT 3.1.1 the return code (0 accepted,
                  4 bad user name or password, 5 not authorized, §3.2.2.3); for MQTT 5 the
                  reason code (0, 0x86 Bad User Name or Password, 0x87 Not authorized,
                  [MQTT-3.2.2-8])

The server checks the credentials (v5 [MQTT-3.1.4-2]; v3.1.1 §3.1.4 step 2) and a refusal has
Session Present 0 (v3.1.1 [MQTT-3.2.2-4], v5 [MQTT-3.2.2-6]). An accepted client publishes a
QoS 1 message to itself, then disconnects.
"""

from auth_common import AuthClient
from mqtt_common import check, main, pump


def none_if_dash(value):
    return None if value == "-" else value


def scenario(argv):
    check(len(argv) >= 2 and (len(argv) - 2) % 3 == 0,
          f"usage: PORT VERSION [USER PASSWORD EXPECTED]... (got {argv})")
    port, version = int(argv[0]), argv[1]
    cases = [argv[i:i + 3] for i in range(2, len(argv), 3)]
    for n, (user, password, expected) in enumerate(cases):
        client = AuthClient(port, version, f"auth-connect-{n}", username=none_if_dash(user),
                            password=none_if_dash(password))
        client.expect_connack(int(expected, 0))
        if int(expected, 0) == 0:
            topic = f"it/auth/{n}"
            client.subscribe(topic, 1)
            client.publish(topic, b"hello", 1)
            pump([client], lambda c=client: c.messages, f"{client}'s own message")
            client.disconnect()
        print(f"{user}/{password}: CONNACK {expected} as expected", flush=True)


if __name__ == "__main__":
    main(scenario)
