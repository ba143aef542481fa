"""libsrt's C interface as ctypes sees it (Haivision SRT 1.5, ``srt.h``): numbers, structures, signatures.

Only the subset the ingest listener needs: socket states and options, error numbers, epoll flags, reject
reasons, log levels, the ``SRT_TRACEBSTATS`` and ``SRT_EPOLL_EVENT`` layouts, the listen-callback type
and the prototypes that :func:`vidlake.live.srt.lib.load` sets on the loaded library. Nothing here loads
libsrt; the calls themselves are in :mod:`vidlake.live.srt.lib`.
"""

from __future__ import annotations

import ctypes
from typing import Any, Final

SRT_INVALID_SOCK: Final = -1
SRT_ERROR: Final = -1

# SRT_SOCKSTATUS (srt_getsockstate)
SRTS_INIT: Final = 1
SRTS_OPENED: Final = 2
SRTS_LISTENING: Final = 3
SRTS_CONNECTING: Final = 4
SRTS_CONNECTED: Final = 5
SRTS_BROKEN: Final = 6
SRTS_CLOSING: Final = 7
SRTS_CLOSED: Final = 8
SRTS_NONEXIST: Final = 9

# SRT_SOCKOPT (the subset used here)
SRTO_SNDSYN: Final = 1
SRTO_RCVSYN: Final = 2
SRTO_RCVBUF: Final = 6
SRTO_UDP_RCVBUF: Final = 9
SRTO_RCVTIMEO: Final = 14
SRTO_REUSEADDR: Final = 15
SRTO_RCVDATA: Final = 20
SRTO_LATENCY: Final = 23
SRTO_PASSPHRASE: Final = 26
SRTO_CONNTIMEO: Final = 36
SRTO_RCVLATENCY: Final = 43
SRTO_PEERLATENCY: Final = 44
SRTO_STREAMID: Final = 46
SRTO_PAYLOADSIZE: Final = 49
SRTO_TRANSTYPE: Final = 50
SRTO_IPV6ONLY: Final = 54
SRTO_PEERIDLETIMEO: Final = 55

SRTT_LIVE: Final = 0
SRT_LIVE_DEF_PLSIZE: Final = 1316  #: 7 TS packets of 188 bytes
SRT_LIVE_MAX_PLSIZE: Final = 1456
MAX_STREAMID: Final = 512  #: SRTO_STREAMID is at most 512 bytes

# SRT_ERRNO (the subset used here)
SRT_ECONNLOST: Final = 2001
SRT_ENOCONN: Final = 2002
SRT_EINVSOCK: Final = 5004
SRT_EPOLLEMPTY: Final = 5014
SRT_EASYNCRCV: Final = 6002
SRT_ETIMEOUT: Final = 6003

# SRT_EPOLL_OPT
SRT_EPOLL_IN: Final = 0x1
SRT_EPOLL_OUT: Final = 0x4
SRT_EPOLL_ERR: Final = 0x8

# Reject reasons set from a listen callback (SRT_REJC_PREDEFINED + HTTP status, see access_control.h).
SRT_REJC_PREDEFINED: Final = 1000
SRT_REJX_BAD_REQUEST: Final = 1400  #: malformed stream id
SRT_REJX_UNAUTHORIZED: Final = 1401
SRT_REJX_OVERLOAD: Final = 1402  #: too many connections
SRT_REJX_FORBIDDEN: Final = 1403  #: refused (e.g. an address with too many failed attempts)
SRT_REJX_BAD_MODE: Final = 1405  #: not a publish (m=request)
SRT_REJX_CONFLICT: Final = 1409  #: the stream key is already publishing

# logging levels (syslog numbers) for srt_setloglevel
LOG_CRIT: Final = 2
LOG_ERR: Final = 3
LOG_WARNING: Final = 4


