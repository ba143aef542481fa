"""Stream id parsing and the per-address failure log (pure code)."""

from __future__ import annotations

import pytest

from vidlake.live.srt.abi import SRT_REJX_BAD_MODE, SRT_REJX_BAD_REQUEST
from vidlake.live.srt.failures import FailureLog
from vidlake.live.srt.streamid import BadStreamId, StreamId, parse_stream_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("abcDEF123_-.~", StreamId("abcDEF123_-.~")),
        ("#!::r=KEY", StreamId("KEY")),
        ("#!::r=KEY,m=publish", StreamId("KEY")),
        ("#!::m=publish,r=KEY,u=alice,s=xyz", StreamId("KEY", extra={"u": "alice", "s": "xyz"})),
        ("#!::r=KEY,t=stream,m=publish,x=ignored", StreamId("KEY")),
    ],
)
def test_accepted_stream_ids(raw: str, expected: StreamId) -> None:
    assert parse_stream_id(raw) == expected


def test_extra_fields_become_a_query() -> None:
    assert parse_stream_id("#!::r=K,u=bob,s=1").query() == "s=1&u=bob"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", SRT_REJX_BAD_REQUEST),
        ("#!::m=publish", SRT_REJX_BAD_REQUEST),  # no resource
        ("#!::r=", SRT_REJX_BAD_REQUEST),
        ("#!::r=a,r=b", SRT_REJX_BAD_REQUEST),  # duplicate field
        ("#!::r", SRT_REJX_BAD_REQUEST),
        ("#!:{\"r\":\"KEY\"}", SRT_REJX_BAD_REQUEST),  # nested syntax is not supported
        ("#!::r=KEY,m=request", SRT_REJX_BAD_MODE),
        ("#!::r=KEY,m=bidirectional", SRT_REJX_BAD_MODE),
        ("#!::r=KEY,t=file", SRT_REJX_BAD_MODE),
        ("key with spaces", SRT_REJX_BAD_REQUEST),
        ("ключ", SRT_REJX_BAD_REQUEST),
        ("a,b", SRT_REJX_BAD_REQUEST),
        ("x" * 300, SRT_REJX_BAD_REQUEST),
        ("#!::r=" + "x" * 600, SRT_REJX_BAD_REQUEST),
    ],
)
def test_refused_stream_ids(raw: str, code: int) -> None:
    with pytest.raises(BadStreamId) as info:
        parse_stream_id(raw)
    assert info.value.reject_code == code


def test_failure_log_blocks_after_limit_within_window() -> None:
    log = FailureLog(window_s=10.0, limit=3)
    for t in (0.0, 1.0):
        log.record("10.0.0.1", now=t)
    assert not log.blocked("10.0.0.1", now=2.0)
    log.record("10.0.0.1", now=2.0)
    assert log.blocked("10.0.0.1", now=2.0)
    assert not log.blocked("10.0.0.2", now=2.0)
    assert log.count("10.0.0.1", now=10.5) == 2  # the failure at t=0 left the window
    assert not log.blocked("10.0.0.1", now=10.5)
    assert log.count("10.0.0.1", now=100.0) == 0


def test_failure_log_memory_is_bounded() -> None:
    log = FailureLog(window_s=60.0, limit=5, max_addresses=100)
    for i in range(1000):
        log.record(f"10.0.{i // 256}.{i % 256}", now=1.0)
    assert sum(log.count(f"10.0.{i // 256}.{i % 256}", now=1.0) for i in range(1000)) == 100
