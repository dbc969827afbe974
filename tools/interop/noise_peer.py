#!/usr/bin/env python3
"""An independent Outpost line peer built on the `noiseprotocol` package (not on Outpost's code).

It implements protocol/SPEC.md from the spec alone: framing, the Noise_IK handshake with the Outpost
prologue, the dialler's confirmation PING, and `VERB <json>\\n[body]` records. Used by the interop tests:

    noise_peer.py dial HOST PORT --key PRIV_HEX --listener PUB_HEX --network HEX
        dials, sends ECHO records with bodies, expects ECHOED copies back, says BYE; exit 0 on success
    noise_peer.py listen --key PRIV_HEX --network HEX --trust PUB_HEX
        prints `port N`, accepts one dialler it trusts, echoes every record as ECHOED until BYE; exit 0
    noise_peer.py vectors protocol/vectors/line-session.json
        recomputes every wire byte of the session vector independently; exit 0 when all match
"""
import argparse
import json
import socket
import struct
import sys

from noise.connection import Keypair, NoiseConnection

PROTOCOL = b"Noise_IK_25519_ChaChaPoly_SHA256"
BANNER = b"OUTPOST/1"
MAX_CHUNK = 65535 - 16


def read_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def read_frame(sock):
    (length,) = struct.unpack(">I", read_exact(sock, 4))
    if not 1 <= length <= 65535:
        raise ValueError(f"bad frame length {length}")
    return read_exact(sock, length)


def write_frame(sock, body):
    sock.sendall(struct.pack(">I", len(body)) + body)


class Records:
    def __init__(self, sock, noise):
        self.sock, self.noise, self.buffer = sock, noise, b""

    def send(self, verb, obj=None, body=b""):
        obj = dict(obj or {})
        if body:
            obj = {"body": len(body), **obj}
        data = verb.encode() + b" " + json.dumps(obj, separators=(",", ":")).encode() + b"\n" + body
        for start in range(0, len(data), MAX_CHUNK):
            write_frame(self.sock, self.noise.encrypt(data[start:start + MAX_CHUNK]))

    def receive(self):
        while b"\n" not in self.buffer:
            self.buffer += self.noise.decrypt(read_frame(self.sock))
        line, self.buffer = self.buffer.split(b"\n", 1)
        verb, text = line.decode().split(" ", 1)
        obj = json.loads(text)
        length = obj.get("body", 0)
        while len(self.buffer) < length:
            self.buffer += self.noise.decrypt(read_frame(self.sock))
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return verb, obj, body


def connection(key, network, initiator, remote=None):
    noise = NoiseConnection.from_name(PROTOCOL)
    noise.set_as_initiator() if initiator else noise.set_as_responder()
    noise.set_keypair_from_private_bytes(Keypair.STATIC, bytes.fromhex(key))
    if remote:
        noise.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, bytes.fromhex(remote))
    noise.set_prologue(BANNER + bytes.fromhex(network))
    noise.start_handshake()
    return noise


def dial(args):
    sock = socket.create_connection((args.host, args.port), timeout=10)
    noise = connection(args.key, args.network, True, args.listener)
    write_frame(sock, noise.write_message(b'{"peer":"python"}'))
    hello = noise.read_message(read_frame(sock))
    assert noise.handshake_finished
    records = Records(sock, noise)
    records.send("PING", {"n": 0})  # the dialler's confirmation (SPEC: "Handshake")
    for index in range(5):
        body = bytes((index * 7 + i) % 256 for i in range(index * 40000))
        records.send("ECHO", {"n": index}, body)
        while True:
            verb, obj, got = records.receive()
            if verb != "PONG":
                break
        if verb != "ECHOED" or obj.get("n") != index or got != body:
            print(f"unexpected reply {verb} {obj} ({len(got)} bytes)", file=sys.stderr)
            return 1
    records.send("BYE")
    print(f"ok: 5 records echoed; listener said {hello.decode()}")
    return 0


def listen(args):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    print(f"port {server.getsockname()[1]}", flush=True)
    sock, _ = server.accept()
    sock.settimeout(10)
    noise = connection(args.key, args.network, False)
    hello = noise.read_message(read_frame(sock))
    remote = noise.noise_protocol.handshake_state.rs.public_bytes
    if remote.hex() != args.trust:
        print("untrusted dialler", file=sys.stderr)
        return 1
    write_frame(sock, noise.write_message(b'{"peer":"python-listener"}'))
    records = Records(sock, noise)
    count = 0
    while True:
        verb, obj, body = records.receive()
        if verb == "PING":
            records.send("PONG", obj)
        elif verb == "BYE":
            print(f"ok: echoed {count} records; dialler said {hello.decode()}")
            return 0
        else:
            records.send("ECHOED", obj, body)
            count += 1


def record_bytes(verb, obj_text, body):
    if body:
        obj = json.loads(obj_text)
        obj_text = json.dumps({"body": len(body), **obj}, separators=(",", ":"))
    return verb.encode() + b" " + obj_text.encode() + b"\n" + body


def vectors(args):
    v = json.load(open(args.file))
    prologue = v["banner"].encode() + bytes.fromhex(v["network_id"])
    assert prologue.hex() == v["prologue"], "prologue"
    sides = {}
    for name, initiator in (("dialler", True), ("listener", False)):
        noise = NoiseConnection.from_name(PROTOCOL)
        noise.set_as_initiator() if initiator else noise.set_as_responder()
        noise.set_keypair_from_private_bytes(Keypair.STATIC, bytes.fromhex(v[f"{name}_static_private"]))
        noise.set_keypair_from_private_bytes(Keypair.EPHEMERAL, bytes.fromhex(v[f"{name}_ephemeral_private"]))
        if initiator:
            noise.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, bytes.fromhex(v["listener_static_public"]))
        noise.set_prologue(prologue)
        noise.start_handshake()
        sides[name] = noise
    frame = lambda body: struct.pack(">I", len(body)) + body
    steps = v["steps"]
    one = frame(sides["dialler"].write_message(bytes.fromhex(v["dialler_hello"])))
    assert one.hex() == steps[0]["wire"], "message one"
    assert sides["listener"].read_message(one[4:]).hex() == v["dialler_hello"]
    two = frame(sides["listener"].write_message(bytes.fromhex(v["listener_hello"])))
    assert two.hex() == steps[1]["wire"], "message two"
    sides["dialler"].read_message(two[4:])
    for index, step in enumerate(steps[2:], start=2):
        r = step["record"]
        sender = sides[step["from"]]
        receiver = sides["listener" if step["from"] == "dialler" else "dialler"]
        wire = frame(sender.encrypt(record_bytes(r["verb"], r["json"], bytes.fromhex(r["body"]))))
        assert wire.hex() == step["wire"], f"step {index} ({r['verb']})"
        receiver.decrypt(wire[4:])
    print(f"ok: all {len(steps)} steps of {args.file} reproduced independently")
    return 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    d = sub.add_parser("dial")
    d.add_argument("host")
    d.add_argument("port", type=int)
    d.add_argument("--key", required=True)
    d.add_argument("--listener", required=True)
    d.add_argument("--network", required=True)
    l = sub.add_parser("listen")
    l.add_argument("--key", required=True)
    l.add_argument("--network", required=True)
    l.add_argument("--trust", required=True)
    vec = sub.add_parser("vectors")
    vec.add_argument("file")
    args = parser.parse_args()
    return {"dial": dial, "listen": listen, "vectors": vectors}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
