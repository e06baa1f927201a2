"""The smtp emulator: an open-looking relay that stores each message as an artifact."""
