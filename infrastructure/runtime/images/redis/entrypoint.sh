#!/bin/bash
# `redis-server ARGS` as the redis user. Started without a config file Redis enables
# protected mode, which refuses every client but loopback when no password is set; in a
# container the clients are other containers, so, as the official image does, protected mode
# is turned off unless the arguments set it. Anything else runs as given.
set -euo pipefail

if [ "${1:-}" = redis-server ]; then
  if [[ " $* " != *" --protected-mode "* ]]; then
    set -- "$@" --protected-mode no
  fi
  if [ "$(id -u)" = 0 ]; then
    chown redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
