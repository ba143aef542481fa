"""ctypes bindings to the system libsrt (Haivision SRT 1.5; Debian package ``libsrt1.5-openssl``).

Only what the ingest listener needs: sockets, options, bind/listen/accept with a listen callback,
non-blocking receive with SRT epoll, reject reasons and byte statistics. The numbers, structures and
prototypes these calls use (``SRTO_*``, ``SRT_REJX_*``, :class:`~vidlake.live.srt.abi.CBytePerfMon`...)
are in :mod:`vidlake.live.srt.abi`. Functions raise
:class:`SrtError` (an ``OSError``) with SRT's error code and text; "would block" is not an error for
:func:`recv` and :func:`accept` (they return ``None``).

The library is loaded on first use (:func:`load`), never at import time, so importing Vidlake works
without libsrt; :class:`SrtLibraryMissing` names the package to install.

Threading: every SRT call here is thread-safe in libsrt and ctypes releases the GIL around it, so a
blocking call in one thread does not stall the asyncio loop. ``srt_getlasterror`` is per thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import ipaddress
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from vidlake.live.srt.abi import (
    LOG_CRIT,
    MAX_STREAMID,
    SIGNATURES,
    SRT_EASYNCRCV,
    SRT_EPOLL_ERR,
    SRT_EPOLL_IN,
    SRT_ERROR,
    SRT_ETIMEOUT,
    SRT_INVALID_SOCK,
    CBytePerfMon,
    EpollEvent,
)

APT_PACKAGE: Final = "libsrt1.5-openssl"
SONAMES: Final = ("libsrt.so.1.5", "libsrt-openssl.so.1.5", "libsrt-gnutls.so.1.5")


class SrtLibraryMissing(ImportError):
    """libsrt could not be loaded; the message names the package to install."""


class SrtError(OSError):
    """An SRT call failed. ``code`` is SRT's error number (e.g. 2001 connection lost)."""

    def __init__(self, call: str, code: int, text: str) -> None:
        super().__init__(code, f"{call}: {text} (SRT error {code})")
        self.code = code
        self.call = call


_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_startups = 0


def _find() -> ctypes.CDLL:
    names = [n for n in (ctypes.util.find_library("srt"), *SONAMES) if n]
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    raise SrtLibraryMissing(
        f"libsrt (SRT 1.5) was not found ({'; '.join(errors) or 'no candidates'}). "
        f"Install it, e.g. on Debian/Ubuntu: apt-get install {APT_PACKAGE}"
    )


def load() -> ctypes.CDLL:
    """The loaded libsrt with argument types set (cached). Raises :class:`SrtLibraryMissing`."""
    global _lib
    with _lock:
        if _lib is None:
            lib = _find()
            for fname, (restype, argtypes) in SIGNATURES.items():
                try:
                    func = getattr(lib, fname)
                except AttributeError as exc:
                    raise SrtLibraryMissing(f"libsrt lacks {fname}: needs SRT 1.5+ ({APT_PACKAGE})") from exc
                func.restype = restype
                func.argtypes = argtypes
            _lib = lib
        return _lib


def available() -> bool:
    """True if libsrt can be loaded."""
    try:
        load()
    except SrtLibraryMissing:
        return False
    return True


def version() -> str:
    """libsrt's version, e.g. ``"1.5.1"``."""
    v = int(load().srt_getversion())
    return f"{v >> 16}.{(v >> 8) & 0xFF}.{v & 0xFF}"


def last_error() -> tuple[int, str]:
    """(code, text) of this thread's last SRT error."""
    lib = load()
    code = int(lib.srt_getlasterror(None))
    raw = lib.srt_getlasterror_str()
    return code, raw.decode("utf-8", "replace") if raw else ""


def _check(call: str, result: int) -> int:
    if result == SRT_ERROR:
        code, text = last_error()
        raise SrtError(call, code, text)
    return result


def startup(log_level: int = LOG_CRIT) -> None:
    """``srt_startup`` (reference counted here and in libsrt); sets SRT's stderr log level."""
    global _startups
    lib = load()
    with _lock:
        _check("srt_startup", lib.srt_startup())
        _startups += 1
        lib.srt_setloglevel(log_level)


def cleanup() -> None:
    """``srt_cleanup``, once per :func:`startup`."""
    global _startups
    lib = load()
    with _lock:
        if _startups > 0:
            _startups -= 1
            lib.srt_cleanup()


# ----------------------------------------------------------------------------------- addresses


