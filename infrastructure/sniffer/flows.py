"""Collects the first bytes of client-to-decky TCP flows until a ClientHello is whole.

A flow is only tracked once a segment opens like a ClientHello, so port scans and plaintext
protocols cost no state. Out-of-order data abandons the flow: the ClientHello is the client's
first flight and arrives in order on any sane path.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from infrastructure.sniffer.packets import TcpSegment
from infrastructure.sniffer.tls_hello import (
    MAX_HELLO,
    ClientHello,
    NotClientHelloError,
    hello_body,
    looks_like_hello_start,
    parse_client_hello,
)

FlowKey = tuple[str, int, str, int]
_SEQ_MOD = 2**32
MAX_BUFFER = MAX_HELLO + 1024  # room for record headers around the largest accepted hello


@dataclass(slots=True)
class _Flow:
    next_seq: int
    started: float
    data: bytearray = field(default_factory=bytearray)


class HelloAssembler:
    """Per-flow buffers, bounded in count (`max_flows`) and age (`ttl_s`)."""

    def __init__(self, max_flows: int = 4096, ttl_s: float = 30.0) -> None:
        self._flows: OrderedDict[FlowKey, _Flow] = OrderedDict()
        self._max = max_flows
        self._ttl = ttl_s

    def __len__(self) -> int:
        return len(self._flows)

    def feed(self, seg: TcpSegment, now: float) -> ClientHello | None:
        """Add one client-to-decky segment; the ClientHello once complete, else None."""
        self._expire(now)
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        if seg.closes:
            self._flows.pop(key, None)
            return None
        if not seg.payload:
            return None
        flow = self._flows.get(key) or self._open(key, seg, now)
        if flow is None or not self._append(key, flow, seg):
            return None
        return self._complete(key, flow)

    def _open(self, key: FlowKey, seg: TcpSegment, now: float) -> _Flow | None:
        if not looks_like_hello_start(seg.payload):
            return None
        flow = _Flow(next_seq=seg.seq, started=now)
        self._flows[key] = flow
        if len(self._flows) > self._max:
            self._flows.popitem(last=False)
        return flow

    def _append(self, key: FlowKey, flow: _Flow, seg: TcpSegment) -> bool:
        gap = (seg.seq - flow.next_seq) % _SEQ_MOD
        if gap >= _SEQ_MOD // 2:
            return False  # a retransmission or duplicate of bytes already held
        if gap:
            del self._flows[key]  # a hole: give up rather than guess
            return False
        flow.data += seg.payload
        flow.next_seq = (seg.seq + len(seg.payload)) % _SEQ_MOD
        return True

    def _complete(self, key: FlowKey, flow: _Flow) -> ClientHello | None:
        try:
            body = hello_body(bytes(flow.data))
            if body is None:
                if len(flow.data) > MAX_BUFFER:
                    del self._flows[key]
                return None
            hello = parse_client_hello(body)
        except NotClientHelloError:
            del self._flows[key]
            return None
        del self._flows[key]
        return hello

    def _expire(self, now: float) -> None:
        while self._flows:
            key, flow = next(iter(self._flows.items()))
            if now - flow.started < self._ttl:
                return
            del self._flows[key]
