#!/usr/bin/python3
"""silent.py PORT: a next hop that accepts connections on 127.0.0.1:PORT and never answers
(the relay_slow load's silent destination). Runs until killed."""
import socket
import sys
import time

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(512)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    time.sleep(0)
