"""Passive fingerprints of traffic to deckies: TCP SYN (p0f-style), TLS ClientHello (JA3, JA4)."""

from infrastructure.sniffer.capture import CaptureUnavailableError, open_scapy_source
from infrastructure.sniffer.worker import SnifferWorker

__all__ = ["CaptureUnavailableError", "SnifferWorker", "open_scapy_source"]
