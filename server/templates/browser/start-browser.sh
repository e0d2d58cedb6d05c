#!/bin/sh
# The browser template's Chromium in the Kubernetes image: headless, with its DevTools protocol (CDP) on
# 127.0.0.1:9222, as the sandbox's user. The flags are the local template's (ChromiumFlags in
# server/builtin/browser.go, which says why each is there; a test keeps the two lists equal). CDP
# listens on loopback only: the manager reaches it through envd's port forwarding, never over the pod
# network, where any other pod could drive the browser.
set -eu
if [ "$(id -u)" = 0 ]; then
  # As in E2B's templates: pages, downloads and the profile belong to `user`, Chromium can keep its own
  # sandbox (as root it runs only with --no-sandbox), and a compromised browser process is not root.
  exec env HOME=/home/user USER=user LOGNAME=user runuser -u user -- "$0" "$@"
fi
# Chromium's own sandbox needs unprivileged user namespaces, which the container runtime's default
# seccomp profile refuses: then the pod is the only boundary (as chromiumSandboxProbe in browser.go).
nosandbox=
if ! unshare --user --map-root-user --pid --net --fork true 2>/dev/null; then
  nosandbox=--no-sandbox
  echo "chromium: no user namespaces here, so without its own sandbox (--no-sandbox)" >&2
fi
# The browser is the sandbox's service: it starts again whenever it exits. Debian's Chromium 148
# sometimes dies of a segfault while it starts on a loaded machine, and a CDP client may close it
# (Browser.close); either way the next client finds a browser, with the same profile. A TERM (docker
# stop, when this script is the container's first process) ends both.
child=
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 143' TERM INT
while :; do
  /usr/bin/chromium $nosandbox \
    --headless \
    --disable-gpu \
    --disable-dev-shm-usage \
    --no-first-run \
    --no-default-browser-check \
    --disable-quic \
    --disable-background-networking \
    --disable-component-update \
    --disable-sync \
    --disable-breakpad \
    --disable-domain-reliability \
    --disable-client-side-phishing-detection \
    --disable-default-apps \
    --disable-field-trial-config \
    --metrics-recording-only \
    --no-pings \
    --password-store=basic \
    --disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,PreconnectToSearch,AutofillServerCommunication,CertificateTransparencyComponentUpdater \
    --remote-debugging-address=127.0.0.1 \
    --remote-debugging-port=9222 \
    --user-data-dir=/home/user/.config/chromium-cdp \
    "$@" about:blank &
  child=$!
  status=0
  wait "$child" || status=$?
  echo "chromium exited with status $status; starting it again in 1 s" >&2
  sleep 1
done
