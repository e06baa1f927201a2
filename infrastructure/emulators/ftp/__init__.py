"""The ftp emulator: control channel, passive data channels, a fake tree, STOR uploads."""
