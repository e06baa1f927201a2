"""The mysql emulator: the handshake and login exchange of the wire protocol."""
