#!/usr/bin/env python3
"""A local SMTP server for the customer-message tests: every message it accepts is written whole to
DIRECTORY/NNNN.eml (in arrival order). Prints "listening on PORT" once ready; runs until killed.

Usage: smtp_sink.py DIRECTORY
"""
import os
import socket
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = os.path.join(self.directory, "%04d.eml" % self.count)
        with open(name + ".part", "wb") as out:
            out.write(envelope.original_content or envelope.content)
        os.rename(name + ".part", name)
        return "250 OK"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    directory = sys.argv[1]
    os.makedirs(directory, exist_ok=True)
    port = free_port()
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("listening on %d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
