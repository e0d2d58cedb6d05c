# Runs bash cells for a "bash" context inside an ipykernel. Loaded silently
# into the kernel by the code-interpreter server; do not import elsewhere.
import os as _os
import selectors as _selectors
import signal as _signal
import subprocess as _subprocess
import sys as _sys
import tempfile as _tempfile
import uuid as _uuid


class BashExit(Exception):
    """The cell's last command exited with a non-zero status."""

    def _render_traceback_(self):
        return [str(self)]


class _Bash:
    def __init__(self):
        self._proc = None
        self._saved = {}
        self._cwd = _os.getcwd()

    def _start(self):
        self._proc = _subprocess.Popen(
            ["/bin/bash", "--noprofile", "--norc"],
            stdin=_subprocess.PIPE, stdout=_subprocess.PIPE, stderr=_subprocess.PIPE,
            cwd=self._cwd, start_new_session=True,
        )

    def _alive(self):
        return self._proc is not None and self._proc.poll() is None

    def _send(self, script):
        if not self._alive():
            self._start()
        fd, path = _tempfile.mkstemp(prefix="e2b-bash-", suffix=".sh")
        with _os.fdopen(fd, "w") as f:
            f.write(script)
        marker = "__E2B_DONE_" + _uuid.uuid4().hex
        self._proc.stdin.write(
            ('source %s; __e2b_rc=$?; rm -f %s; printf "%s %%d\\n" "$__e2b_rc"; printf "%s\\n" >&2\n'
             % (path, path, marker, marker)).encode())
        self._proc.stdin.flush()
        return marker.encode()

    def _pump(self, marker):
        streams = {self._proc.stdout.fileno(): _sys.stdout, self._proc.stderr.fileno(): _sys.stderr}
        pending = {fd: b"" for fd in streams}
        rc = None
        done = set()
        sel = _selectors.DefaultSelector()
        for fd in streams:
            sel.register(fd, _selectors.EVENT_READ)
        try:
            while len(done) < len(streams):
                for key, _ in sel.select():
                    fd = key.fd
                    chunk = _os.read(fd, 65536)
                    if not chunk:  # bash exited (e.g. the cell ran `exit`)
                        done.add(fd)
                        sel.unregister(fd)
                        continue
                    buf = pending[fd] + chunk
                    idx = buf.find(marker)
                    if idx >= 0:
                        tail = buf[idx + len(marker):].strip()
                        if tail:
                            rc = int(tail)
                        buf, done_now = buf[:idx], True
                    else:
                        done_now = False
                    keep = 0 if done_now else _partial_marker(buf, marker)
                    out, pending[fd] = buf[:len(buf) - keep], buf[len(buf) - keep:]
                    if out:
                        streams[fd].write(out.decode("utf-8", "replace"))
                        streams[fd].flush()
                    if done_now:
                        done.add(fd)
                        sel.unregister(fd)
                        pending[fd] = b""
        finally:
            sel.close()
        for fd, buf in pending.items():
            if buf:
                streams[fd].write(buf.decode("utf-8", "replace"))
        if rc is None:
            rc = self._proc.wait()
            self._proc = None
        return rc

    def run(self, code):
        marker = self._send(code)
        try:
            rc = self._pump(marker)
        except KeyboardInterrupt:
            self._kill()
            raise
        if rc:
            raise BashExit("bash: exit status %d" % rc)

    def _kill(self):
        # Interrupting a cell ends the bash session (keeping its directory).
        try:
            self._cwd = _os.readlink("/proc/%d/cwd" % self._proc.pid)
        except OSError:
            pass
        try:
            _os.killpg(self._proc.pid, _signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._proc.wait()
        self._proc = None

    def _quiet(self, script):
        marker = self._send(script)
        self._pump(marker)

    def export(self, env):
        _os.environ.update(env)
        self._quiet("".join("export %s=%s\n" % (k, _quote(v)) for k, v in env.items()))

    def set_env(self, env):
        self._saved = {k: _os.environ.get(k) for k in env}
        self._quiet("".join(
            "__e2b_saved_%s=${%s-__E2B_UNSET__}\nexport %s=%s\n" % (k, k, k, _quote(v)) for k, v in env.items()))

    def restore_env(self):
        self._quiet("".join(
            'if [ "$__e2b_saved_%s" = __E2B_UNSET__ ]; then unset %s; else export %s="$__e2b_saved_%s"; fi; unset __e2b_saved_%s\n'
            % (k, k, k, k, k) for k in self._saved))
        self._saved = {}


def _partial_marker(buf, marker):
    """Length of the longest tail of buf that is a start of marker."""
    for k in range(min(len(buf), len(marker) - 1), 0, -1):
        if buf.endswith(marker[:k]):
            return k
    return 0


def _quote(v):
    return "'" + v.replace("'", "'\\''") + "'"


__e2b_bash = _Bash()
