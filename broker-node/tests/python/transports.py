"""MQTT over TLS, WebSocket and secure WebSocket with paho-mqtt.

Usage: transports.py PORT VERSION TRANSPORT CAFILE CERTFILE KEYFILE EXPECT

  TRANSPORT  tcp or websockets (paho's transport; WebSocket path /mqtt, subprotocol mqtt)
  CAFILE     the CA that signed the server certificate, or - for no TLS
  CERTFILE   the client certificate (PEM), or - for none; KEYFILE its key, or -
  EXPECT     ok: a subscriber and a publisher on the listener exchange QoS 0 and QoS 1
                 messages (WebSocket: MQTT 5.0 §6, [MQTT-6.0.0-3], [MQTT-6.0.0-4]);
             refused: the connection fails (TLS handshake, or no successful CONNACK)

The server certificate is verified against CAFILE, host name included (127.0.0.1 is in its
subject alternative names).
"""

import ssl

from mqtt_common import HOST, PROTOCOLS, Failure, check, main, mqtt, pump
from paho.mqtt.enums import CallbackAPIVersion


class TransportClient:
    """A paho client on one transport, its events recorded."""

    def __init__(self, args, client_id):
        self.client_id = client_id
        self.connack = None
        self.disconnected = False
        self.messages = []
        self.subacked = set()
        self.completed = set()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=PROTOCOLS[args["version"]],
            transport=args["transport"],
            reconnect_on_failure=False,
        )
        if args["transport"] == "websockets":
            self.client.ws_set_options(path="/mqtt")
        if args["cafile"] != "-":
            certfile = None if args["certfile"] == "-" else args["certfile"]
            keyfile = None if args["keyfile"] == "-" else args["keyfile"]
            self.client.tls_set(ca_certs=args["cafile"], certfile=certfile, keyfile=keyfile,
                                cert_reqs=ssl.CERT_REQUIRED)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = lambda _c, _u, message: self.messages.append(message)
        self.client.on_subscribe = lambda _c, _u, mid, _codes, _p: self.subacked.add(mid)
        self.client.on_publish = lambda _c, _u, mid, _code, _p: self.completed.add(mid)

    def __repr__(self):
        return f"client {self.client_id!r}"

    def _on_connect(self, _client, _userdata, _flags, reason_code, _properties):
        self.connack = reason_code.value

    def _on_disconnect(self, _client, _userdata, _flags, _reason_code, _properties):
        self.disconnected = True

    def start(self, port):
        """Opens the connection (TLS and WebSocket handshakes included) and sends CONNECT;
        returns the error when that already fails."""
        try:
            self.client.connect(HOST, port, keepalive=30)
        except (OSError, ssl.SSLError, mqtt.WebsocketConnectionError) as error:
            return error
        return None

    def wait_connack(self):
        pump([self], lambda: self.connack is not None or self.disconnected, f"CONNACK ({self})")


def scenario(argv):
    names = ["port", "version", "transport", "cafile", "certfile", "keyfile", "expect"]
    check(len(argv) == len(names), f"usage: {' '.join(names)} (got {argv})")
    args = dict(zip(names, argv))
    port = int(args["port"])
    tag = f"{args['transport']}-{'tls' if args['cafile'] != '-' else 'plain'}"

    if args["expect"] == "refused":
        client = TransportClient(args, f"{tag}-refused")
        error = client.start(port)
        if error is None:
            try:
                client.wait_connack()
            except Failure:
                pass
            except (OSError, ssl.SSLError) as failed:
                error = failed
        check(error is not None or client.connack != 0,
              f"{client}: connected (CONNACK {client.connack}) where it should be refused")
        print(f"refused as expected: {error or f'CONNACK {client.connack}'}", flush=True)
        return

    check(args["expect"] == "ok", f"EXPECT is ok or refused, not {args['expect']}")
    sub = TransportClient(args, f"{tag}-sub")
    pub = TransportClient(args, f"{tag}-pub")
    for client in (sub, pub):
        error = client.start(port)
        check(error is None, f"{client}: connection failed: {error!r}")
        client.wait_connack()
        check(client.connack == 0, f"{client}: CONNACK {client.connack}, expected 0")
    topic = f"it/{tag}/data"
    _, mid = sub.client.subscribe(topic, 1)
    pump([sub], lambda: mid in sub.subacked, f"SUBACK ({sub})")
    sent = [(b"over " + tag.encode(), 0), (bytes(range(256)) * 300, 1)]
    for payload, qos in sent:
        info = pub.client.publish(topic, payload, qos=qos)
        pump([pub, sub], lambda: info.mid in pub.completed, f"QoS {qos} publish ({pub})")
    pump([sub, pub], lambda: len(sub.messages) >= len(sent), "the messages at the subscriber")
    got = [(m.payload, m.qos) for m in sub.messages]
    check(got == sent, f"received {[(p[:16], q) for p, q in got]}")
    for client in (sub, pub):
        client.client.disconnect()
        pump([client], lambda c=client: c.disconnected, f"{client} to disconnect")


if __name__ == "__main__":
    main(scenario)