class CBytePerfMon(ctypes.Structure):
    """``SRT_TRACEBSTATS`` of SRT 1.5 (``srt_bstats``): the full layout, field order as in ``srt.h``."""

    _fields_ = [
        ("msTimeStamp", ctypes.c_int64),
        ("pktSentTotal", ctypes.c_int64),
        ("pktRecvTotal", ctypes.c_int64),
        ("pktSndLossTotal", ctypes.c_int),
        ("pktRcvLossTotal", ctypes.c_int),
        ("pktRetransTotal", ctypes.c_int),
        ("pktSentACKTotal", ctypes.c_int),
        ("pktRecvACKTotal", ctypes.c_int),
        ("pktSentNAKTotal", ctypes.c_int),
        ("pktRecvNAKTotal", ctypes.c_int),
        ("usSndDurationTotal", ctypes.c_int64),
        ("pktSndDropTotal", ctypes.c_int),
        ("pktRcvDropTotal", ctypes.c_int),
        ("pktRcvUndecryptTotal", ctypes.c_int),
        ("byteSentTotal", ctypes.c_uint64),
        ("byteRecvTotal", ctypes.c_uint64),
        ("byteRcvLossTotal", ctypes.c_uint64),
        ("byteRetransTotal", ctypes.c_uint64),
        ("byteSndDropTotal", ctypes.c_uint64),
        ("byteRcvDropTotal", ctypes.c_uint64),
        ("byteRcvUndecryptTotal", ctypes.c_uint64),
        ("pktSent", ctypes.c_int64),
        ("pktRecv", ctypes.c_int64),
        ("pktSndLoss", ctypes.c_int),
        ("pktRcvLoss", ctypes.c_int),
        ("pktRetrans", ctypes.c_int),
        ("pktRcvRetrans", ctypes.c_int),
        ("pktSentACK", ctypes.c_int),
        ("pktRecvACK", ctypes.c_int),
        ("pktSentNAK", ctypes.c_int),
        ("pktRecvNAK", ctypes.c_int),
        ("mbpsSendRate", ctypes.c_double),
        ("mbpsRecvRate", ctypes.c_double),
        ("usSndDuration", ctypes.c_int64),
        ("pktReorderDistance", ctypes.c_int),
        ("pktRcvAvgBelatedTime", ctypes.c_double),
        ("pktRcvBelated", ctypes.c_int64),
        ("pktSndDrop", ctypes.c_int),
        ("pktRcvDrop", ctypes.c_int),
        ("pktRcvUndecrypt", ctypes.c_int),
        ("byteSent", ctypes.c_uint64),
        ("byteRecv", ctypes.c_uint64),
        ("byteRcvLoss", ctypes.c_uint64),
        ("byteRetrans", ctypes.c_uint64),
        ("byteSndDrop", ctypes.c_uint64),
        ("byteRcvDrop", ctypes.c_uint64),
        ("byteRcvUndecrypt", ctypes.c_uint64),
        ("usPktSndPeriod", ctypes.c_double),
        ("pktFlowWindow", ctypes.c_int),
        ("pktCongestionWindow", ctypes.c_int),
        ("pktFlightSize", ctypes.c_int),
        ("msRTT", ctypes.c_double),
        ("mbpsBandwidth", ctypes.c_double),
        ("byteAvailSndBuf", ctypes.c_int),
        ("byteAvailRcvBuf", ctypes.c_int),
        ("mbpsMaxBW", ctypes.c_double),
        ("byteMSS", ctypes.c_int),
        ("pktSndBuf", ctypes.c_int),
        ("byteSndBuf", ctypes.c_int),
        ("msSndBuf", ctypes.c_int),
        ("msSndTsbPdDelay", ctypes.c_int),
        ("pktRcvBuf", ctypes.c_int),
        ("byteRcvBuf", ctypes.c_int),
        ("msRcvBuf", ctypes.c_int),
        ("msRcvTsbPdDelay", ctypes.c_int),
        ("pktSndFilterExtraTotal", ctypes.c_int),
        ("pktRcvFilterExtraTotal", ctypes.c_int),
        ("pktRcvFilterSupplyTotal", ctypes.c_int),
        ("pktRcvFilterLossTotal", ctypes.c_int),
        ("pktSndFilterExtra", ctypes.c_int),
        ("pktRcvFilterExtra", ctypes.c_int),
        ("pktRcvFilterSupply", ctypes.c_int),
        ("pktRcvFilterLoss", ctypes.c_int),
        ("pktReorderTolerance", ctypes.c_int),
        ("pktSentUniqueTotal", ctypes.c_int64),
        ("pktRecvUniqueTotal", ctypes.c_int64),
        ("byteSentUniqueTotal", ctypes.c_uint64),
        ("byteRecvUniqueTotal", ctypes.c_uint64),
        ("pktSentUnique", ctypes.c_int64),
        ("pktRecvUnique", ctypes.c_int64),
        ("byteSentUnique", ctypes.c_uint64),
        ("byteRecvUnique", ctypes.c_uint64),
    ]


