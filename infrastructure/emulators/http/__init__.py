"""The http/https emulator: request parsing, login pages, credential capture, TLS."""
