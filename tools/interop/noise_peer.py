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
    noise_peer.py keygen
        prints {"private": HEX, "public": "opk_…"}: a new X25519 key pair
    noise_peer.py create-order HOST PORT --key PRIV_HEX --listener opk_… --network onet_… --email E --line SKU:QTY:MINOR…
        runs one sync session (SPEC part B) with an `outpost serve`: takes its stream (ACK, DONE) and pushes one new
        transaction creating the customer, the order and its lines (SPEC §11, §14); prints the order number
    noise_peer.py live HOST PORT --key PRIV_HEX --listener opk_… --network onet_… --ready FILE [--count N]
        offers a live session (SPEC §15): takes the hub's stream, sends an empty one, writes FILE once live, then
        decodes each LIVE delta against the session's tables, prints it as a JSON line and acknowledges it
        (LACK); says BYE after N deltas (default 1)
"""
import argparse
import base64
import json
import os
import socket
import struct
import sys
import time

from noise.connection import Keypair, NoiseConnection

PROTOCOL = b"Noise_IK_25519_ChaChaPoly_SHA256"
BANNER = b"OUTPOST/1"
MAX_CHUNK = 65535 - 16


SCHEMA = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "protocol", "schema.json")))["schema"]


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


def b64url(text, prefix):
    body = text[len(prefix):]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def keygen(args):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    key = X25519PrivateKey.generate()
    raw = serialization.Encoding.Raw
    private = key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    public = key.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    print(json.dumps({"private": private.hex(),
                      "public": "opk_" + base64.urlsafe_b64encode(public).decode().rstrip("=")}))
    return 0


# --- SPEC §11: the CHANGES body ---

def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_value(value):
    if value is None:
        return b"\x00"
    if isinstance(value, int):
        return b"\x01" + varint((value << 1) ^ (value >> 63))  # zigzag
    data = value.encode()
    return b"\x02" + varint(len(data)) + data


def batch_body(site, records, counter, hybrid):
    """One transaction's records; every field one sibling under the dot (site index 0, counter)."""
    out = bytearray([1]) + varint(1) + bytes.fromhex(site) + varint(len(records))
    for code, record_id, values in records:
        ident = record_id.encode()
        out += bytes([code]) + varint(len(ident)) + ident + varint(len(values))
        for value in values:
            out += varint(1) + varint(0) + varint(counter) + varint(hybrid) + field_value(value)
    return bytes(out)


# --- SPEC §14: ids and numbers ---

def fnv1a128(data):
    value = 0x6c62272e07bb014262b821756295c58d
    for byte in data:
        value ^= byte
        value = (value * ((1 << 88) + 0x13B)) % (1 << 128)
    return bytearray(value.to_bytes(16, "big"))


def uuid_text(raw):
    h = raw.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def customer_id(email):
    raw = fnv1a128(("customer:" + email.strip().lower()).encode())
    raw[6] = (raw[6] & 0x0F) | 0x80
    raw[8] = (raw[8] & 0x3F) | 0x80
    return uuid_text(raw)