def sockaddr(host: str, port: int) -> ctypes.Array[ctypes.c_char]:
    """A ``struct sockaddr_in``/``sockaddr_in6`` for ``host`` (an IP address or name) and ``port``."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = ipaddress.ip_address(socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][4][0])
    if ip.version == 4:
        raw = struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + ip.packed + bytes(8)
    else:
        raw = struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0) + ip.packed + struct.pack("=I", 0)
    return ctypes.create_string_buffer(raw, len(raw))


def parse_sockaddr(raw: bytes) -> tuple[str, int]:
    """(host, port) of a ``struct sockaddr`` (IPv4 or IPv6); ``("?", 0)`` for anything else."""
    if len(raw) < 8:
        return "?", 0
    family = struct.unpack_from("=H", raw, 0)[0]
    port = struct.unpack_from("!H", raw, 2)[0]
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
    if family == socket.AF_INET6 and len(raw) >= 24:
        ip6 = ipaddress.IPv6Address(raw[8:24])
        return str(ip6.ipv4_mapped or ip6), port  # dual-stack: IPv4 callers as plain IPv4
    return "?", 0


def sockaddr_at(address: int | None) -> tuple[str, int]:
    """(host, port) of the ``struct sockaddr*`` at ``address`` (as passed to a listen callback)."""
    if not address:
        return "?", 0
    family = ctypes.c_uint16.from_address(address).value
    size = 28 if family == socket.AF_INET6 else 16
    return parse_sockaddr(ctypes.string_at(address, size))


# ----------------------------------------------------------------------------------- sockets


def create_socket() -> int:
    """A new SRT socket (live transmission type by default)."""
    return _check("srt_create_socket", load().srt_create_socket())


def set_int(sock: int, opt: int, value: int) -> None:
    """Set an ``int32`` option (or ``bool``, passed as int)."""
    v = ctypes.c_int32(int(value))
    _check(f"srt_setsockflag({opt})", load().srt_setsockflag(sock, opt, ctypes.byref(v), ctypes.sizeof(v)))


def set_bool(sock: int, opt: int, value: bool) -> None:
    """Set a ``bool`` option (1 byte in SRT 1.5; ints are also accepted)."""
    set_int(sock, opt, 1 if value else 0)


def set_str(sock: int, opt: int, value: str) -> None:
    """Set a string option (stream id, passphrase)."""
    raw = value.encode()
    _check(f"srt_setsockflag({opt})", load().srt_setsockflag(sock, opt, raw, len(raw)))


def get_int(sock: int, opt: int) -> int:
    """Read an ``int32`` option."""
    v = ctypes.c_int32(0)
    n = ctypes.c_int(ctypes.sizeof(v))
    _check(f"srt_getsockflag({opt})", load().srt_getsockflag(sock, opt, ctypes.byref(v), ctypes.byref(n)))
    return int(v.value)


def get_str(sock: int, opt: int, size: int = MAX_STREAMID + 1) -> str:
    """Read a string option (``SRTO_STREAMID``), decoded as UTF-8 (undecodable bytes replaced)."""
    buf = ctypes.create_string_buffer(size)
    n = ctypes.c_int(size)
    _check(f"srt_getsockflag({opt})", load().srt_getsockflag(sock, opt, buf, ctypes.byref(n)))
    return buf.raw[: max(0, min(n.value, size))].split(b"\0", 1)[0].decode("utf-8", "replace")


def bind(sock: int, host: str, port: int) -> None:
    """Bind ``sock`` to ``host:port`` (UDP; ``port=0`` picks a free port)."""
    addr = sockaddr(host, port)
    _check("srt_bind", load().srt_bind(sock, addr, len(addr)))


def listen(sock: int, backlog: int) -> None:
    """Start listening."""
    _check("srt_listen", load().srt_listen(sock, backlog))


def sockname(sock: int) -> tuple[str, int]:
    """(host, port) the socket is bound to."""
    buf = ctypes.create_string_buffer(128)
    n = ctypes.c_int(128)
    _check("srt_getsockname", load().srt_getsockname(sock, buf, ctypes.byref(n)))
    return parse_sockaddr(buf.raw[: n.value])


def accept(sock: int) -> tuple[int, tuple[str, int]] | None:
    """Accept a pending connection: (new socket, peer); ``None`` if none is pending (non-blocking)."""
    buf = ctypes.create_string_buffer(128)
    n = ctypes.c_int(128)
    new = int(load().srt_accept(sock, buf, ctypes.byref(n)))
    if new == SRT_INVALID_SOCK:
        code, text = last_error()
        if code in (SRT_EASYNCRCV, SRT_ETIMEOUT):
            return None
        raise SrtError("srt_accept", code, text)
    return new, parse_sockaddr(buf.raw[: n.value])


def listen_callback(sock: int, callback: Any) -> None:
    """Install a :data:`~vidlake.live.srt.abi.LISTEN_CALLBACK` on a listener; keep a reference to
    ``callback`` while it listens."""
    _check("srt_listen_callback", load().srt_listen_callback(sock, callback, None))


def recv(sock: int, buf: ctypes.Array[ctypes.c_char]) -> int | None:
    """Receive one message into ``buf``: its size, or ``None`` when nothing is ready (non-blocking)."""
    n = int(load().srt_recvmsg(sock, buf, len(buf)))
    if n == SRT_ERROR:
        code, text = last_error()
        if code in (SRT_EASYNCRCV, SRT_ETIMEOUT):
            return None
        raise SrtError("srt_recvmsg", code, text)
    return n


def connect(sock: int, host: str, port: int) -> None:
    """Connect a caller socket to ``host:port`` (blocking unless ``SRTO_RCVSYN`` is false). On a
    rejection the :class:`SrtError` has code 1002 and :func:`reject_reason` tells why."""
    addr = sockaddr(host, port)
    _check("srt_connect", load().srt_connect(sock, addr, len(addr)))


def send(sock: int, data: bytes) -> int:
    """Send one message (at most the payload size, 1316 bytes by default); returns bytes sent."""
    return _check("srt_sendmsg", load().srt_sendmsg(sock, data, len(data), -1, 0))


def reject_reason(sock: int) -> int:
    """Why a connection was rejected (``SRT_REJX_*`` set by the listener, or a libsrt reason < 1000)."""
    return int(load().srt_getrejectreason(sock))


def close(sock: int) -> None:
    """Close a socket; errors (e.g. already closed) are ignored."""
    load().srt_close(sock)


def sockstate(sock: int) -> int:
    """``srt_getsockstate`` (one of the ``SRTS_*`` numbers)."""
    return int(load().srt_getsockstate(sock))


def set_reject_reason(sock: int, reason: int) -> None:
    """Set the reject reason sent to a refused caller (from a listen callback)."""
    load().srt_setrejectreason(sock, reason)


def bstats(sock: int) -> CBytePerfMon:
    """Link statistics of ``sock`` (not cleared)."""
    perf = CBytePerfMon()
    _check("srt_bstats", load().srt_bstats(sock, ctypes.byref(perf), 0))
    return perf


# ----------------------------------------------------------------------------------- epoll


@dataclass
class Epoll:
    """An SRT epoll set; :meth:`wait` returns (socket, flags) pairs. Release it with :meth:`close`."""

    eid: int

    @classmethod
    def create(cls) -> Epoll:
        """A new, empty epoll set (waiting on it while empty is allowed and just times out)."""
        lib = load()
        eid = _check("srt_epoll_create", lib.srt_epoll_create())
        lib.srt_epoll_set(eid, 1)  # SRT_EPOLL_ENABLE_EMPTY
        return cls(eid)

    def add(self, sock: int, events: int = SRT_EPOLL_IN | SRT_EPOLL_ERR) -> None:
        """Watch ``sock`` for ``events``."""
        ev = ctypes.c_int(events)
        _check("srt_epoll_add_usock", load().srt_epoll_add_usock(self.eid, sock, ctypes.byref(ev)))

    def remove(self, sock: int) -> None:
        """Stop watching ``sock`` (errors ignored)."""
        load().srt_epoll_remove_usock(self.eid, sock)

    def wait(self, timeout_s: float, max_events: int = 16) -> list[tuple[int, int]]:
        """Wait up to ``timeout_s`` seconds; [] on timeout."""
        events = (EpollEvent * max_events)()
        n = int(load().srt_epoll_uwait(self.eid, events, max_events, int(timeout_s * 1000)))
        if n == SRT_ERROR:
            code, text = last_error()
            if code == SRT_ETIMEOUT:
                return []
            raise SrtError("srt_epoll_uwait", code, text)
        return [(int(events[i].fd), int(events[i].events)) for i in range(min(n, max_events))]

    def close(self) -> None:
        """Release the epoll set."""
        load().srt_epoll_release(self.eid)


ListenHook = Callable[[int, int, tuple[str, int], str], int]
