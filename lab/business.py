"""The office's own traffic in the WAN lab: one TCP download from HQ to a branch client.

Run as a script inside a namespace (it imports nothing of the lab, so it needs
no PYTHONPATH there)::

    python lab/business.py serve --port 5001            # at HQ: zeros to whoever connects
    python lab/business.py fetch --host H --port 5001 --seconds 20   # at a client

``fetch`` prints one JSON line: the bytes received after the first
``--warmup`` seconds (TCP's slow start is not the link's rate), and over how long.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time

CHUNK = 64 * 1024


def serve(port: int) -> None:
    listener = socket.create_server(("0.0.0.0", port), reuse_port=False)
    zeros = bytes(CHUNK)

    def send(conn: socket.socket) -> None:
        with conn:
            try:
                while True:
                    conn.sendall(zeros)
            except OSError:
                return  # the client closed: its download is over

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=send, args=(conn,), daemon=True).start()


def connect(host: str, port: int, within_s: float = 20.0) -> socket.socket:
    """A connection to the server, which may still be starting."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return socket.create_connection((host, port), timeout=10)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def fetch(host: str, port: int, seconds: float, warmup: float) -> dict[str, float]:
    with connect(host, port) as conn:
        start = time.monotonic()
        counted = 0
        counting_from: float | None = None
        while (now := time.monotonic()) - start < warmup + seconds:
            got = len(conn.recv(CHUNK))
            if not got:
                break
            if now - start >= warmup:
                counting_from = counting_from or now
                counted += got
        span = time.monotonic() - (counting_from or start)
    return {"bytes": counted, "seconds": span, "bytes_per_s": counted / span if span > 0 else 0.0}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("serve", "fetch"))
    p.add_argument("--host", default="")
    p.add_argument("--port", type=int, default=5001)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=1.0)
    args = p.parse_args()
    if args.mode == "serve":
        serve(args.port)
    else:
        print(json.dumps(fetch(args.host, args.port, args.seconds, args.warmup)), flush=True)


if __name__ == "__main__":
    main()
