"""The ssh emulator: asyncssh server, auth, fake shell channels, SFTP/SCP uploads."""