class EpollEvent(ctypes.Structure):
    """``SRT_EPOLL_EVENT``: a socket and its ready flags."""

    _fields_ = [("fd", ctypes.c_int32), ("events", ctypes.c_int)]


#: ``int (*)(void* opaque, SRTSOCKET ns, int hsversion, const struct sockaddr* peer, const char* streamid)``
LISTEN_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p
)

#: ``name: (restype, argtypes)`` of every libsrt function called.
SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "srt_startup": (ctypes.c_int, []),
    "srt_cleanup": (ctypes.c_int, []),
    "srt_getversion": (ctypes.c_uint32, []),
    "srt_create_socket": (ctypes.c_int32, []),
    "srt_bind": (ctypes.c_int, [ctypes.c_int32, ctypes.c_void_p, ctypes.c_int]),
    "srt_listen": (ctypes.c_int, [ctypes.c_int32, ctypes.c_int]),
    "srt_accept": (ctypes.c_int32, [ctypes.c_int32, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]),
    "srt_listen_callback": (ctypes.c_int, [ctypes.c_int32, LISTEN_CALLBACK, ctypes.c_void_p]),
    "srt_close": (ctypes.c_int, [ctypes.c_int32]),
    "srt_getsockname": (ctypes.c_int, [ctypes.c_int32, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]),
    "srt_getpeername": (ctypes.c_int, [ctypes.c_int32, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]),
    "srt_setsockflag": (ctypes.c_int, [ctypes.c_int32, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]),
    "srt_getsockflag": (ctypes.c_int, [ctypes.c_int32, ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]),
    "srt_recvmsg": (ctypes.c_int, [ctypes.c_int32, ctypes.c_void_p, ctypes.c_int]),
    "srt_connect": (ctypes.c_int, [ctypes.c_int32, ctypes.c_void_p, ctypes.c_int]),
    "srt_sendmsg": (ctypes.c_int, [ctypes.c_int32, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]),
    "srt_getlasterror_str": (ctypes.c_char_p, []),
    "srt_getlasterror": (ctypes.c_int, [ctypes.POINTER(ctypes.c_int)]),
    "srt_clearlasterror": (None, []),
    "srt_getsockstate": (ctypes.c_int, [ctypes.c_int32]),
    "srt_setrejectreason": (ctypes.c_int, [ctypes.c_int32, ctypes.c_int]),
    "srt_getrejectreason": (ctypes.c_int, [ctypes.c_int32]),
    "srt_bstats": (ctypes.c_int, [ctypes.c_int32, ctypes.POINTER(CBytePerfMon), ctypes.c_int]),
    "srt_epoll_create": (ctypes.c_int, []),
    "srt_epoll_add_usock": (ctypes.c_int, [ctypes.c_int, ctypes.c_int32, ctypes.POINTER(ctypes.c_int)]),
    "srt_epoll_remove_usock": (ctypes.c_int, [ctypes.c_int, ctypes.c_int32]),
    "srt_epoll_uwait": (ctypes.c_int, [ctypes.c_int, ctypes.POINTER(EpollEvent), ctypes.c_int, ctypes.c_int64]),
    "srt_epoll_set": (ctypes.c_int32, [ctypes.c_int, ctypes.c_int32]),
    "srt_epoll_release": (ctypes.c_int, [ctypes.c_int]),
    "srt_setloglevel": (None, [ctypes.c_int]),
}
