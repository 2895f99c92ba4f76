#!/usr/bin/env python3
"""A stand-in for Grafana Pyroscope's ingest side, for tests on loopback.

It answers POST /push.v1.PusherService/Push (Connect unary, application/proto or application/json, optionally
gzipped) and POST /ingest (format=pprof as multipart, or a raw pprof body) and applies Pyroscope's documented
acceptance rules (pkg/validation, pkg/distributor): __name__ and service_name present, label names valid and
unique, at most 30 labels per series, name <= 1024 and value <= 2048 bytes, a pprof raw profile of at most
4 MiB, at most 16000 samples and 100 labels per sample, time_nanos within [now-1h, now+10m] (0 means now),
tenant and auth when asked. Refusals answer 400 with a Connect error body, as Pyroscope does.

Every request is appended, as one JSON line, to --record; accepted raw profiles are written to --profiles/N.pb
so that a real pprof parser can read them. Injected failures: --fail-first N --fail-status S (the first N
requests get S), --status S (every request gets S), --blackhole (accepts connections, never answers).

Prints "port N" on stdout once listening.
"""
import argparse, base64, gzip, json, os, re, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

LABEL_NAME = re.compile(r"^[a-zA-Z_.][a-zA-Z0-9_.]*$")
MAX_LABELS = 30
MAX_NAME, MAX_VALUE = 1024, 2048
MAX_PROFILE_BYTES = 4 * 1024 * 1024
MAX_SAMPLES = 16000
MAX_SAMPLE_LABELS = 100
PAST, FUTURE = 3600, 600


class Refused(Exception):
    pass


def varint(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data):
            raise Refused("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise Refused("varint too long")


def fields(data):
    """(number, wire type, value) of a protobuf message."""
    pos = 0
    while pos < len(data):
        key, pos = varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(data, pos)
        elif wire == 2:
            length, pos = varint(data, pos)
            if pos + length > len(data):
                raise Refused("truncated field")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise Refused("bad wire type %d" % wire)
        yield number, wire, value


def packed(wire, value):
    if wire == 0:
        return [value]
    out, pos = [], 0
    while pos < len(value):
        v, pos = varint(value, pos)
        out.append(v)
    return out


def signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def parse_pprof(raw):
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) > MAX_PROFILE_BYTES:
        raise Refused("uncompressed profile of %d bytes is above the limit of %d" % (len(raw), MAX_PROFILE_BYTES))
    strings, sample_types, samples = [], [], []
    period_type, time_nanos, duration, period = None, 0, 0, 0
    for number, wire, value in fields(raw):
        if number == 1:
            sample_types.append(dict((n, v) for n, _, v in fields(value)))
        elif number == 2:
            sample = {"values": [], "labels": []}
            for n, w, v in fields(value):
                if n == 2:
                    sample["values"] += [signed(x) for x in packed(w, v)]
                elif n == 3:
                    sample["labels"].append(dict((a, b) for a, _, b in fields(v)))
            samples.append(sample)
        elif number == 6:
            strings.append(value.decode("utf-8"))
        elif number == 9:
            time_nanos = signed(value)
        elif number == 10:
            duration = signed(value)
        elif number == 11:
            period_type = dict((n, v) for n, _, v in fields(value))
        elif number == 12:
            period = signed(value)
    s = lambda i: strings[i] if 0 <= i < len(strings) else "?"
    if len(samples) > MAX_SAMPLES:
        raise Refused("profile has %d samples, above the limit of %d" % (len(samples), MAX_SAMPLES))
    now = time.time()
    if time_nanos and not (now - PAST <= time_nanos / 1e9 <= now + FUTURE):
        raise Refused("profile time %d is outside [now-1h, now+10m]" % time_nanos)
    label_values = {}
    for sample in samples:
        if len(sample["labels"]) > MAX_SAMPLE_LABELS:
            raise Refused("a sample has more than %d labels" % MAX_SAMPLE_LABELS)
        for label in sample["labels"]:
            if label.get(2):  # Label{key = 1, str = 2, num = 3}: a string label
                label_values.setdefault(s(label.get(1, 0)), set()).add(s(label[2]))
    types = ["%s/%s" % (s(t.get(1, 0)), s(t.get(2, 0))) for t in sample_types]
    totals = [sum(x["values"][i] for x in samples if i < len(x["values"])) for i in range(len(types))]
    return {
        "sample_types": types,
        "period_type": "%s/%s" % (s(period_type.get(1, 0)), s(period_type.get(2, 0))) if period_type else None,
        "period": period, "time_nanos": time_nanos, "duration_nanos": duration,
        "samples": len(samples), "totals": totals,
        "label_values": {k: sorted(v) for k, v in label_values.items()},
    }


def check_labels(labels):
    names = [n for n, _ in labels]
    if len(labels) > MAX_LABELS:
        raise Refused("%d labels, above the limit of %d" % (len(labels), MAX_LABELS))
    if len(set(names)) != len(names):
        raise Refused("duplicate label name")
    for name, value in labels:
        if len(name) > MAX_NAME or len(value) > MAX_VALUE:
            raise Refused("label %r too long" % name[:40])
        if not LABEL_NAME.match(name):
            raise Refused("invalid label name %r" % name)
    d = dict(labels)
    if "__name__" not in d or not LABEL_NAME.match(d["__name__"]):
        raise Refused("missing or invalid __name__")
    if not d.get("service_name"):
        raise Refused("missing service_name")


def profile_type_ids(name, profile):
    period = profile["period_type"] or ":"
    return ["%s:%s:%s" % (name, t.replace("/", ":"), period.replace("/", ":")) for t in profile["sample_types"]]


