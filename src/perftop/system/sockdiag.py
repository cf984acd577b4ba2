"""Every TCP socket of perftop's network namespace with its byte counts, from the kernel's
sock_diag netlink interface (what `ss -ti` reads).

One SOCK_DIAG_BY_FAMILY dump a family (IPv4, then IPv6) asks for `INET_DIAG_INFO`, the
socket's `struct tcp_info`, whose `tcpi_bytes_acked` (bytes sent and acknowledged by the
peer) and `tcpi_bytes_received` (bytes received) have been there since Linux 4.1
(include/uapi/linux/tcp.h). Each answer also carries the socket's inode, which
/proc/PID/fd links name (`socket:[INODE]`), and a cookie unique to the socket while it lives.

The standard library's AF_NETLINK socket does it, with struct for the layouts: pyroute2 has
these messages too, but it is not in the package mirror perftop is built from, and the few
structs needed here are stable kernel ABI, smaller than the dependency.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
INET_DIAG_INFO = 2

# TCP states (include/net/tcp_states.h). Listening sockets move no bytes, and TIME_WAIT and
# NEW_SYN_RECV ones are kernel mini-sockets without an inode or a tcp_info.
TCP_STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "NEW_SYN_RECV",
}
STATES_ASKED = sum(1 << s for s in TCP_STATES if s not in (6, 10, 12))

_HEADER = struct.Struct("=IHHII")  # struct nlmsghdr
_REQUEST = struct.Struct("=BBBxI48x")  # struct inet_diag_req_v2, the socket ID all zeros
# struct inet_diag_msg: family, state, (timer, retrans), ports and addresses (network order),
# (interface), cookie, (expires, queues), uid, inode.
# The cookie is two u32s; read as one u64 it is as unique.
_MSG = struct.Struct("=BB6x16s16s4xQ12xII")
_PORTS = struct.Struct(">HH")  # at offset 4
_ATTR = struct.Struct("=HH")  # struct rtattr
_BYTES = struct.Struct("=QQ")  # tcpi_bytes_acked, tcpi_bytes_received
_BYTES_AT = 120  # their offset in struct tcp_info
_ERRNO = struct.Struct("=i")
_RECV = 1 << 16


class DiagError(OSError):
    """sock_diag cannot be used here (no netlink in this sandbox, a refusal)."""


@dataclass(frozen=True, slots=True)
class TcpSocket:
    cookie: int
    inode: int  # 0 for a socket no file holds
    uid: int
    state: int
    family: int  # socket.AF_INET or AF_INET6
    src: bytes  # the addresses as the kernel gave them, formatted only when shown
    sport: int
    dst: bytes
    dport: int
    bytes_acked: int | None  # None where the kernel gave no tcp_info
    bytes_received: int | None

    @property
    def state_name(self) -> str:
        return TCP_STATES.get(self.state, str(self.state))

    @property
    def local(self) -> str:
        """`127.0.0.1:8080`, `[::1]:443`."""
        return address(self.family, self.src, self.sport)

    @property
    def remote(self) -> str:
        return address(self.family, self.dst, self.dport)


def request(family: int, seq: int, states: int = STATES_ASKED) -> bytes:
    body = _REQUEST.pack(family, socket.IPPROTO_TCP, 1 << (INET_DIAG_INFO - 1), states)
    flags = NLM_F_REQUEST | NLM_F_DUMP
    return _HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, flags, seq, 0) + body


_V4_MAPPED = bytes(10) + b"\xff\xff"


def address(family: int, raw: bytes, port: int) -> str:
    """`127.0.0.1:8080`, `[::1]:443`; an IPv4-mapped IPv6 address as the IPv4 one."""
    if family == socket.AF_INET:
        return f"{socket.inet_ntop(socket.AF_INET, raw[:4])}:{port}"
    if raw.startswith(_V4_MAPPED):
        return f"{socket.inet_ntop(socket.AF_INET, raw[12:16])}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, raw[:16])}]:{port}"


def parse_message(data: bytes | memoryview, start: int, end: int) -> TcpSocket | None:
    """One inet_diag_msg (between `start`, after its netlink header, and `end`)."""
    if end - start < _MSG.size:
        return None
    family, state, src, dst, cookie, uid, inode = _MSG.unpack_from(data, start)
    sport, dport = _PORTS.unpack_from(data, start + 4)
    if family != socket.AF_INET and family != socket.AF_INET6:
        return None
    acked = received = None
    at = start + _MSG.size
    while at + _ATTR.size <= end:
        length, kind = _ATTR.unpack_from(data, at)
        if length < _ATTR.size or at + length > end:
            break
        if kind == INET_DIAG_INFO and length - _ATTR.size >= _BYTES_AT + _BYTES.size:
            acked, received = _BYTES.unpack_from(data, at + _ATTR.size + _BYTES_AT)
        at += (length + 3) & ~3
    return TcpSocket(cookie, inode, uid, state, family, src, sport, dst, dport, acked, received)


def parse_dump(data: bytes | memoryview, seq: int) -> tuple[list[TcpSocket], bool]:
    """The sockets in one recv's worth of netlink messages, and whether the dump ended.
    Raises DiagError on the kernel's NLMSG_ERROR."""
    found: list[TcpSocket] = []
    at = 0
    while at + _HEADER.size <= len(data):
        length, kind, _flags, got_seq, _pid = _HEADER.unpack_from(data, at)
        if length < _HEADER.size or at + length > len(data):
            break
        if got_seq == seq:
            if kind == NLMSG_DONE:
                return found, True
            if kind == NLMSG_ERROR:
                errno = -_ERRNO.unpack_from(data, at + _HEADER.size)[0] if length >= 20 else 0
                raise DiagError(errno, f"sock_diag refused the dump (errno {errno})")
            if kind == SOCK_DIAG_BY_FAMILY:
                s = parse_message(data, at + _HEADER.size, at + length)
                if s is not None:
                    found.append(s)
        at += (length + 3) & ~3
    return found, False


class SockDiag:
    """A sock_diag socket kept open between dumps (re-opened after an error)."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._seq = 0

    def _socket(self) -> socket.socket:
        if self._sock is None:
            try:
                s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
            except (OSError, AttributeError) as e:  # AttributeError: not Linux
                raise DiagError(getattr(e, "errno", 0) or 0, f"no sock_diag: {e}") from None
            s.settimeout(2.0)  # the kernel answers a dump at once; never hang a sampler
            self._sock = s
        return self._sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def tcp_sockets(self) -> list[TcpSocket]:
        """Every TCP socket (but listening and TIME_WAIT ones), IPv4 and IPv6."""
        out: list[TcpSocket] = []
        for family in (socket.AF_INET, socket.AF_INET6):
            out.extend(self._dump(family))
        return out

    def _dump(self, family: int) -> Iterator[TcpSocket]:
        sock = self._socket()
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        seq = self._seq
        try:
            sock.sendto(request(family, seq), (0, 0))
            while True:
                data = sock.recv(_RECV)
                if not data:
                    break
                found, done = parse_dump(data, seq)
                yield from found
                if done:
                    break
        except DiagError:
            self.close()
            raise
        except OSError as e:  # a timeout, ENOBUFS: start afresh next time
            self.close()
            raise DiagError(e.errno or 0, f"sock_diag: {e}") from None
