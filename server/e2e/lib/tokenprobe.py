# Looks, from inside a sandbox, for secrets everywhere a process of the sandbox might read them: the
# environment, command line, open descriptors and memory of every process, and the sandbox's own
# files. It is given only SHA-256 digests of the secrets (so that it holds none itself) and hashes
# every run of 64 hex characters it comes across. Prints JSON: where each digest was found, and how
# much of each kind it could read (to show that it looked).
import hashlib
import json
import os
import re
import sys

HEX = re.compile(rb"[0-9a-f]{64,}")


def probe(digests):
    want = {bytes.fromhex(d): name for name, d in digests.items()}
    found = {name: [] for name in digests}
    read = {"environ": 0, "cmdline": 0, "fd": 0, "mem": 0, "files": 0}

    def scan(data, where):
        for m in HEX.finditer(data):
            run = m.group()
            for i in range(len(run) - 63):
                name = want.get(hashlib.sha256(run[i:i + 64]).digest())
                if name and where not in found[name]:
                    found[name].append(where)

    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        base = "/proc/" + pid
        for kind in ("environ", "cmdline"):
            try:
                with open(base + "/" + kind, "rb") as f:
                    scan(f.read(), kind + ":" + pid)
                read[kind] += 1
            except OSError:
                pass
        try:
            fds = os.listdir(base + "/fd")
        except OSError:
            fds = []
        for fd in fds:
            path = base + "/fd/" + fd
            try:
                target = os.readlink(path)
                if target.startswith("socket:") or target.startswith("/dev/"):
                    continue
                f = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
                try:
                    scan(os.read(f, 1 << 20), "fd:" + pid + "/" + fd)
                    read["fd"] += 1
                finally:
                    os.close(f)
            except OSError:
                pass
        try:
            with open(base + "/maps") as maps, open(base + "/mem", "rb", 0) as mem:
                total = 0
                for line in maps:
                    addr, perms = line.split()[:2]
                    if not perms.startswith("r") or "[vvar" in line or "[vsyscall" in line:
                        continue
                    lo, hi = (int(x, 16) for x in addr.split("-"))
                    if total + hi - lo > 512 << 20:
                        continue
                    try:
                        mem.seek(lo)
                        scan(mem.read(hi - lo), "mem:" + pid)
                        total += hi - lo
                    except (OSError, OverflowError, ValueError):
                        pass
                if total:
                    read["mem"] += 1
        except OSError:
            pass
    for top in ("/run", "/tmp", "/home", "/root", "/etc", "/var/tmp", "/opt"):
        for d, _, files in os.walk(top):
            for n in files:
                p = os.path.join(d, n)
                try:
                    if os.path.islink(p) or os.path.getsize(p) > 1 << 20:
                        continue
                    with open(p, "rb") as f:
                        scan(f.read(), "file:" + p)
                    read["files"] += 1
                except OSError:
                    pass
    return {"found": found, "read": read}


if __name__ == "__main__":
    print(json.dumps(probe(dict(a.split("=", 1) for a in sys.argv[1:]))))
