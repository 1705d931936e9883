"""Asking a TCP port whether a Kafka broker answers there (an ApiVersions request), or anything at all."""

from __future__ import annotations

import socket
import struct

_API_VERSIONS = 18
_CORRELATION_ID = 0x52560001


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def answers_api_versions(host: str, port: int, timeout: float = 2.0) -> bool:
    """Send a Kafka ApiVersions v0 request and check the reply parses."""
    client_id = b"rv-probe"
    header = struct.pack(">hhih", _API_VERSIONS, 0, _CORRELATION_ID, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(header)) + header)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            if not 10 <= size <= 1 << 20:
                return False
            body = _recv_exact(sock, size)
    except OSError:
        return False
    got_id, error_code, count = struct.unpack_from(">ihi", body)
    # 35 = UNSUPPORTED_VERSION: still a well-formed Kafka answer listing its versions.
    return got_id == _CORRELATION_ID and error_code in (0, 35) and 0 < count <= 1000 and len(body) >= 10 + 6 * count


def port_busy(host: str, port: int) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
