"""The telnet emulator: option negotiation, login prompt and the fake shell."""
