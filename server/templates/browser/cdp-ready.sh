#!/bin/bash
# Exits 0 once Chromium's DevTools endpoint answers GET /json/version with 200 (Chromium accepts
# connections a moment before it answers them). For an exec startup probe: CDP listens on the pod's
# loopback only, out of reach of the kubelet's TCP and HTTP probes. Usage: cdp-ready [port]
set -u
port="${1:-9222}"
{ exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || exit 1
printf 'GET /json/version HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$port" >&3
IFS= read -r -t 5 status <&3 || exit 1
case "$status" in
  "HTTP/1.1 200 "*) exit 0 ;;
esac
exit 1