def uuid7(milliseconds):
    raw = bytearray(milliseconds.to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return uuid_text(raw)


def number_prefix(site):
    bits = int(site[:16], 16)
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "".join(alphabet[(bits >> (5 * k)) & 31] for k in range(4))


def open_line(args, site, name, timeout):
    """Dials `outpost serve` as `site` (SPEC §2, §10): the handshake with the sync hello, then the confirmation PING."""
    sock = socket.create_connection((args.host, args.port), timeout=timeout)
    listener = b64url(args.listener, "opk_").hex()
    network = b64url(args.network, "onet_").hex()
    noise = connection(args.key, network, True, listener)
    write_frame(sock, noise.write_message(json.dumps({"site": site, "name": name}).encode()))
    noise.read_message(read_frame(sock))
    line = Records(sock, noise)
    line.send("PING", {"n": 0})
    return sock, line


def exchange(line, on_hello):
    """A session's exchange (SPEC §10): on the peer's HELLO `on_hello` sends this side's stream (False: give up);
    the peer's stream is acknowledged and merged (here: taken and dropped). Returns once both DONEs are out."""
    sent_done = got_done = False
    while not (sent_done and got_done):
        verb, obj, _ = line.receive()
        if verb == "HELLO":
            if not on_hello(obj):
                return False
        elif verb == "CHANGES":
            line.send("ACK", {"batch": obj["batch"]})
        elif verb == "END":
            line.send("DONE", {"rows": 0, "changed": 0, "conflicts": 0})
            sent_done = True
        elif verb == "DONE":
            got_done = True
        elif verb == "ERROR":
            print(f"the peer refused: {obj}", file=sys.stderr)
            return False
    return True


def create_order(args):
    site = os.urandom(16).hex()
    now = int(time.time() * 1000)
    hybrid = now << 16
    number = f"{number_prefix(site)}-1"
    order = uuid7(now)
    customer = customer_id(args.email)
    # Fields in schema order (§13 / schema.json); one transaction, dot (site, 1).
    records = [
        (0, customer, [args.email, None, None, None, now]),
        (1, order, [number, customer, "web", "main", "EUR", None, None, None, None, now, "from python", None, None,
                    None, None, None, None]),
    ]
    for position, text in enumerate(args.line):
        sku, quantity, minor = text.split(":")
        records.append((2, uuid7(now), [order, sku, sku, int(quantity), int(minor), None, position]))
    body = batch_body(site, records, 1, hybrid)
    lseq = len(records)

    sock, records_line = open_line(args, site, "python-till", timeout=20)
    # The replicated schema's version, from protocol/schema.json (SPEC §13).
    records_line.send("HELLO", {"schema": SCHEMA, "vector": {}, "cursor": 0})
    def send_stream(hello):
        if hello.get("schema") != SCHEMA:
            print(f"schema {hello.get('schema')}", file=sys.stderr)
            return False
        records_line.send("STREAM", {"total": len(records)})
        records_line.send("CHANGES", {"batch": 1, "position": [2, lseq], "snapshot": lseq}, body)
        vector = {site: 1}
        # --claim SITE=COUNTER forges entries of other sites (a hostile peer, for tests).
        for claim in args.claim or []:
            other, counter = claim.split("=")
            vector[other] = int(counter)
        records_line.send("END", {"vector": vector, "snapshot": lseq})
        return True

    if not exchange(records_line, send_stream):
        return 1
    records_line.send("BYE")
    sock.close()
    print(json.dumps({"number": number, "order_id": order, "customer_id": customer, "site": site}))
    return 0


# --- SPEC §15: live deltas ---

class Reader:
    def __init__(self, data):
        self.data, self.offset = data, 0

    def varint(self):
        result, shift = 0, 0
        while True:
            byte = self.data[self.offset]
            self.offset += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7

    def take(self, count):
        chunk = self.data[self.offset:self.offset + count]
        if len(chunk) != count:
            raise ValueError("cut short")
        self.offset += count
        return chunk

    def value(self):
        tag = self.take(1)[0]
        if tag == 0:
            return None
        if tag == 1:
            raw = self.varint()
            return (raw >> 1) ^ -(raw & 1)
        if tag == 2:
            return self.take(self.varint()).decode()
        raise ValueError(f"value tag {tag}")


class LiveTables:
    """One direction's tables (SPEC §15): all start empty when the live phase begins."""

    def __init__(self):
        self.sites, self.vector, self.rows, self.snapshot, self.time = [], {}, [], 0, 0

    def decode(self, body):
        reader = Reader(body)
        for _ in range(reader.varint()):
            self.sites.append(reader.take(16).hex())
        for _ in range(reader.varint()):
            site = self.sites[reader.varint()]
            self.vector[site] = reader.varint()
        self.snapshot += reader.varint()
        rows = []
        for _ in range(reader.varint()):
            ref = reader.varint()
            if ref == 0:
                entity = reader.take(1)[0]
                ident = reader.take(reader.varint()).decode()
                if len(self.rows) < 65536:
                    self.rows.append((entity, ident))
            else:
                entity, ident = self.rows[ref - 1]
            fields = {}
            for _ in range(reader.varint()):
                index = reader.varint()
                siblings = []
                for _ in range(reader.varint()):
                    site = self.sites[reader.varint()]
                    counter = self.vector[site] - reader.varint()
                    raw = reader.varint()
                    self.time += (raw >> 1) ^ -(raw & 1)
                    siblings.append({"site": site, "counter": counter, "time": self.time, "value": reader.value()})
                fields[str(index)] = siblings
            rows.append({"entity": entity, "id": ident, "fields": fields})
        if reader.offset != len(body):
            raise ValueError("trailing bytes")
        return {"rows": rows, "vector": dict(self.vector), "snapshot": self.snapshot}


def live(args):
    site = os.urandom(16).hex()
    sock, line = open_line(args, site, "python-screen", timeout=60)
    line.send("HELLO", {"schema": SCHEMA, "vector": {}, "cursor": 0, "features": ["live"]})
    def send_nothing(hello):
        if "live" not in hello.get("features", []):
            print("the peer offers no live session", file=sys.stderr)
            return False
        line.send("END", {"vector": {}, "snapshot": 0})
        return True

    if not exchange(line, send_nothing):
        return 1
    with open(args.ready, "w") as ready:
        ready.write("live\n")
    tables = LiveTables()
    received = 0
    while received < args.count:
        verb, obj, body = line.receive()
        if verb == "LIVE":
            print(json.dumps(tables.decode(body)), flush=True)
            line.send("LACK", {})
            received += 1
        elif verb == "PING":
            line.send("PONG", obj)  # SPEC §4.1: a live line idle for a while is kept open with PING
        elif verb == "ERROR":
            print(f"the peer failed: {obj}", file=sys.stderr)
            return 1
        elif verb not in ("PONG", "LACK"):
            print(f"unexpected {verb} in a live session", file=sys.stderr)
            return 1
    line.send("BYE")
    sock.close()
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
    sub.add_parser("keygen")
    c = sub.add_parser("create-order")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("--key", required=True)
    c.add_argument("--listener", required=True)
    c.add_argument("--network", required=True)
    c.add_argument("--email", required=True)
    c.add_argument("--line", action="append", required=True)
    c.add_argument("--claim", action="append", help="SITE=COUNTER: a forged end-vector entry (tests)")
    lv = sub.add_parser("live")
    lv.add_argument("host")
    lv.add_argument("port", type=int)
    lv.add_argument("--key", required=True)
    lv.add_argument("--listener", required=True)
    lv.add_argument("--network", required=True)
    lv.add_argument("--ready", required=True)
    lv.add_argument("--count", type=int, default=1)
    args = parser.parse_args()
    modes = {"dial": dial, "listen": listen, "vectors": vectors, "keygen": keygen, "create-order": create_order,
             "live": live}
    return modes[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
