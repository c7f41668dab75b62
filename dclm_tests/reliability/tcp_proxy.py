"""A TCP forwarder that stands in for "the S3 endpoint": kill it and the endpoint is down, start it again and it is
back with all its data (moto keeps its objects in memory, so stopping moto itself would also lose the bucket).

Run as ``python -m dclm_tests.reliability.tcp_proxy LISTEN_PORT TARGET_PORT``; it prints ``ready`` once listening
on 127.0.0.1. SIGKILL drops every open connection at once, as a crashed endpoint does.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading

BUFFER = 1 << 16


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(BUFFER):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _serve(client: socket.socket, target_port: int) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port), timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def main(argv: list[str]) -> None:
    listen_port, target_port = int(argv[0]), int(argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(128)
    print("ready", flush=True)
    while True:
        client, _ = server.accept()
        threading.Thread(target=_serve, args=(client, target_port), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1:])
