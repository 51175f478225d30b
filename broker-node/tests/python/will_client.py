"""Helper process for will.py: connects with a Will Message, says so, then waits to be killed.

Usage: will_client.py PORT VERSION CLIENT_ID WILL_TOPIC WILL_PAYLOAD MODE
MODE "wait": print "CONNECTED" and keep the connection open (answering pings) until killed.
MODE "disconnect": print "CONNECTED", send a normal DISCONNECT and exit.
"""

import time

from mqtt_common import Client, main, parse_args


def scenario(argv):
    args = parse_args(argv, ["port", "version", "client_id", "topic", "payload", "mode"])
    client = Client(args["port"], args["version"], args["client_id"],
                    will=(args["topic"], args["payload"].encode(), 1, False))
    client.connect()
    print("CONNECTED", flush=True)
    if args["mode"] == "disconnect":
        client.disconnect()
        return
    deadline = time.monotonic() + 25  # below main()'s hard timeout; will.py kills us long before
    while time.monotonic() < deadline:
        client.client.loop(timeout=0.1)


if __name__ == "__main__":
    main(scenario)
