"""The postgres emulator: startup packet, SSL/GSS requests and authentication of a real backend."""