def parse_push(body, content_type):
    series = []
    if content_type.startswith("application/json"):
        message = json.loads(body)
        for entry in message.get("series", []):
            labels = [(l["name"], l["value"]) for l in entry.get("labels", [])]
            raws = [base64.b64decode(s["rawProfile"]) for s in entry.get("samples", [])]
            series.append((labels, raws))
        return series
    for number, _, value in fields(body):
        if number != 1:
            continue
        labels, raws = [], []
        for n, _, v in fields(value):
            if n == 1:
                pair = dict((a, b) for a, _, b in fields(v))
                labels.append((pair.get(1, b"").decode(), pair.get(2, b"").decode()))
            elif n == 2:
                for a, _, b in fields(v):
                    if a == 1:
                        raws.append(b)
        series.append((labels, raws))
    return series


def parse_ingest_name(name):
    """labelset.Parse: app{k=v,k=v}, no escaping."""
    match = re.match(r"^([^{]*)(?:\{(.*)\})?$", name)
    if not match:
        raise Refused("bad name %r" % name)
    labels = [("service_name", match.group(1))]
    if match.group(2):
        for item in match.group(2).split(","):
            if "=" not in item:
                raise Refused("bad label %r" % item)
            key, value = item.split("=", 1)
            labels.append((key, value))
    return labels


def multipart_field(body, content_type, field):
    match = re.search(r"boundary=([^;]+)", content_type)
    if not match:
        raise Refused("multipart without boundary")
    boundary = b"--" + match.group(1).strip('"').encode()
    for part in body.split(boundary):
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="%s"' % field.encode() in head:
            return data[:-2] if data.endswith(b"\r\n") else data
    raise Refused("multipart has no %r field" % field)


class State:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.lock = threading.Lock()
        self.saved = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        state = self.server.state
        args = state.args
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with state.lock:
            state.count += 1
            number = state.count
        record = {"n": number, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body_bytes": len(body)}
        status, message = 200, None
        if args.status:
            status, message = args.status, "injected"
        elif number <= args.fail_first:
            status, message = args.fail_status, "injected"
        else:
            try:
                record.update(self.accept(body))
            except Refused as refusal:
                status, message = 400, str(refusal)
            except Exception as error:  # hostile input: refuse, never crash
                status, message = 400, "cannot read request: %s" % error
        record["status"] = status
        if message:
            record["error"] = message
        with state.lock:
            with open(args.record, "a") as out:
                out.write(json.dumps(record) + "\n")
        if status == 200:
            self.answer(200, b"" if self.path.startswith("/push") else b"", "application/proto")
        else:
            code = {400: "invalid_argument", 401: "unauthenticated", 429: "resource_exhausted",
                    503: "unavailable"}.get(status, "unknown")
            self.answer(status, json.dumps({"code": code, "message": message}).encode())

    def accept(self, body):
        args = self.server.state.args
        headers = self.headers
        if args.tenant and headers.get("X-Scope-OrgID") != args.tenant:
            raise Refused("no or wrong X-Scope-OrgID")
        if args.basic and headers.get("Authorization") != "Basic " + base64.b64encode(args.basic.encode()).decode():
            raise Refused("no or wrong basic auth")
        if args.bearer and headers.get("Authorization") != "Bearer " + args.bearer:
            raise Refused("no or wrong bearer token")
        if headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        content_type = headers.get("Content-Type", "")
        path = urlparse(self.path)
        result = {"series": []}
        if path.path == "/push.v1.PusherService/Push":
            if not (content_type.startswith("application/proto") or content_type.startswith("application/json")):
                raise Refused("unsupported content type %r" % content_type)
            result["api"] = "push"
            entries = parse_push(body, content_type)
            if not entries:
                raise Refused("no series")
        elif path.path in ("/ingest", "/pyroscope/ingest"):
            query = parse_qs(path.query)
            if query.get("format", [""])[0] != "pprof":
                raise Refused("only format=pprof is implemented here")
            raw = multipart_field(body, content_type, "profile") if content_type.startswith("multipart/") else body
            labels = parse_ingest_name(query.get("name", [""])[0])
            result["api"] = "ingest"
            result["query"] = {k: v[0] for k, v in query.items()}
            entries = [(labels, [raw])]
        else:
            raise Refused("unknown path %s" % path.path)
        for labels, raws in entries:
            if result["api"] == "push":
                check_labels(labels)
            profiles = [parse_pprof(raw) for raw in raws]
            names = dict(labels)
            if result["api"] == "ingest":
                # /ingest takes __name__ from the pprof sample types: any named wall gives wall.
                types = [t for p in profiles for t in p["sample_types"]]
                names["__name__"] = "wall" if any(t.startswith("wall/") for t in types) else "process_cpu"
                check_labels(list(names.items()))
            ids = [i for p in profiles for i in profile_type_ids(names["__name__"], p)]
            for raw in raws:
                if self.server.state.args.profiles:
                    with self.server.state.lock:
                        self.server.state.saved += 1
                        path_out = os.path.join(self.server.state.args.profiles, "%d.pb" % self.server.state.saved)
                    with open(path_out, "wb") as out:
                        out.write(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
            result["series"].append({"labels": labels, "profiles": profiles, "profile_type_ids": ids})
        return result


def blackhole(port_out):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print("port %d" % listener.getsockname()[1], flush=True)
    held = []
    while True:
        connection, _ = listener.accept()
        held.append(connection)  # never read, never answered, never closed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True)
    parser.add_argument("--profiles")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fail-status", type=int, default=503)
    parser.add_argument("--status", type=int, default=0)
    parser.add_argument("--tenant")
    parser.add_argument("--basic")
    parser.add_argument("--bearer")
    parser.add_argument("--blackhole", action="store_true")
    args = parser.parse_args()
    if args.blackhole:
        blackhole(None)
        return
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args)
    print("port %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
