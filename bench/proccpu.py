#!/usr/bin/python3
"""proccpu.py PIDFILE...: CPU seconds used so far by the process trees under the PIDs in the
files: user + system of every live process plus what its reaped children used (cutime,
cstime of /proc/PID/stat), so processes that came and went (a Postfix smtpd, a Dovecot
pop3) are counted by the parent that reaped them. Prints cpu_s= nproc=."""
import os
import sys


def stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()


def main():
    roots = []
    for a in sys.argv[1:]:
        try:
            with open(a) as f:
                roots.append(int(f.read().split()[0]))
        except (OSError, ValueError, IndexError):
            pass
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                children.setdefault(int(stat(int(d))[1]), []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    seen, todo, ticks = set(), list(roots), 0
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            f = stat(p)
            ticks += sum(int(x) for x in f[11:15])   # utime stime cutime cstime
        except (OSError, ValueError, IndexError):
            continue
        todo.extend(children.get(p, []))
    print("cpu_s=%.2f nproc=%d" % (ticks / os.sysconf("SC_CLK_TCK"), len(seen)))


if __name__ == "__main__":
    main()
