"""Servers that misbehave on purpose: `python raw_servers.py silent|garbage PORT`.

silent accepts connections and never answers (a timeout); garbage answers bytes that are
not HTTP and closes.
"""

from __future__ import annotations

import socket
import sys
import threading


def main(kind: str, port: int) -> None:
    srv = socket.create_server(("127.0.0.1", port))
    held = []
    while True:
        conn, _ = srv.accept()
        if kind == "garbage":
            conn.recv(4096)
            conn.sendall(b"\x00\x01hello, this is not http\r\n\r\n")
            conn.close()
        else:
            held.append(conn)  # keep it open and silent
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
