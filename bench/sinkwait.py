#!/usr/bin/python3
"""sinkwait.py DIR N TIMEOUT_S [STALL_S]: wait until DIR (smtp-sink's dump tree, one file per
message, in hourly subfolders) holds at least N files, or TIMEOUT_S passed, or the count did not
change for STALL_S (60); print count=, last_mtime= (the newest file's mtime: when the last
message arrived, independent of the poll interval) and timed_out=."""
import os
import sys
import time


def files(d):
    out = []
    for root, _dirs, names in os.walk(d):
        out.extend(os.path.join(root, n) for n in names)
    return out


def main():
    d, n, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    stall = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    deadline = time.time() + timeout
    last_c, last_change = -1, time.time()
    while True:
        c = len(files(d))
        if c != last_c:
            last_c, last_change = c, time.time()
        if c >= n or time.time() > deadline or time.time() - last_change > stall:
            break
        time.sleep(0.5)
    last = 0.0
    for p in files(d):
        try:
            last = max(last, os.stat(p).st_mtime)
        except OSError:
            pass
    print("count=%d last_mtime=%.6f timed_out=%d" % (c, last, 0 if c >= n else 1))


if __name__ == "__main__":
    main()
