"""Real-protocol honeypot emulators plugged into the decky runtimes."""
