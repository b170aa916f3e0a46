#!/usr/bin/env python3
"""sdm bridge: serves a real microscope over the sdm remote protocol (version 1).

Run it on the microscope PC; point a campaign at it with

    [backend]
    kind = "remote"
    endpoint = "tcp://<microscope-pc>:5555"
    token = "<shared secret>"

The protocol (docs/protocol.md): ZeroMQ REQ/REP; each message is a JSON header frame
followed by one raw little-endian float64 frame per array the header lists. Every header
carries "sdm_protocol": 1, "type" and "id". This file holds the protocol handling
(BridgeServer) and, isolated in one class (Instrument), the vendor calls to fill in at
the microscope, in the style of the instrument control API the paper used
(move_tip(x, y), DoIV(waveform)). Needs python3-zmq and python3-numpy only.

    python3 sdm_bridge.py --bind tcp://0.0.0.0:5555 --token SECRET --vendor my_afm:MyAfm
    python3 sdm_bridge.py --bind tcp://127.0.0.1:* --vendor fake_vendor:FakeInstrument
"""
import argparse
import hashlib
import hmac
import importlib
import json
import math
import os
import signal
import sys
import time

import numpy as np
import zmq

PROTOCOL_VERSION = 1
STATUS_CODES = ("ok", "timeout", "refused", "disconnected", "error", "tripped")
MAX_SURVEY_PIXELS = 1 << 20
MAX_KEY_BYTES = 256
MUTATING_OPS = ("survey", "move_to", "iv_sweep")


class VendorError(Exception):
    """Raised by Instrument methods to report a failed call with an sdm status code:
    "refused" (not executed: out of range, interlock), "timeout", "disconnected"
    (no link to the controller), "error" (the instrument failed) or "tripped" (it ran and
    a safety limit such as the current compliance stopped it: never repeated)."""

    def __init__(self, code, message):
        if code not in STATUS_CODES or code == "ok":
            raise ValueError("VendorError code must be one of timeout, refused, disconnected, error, tripped")
        super().__init__(message)
        self.code = code


class Instrument:
    """The vendor calls, and nothing else. Fill these in at the microscope.

    Units are SI throughout: metres, volts, amperes, seconds. Raise VendorError for
    failures you can classify; any other exception is reported as "error".
    """

    name = "unconfigured instrument"

    def limits(self):
        """Reachable scan range and safe limits:
        dict(x_min_m, x_max_m, y_min_m, y_max_m, max_bias_v, max_current_a,
             max_sweep_rate_v_per_s, channels=[...], signal_name="current", signal_unit="A")."""
        raise NotImplementedError("Instrument.limits: fill in the scan range and limits of your instrument")

    def position(self):
        """(x_m, y_m) where the tip is now."""
        raise NotImplementedError("Instrument.position: read the tip position from the controller")

    def clock_s(self):
        """Instrument time consumed so far, s (wall time since start is fine)."""
        return 0.0

    def move_tip(self, x_m, y_m):
        """Moves the tip (closed loop) and returns the position reached, (x_m, y_m)."""
        raise NotImplementedError("Instrument.move_tip: call the vendor's tip positioning here")

    def DoIV(self, time_s, bias_v):  # noqa: N802 (the vendor's name)
        """Plays the bias programme (bias_v[i] at time_s[i]) and returns
        (time_s, bias_v, current_a) as recorded, numpy float64 arrays of equal length."""
        raise NotImplementedError("Instrument.DoIV: call the vendor's I-V spectroscopy here")

    def scan(self, channels, nx, ny):
        """A survey image: dict(axes=dict(nx, ny, x0_m, y0_m, dx_m, dy_m),
        channels=[(name, unit, ndarray of shape (ny, nx)), ...]). nx = ny = 0: native size."""
        raise NotImplementedError("Instrument.scan: start a survey scan and read its channels here")


class ProtocolError(Exception):
    pass


class ReplyMemory:
    """The replies of the last keyed mutating calls, by (key, op), with a fingerprint of the
    request: a repeat is answered from here instead of being executed again (exactly-once;
    docs/protocol.md, "Request keys"). Bounded in entries and bytes, oldest out first."""

    def __init__(self, max_entries=256, max_bytes=256 << 20):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.entries = {}  # insertion-ordered: oldest first
        self.bytes = 0

    def find(self, key, op):
        return self.entries.get((key, op))

    def remember(self, key, op, fingerprint, reply):
        size = sum(len(f) for f in reply)
        old = self.entries.pop((key, op), None)
        if old is not None:
            self.bytes -= old[2]
        if self.max_entries == 0 or size > self.max_bytes:
            return
        while self.entries and (len(self.entries) >= self.max_entries or self.bytes + size > self.max_bytes):
            self.bytes -= self.entries.pop(next(iter(self.entries)))[2]
        self.entries[(key, op)] = (fingerprint, reply, size)
        self.bytes += size


def _fingerprint(op, args, frames):
    h = hashlib.sha256()
    h.update(op.encode() + b"\0" + json.dumps(args, sort_keys=True).encode() + b"\0")
    for f in frames[1:]:
        h.update(len(f).to_bytes(8, "little"))
        h.update(bytes(f))
    return h.digest()


def _frames_size(frames):
    return sum(len(f) for f in frames)


class BridgeServer:
    """sdm protocol over a REP socket, dispatching to an Instrument."""

    def __init__(self, instrument, bind="tcp://127.0.0.1:5555", token="", max_request_bytes=16 << 20,
                 max_header_bytes=64 << 10, max_arrays=64, log=None):
        if not is_loopback_endpoint(bind) and not token:
            raise SystemExit("sdm bridge: binding to %s exposes the microscope beyond this machine; "
                             "set --token (or bind to tcp://127.0.0.1:<port>)" % bind)
        self.instrument = instrument
        self.token = token
        self.max_request_bytes = max_request_bytes
        self.max_header_bytes = max_header_bytes
        self.max_arrays = max_arrays
        self.log = log
        self.handled = 0
        self.replayed = 0
        self.memory = ReplyMemory()
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, 2 * max_request_bytes + max_header_bytes)
        self.sock.bind(bind)
        self.endpoint = self.sock.getsockopt(zmq.LAST_ENDPOINT).decode()

    # ---------------------------------------------------------------- codec
    def decode(self, frames):
        if not frames:
            raise ProtocolError("empty message")
        total = _frames_size(frames)
        if total > self.max_request_bytes:
            raise ProtocolError("message of %d bytes exceeds the limit of %d bytes" % (total, self.max_request_bytes))
        if len(frames) - 1 > self.max_arrays:
            raise ProtocolError("message has %d array frames; at most %d allowed" % (len(frames) - 1, self.max_arrays))
        if len(frames[0]) > self.max_header_bytes:
            raise ProtocolError("header of %d bytes exceeds the limit" % len(frames[0]))
        try:
            header = json.loads(bytes(frames[0]).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError("header frame is not valid JSON")
        if not isinstance(header, dict):
            raise ProtocolError("header must be a JSON object")
        version = header.get("sdm_protocol")
        if version is None:
            raise ProtocolError('header has no "sdm_protocol" version')
        if type(version) is not int or version != PROTOCOL_VERSION:
            raise ProtocolError("protocol version %s is not supported (this side speaks %d)" % (json.dumps(version), PROTOCOL_VERSION))
        if header.get("type") != "request":
            raise ProtocolError('expected a request, got type %s' % json.dumps(header.get("type")))
        rid = header.get("id")
        if type(rid) is not int or rid < 0:
            raise ProtocolError('header needs a non-negative integer "id"')
        decl = header.get("arrays", [])
        if not isinstance(decl, list):
            raise ProtocolError('"arrays" must be a list')
        if len(decl) != len(frames) - 1:
            raise ProtocolError("header declares %d arrays but %d array frames follow" % (len(decl), len(frames) - 1))
        arrays = {}
        for d, frame in zip(decl, frames[1:]):
            if not isinstance(d, dict) or not isinstance(d.get("name"), str):
                raise ProtocolError("array declarations need a name")
            if d.get("dtype") != "<f8":
                raise ProtocolError('array "%s": dtype must be "<f8" (little-endian float64)' % d["name"])
            shape = d.get("shape")
            if not isinstance(shape, list) or len(shape) > 8 or not all(type(s) is int and s >= 0 for s in shape):
                raise ProtocolError('array "%s": "shape" must be a list of non-negative integers' % d["name"])
            count = int(np.prod(shape)) if shape else 1
            if len(frame) != 8 * count:
                raise ProtocolError('array "%s": frame has %d bytes, its shape needs %d (truncated or mismatched frame)'
                                    % (d["name"], len(frame), 8 * count))
            arrays[d["name"]] = np.frombuffer(bytes(frame), dtype="<f8").reshape(shape)
        return header, arrays

    @staticmethod
    def encode(rid, status, message, result=None, arrays=(), wall_s=0.0):
        decl = []
        frames = []
        for name, a in arrays:
            a = np.ascontiguousarray(a, dtype="<f8")
            decl.append({"name": name, "dtype": "<f8", "shape": list(a.shape)})
            frames.append(a.tobytes())
        header = {"sdm_protocol": PROTOCOL_VERSION, "type": "reply", "id": rid, "status": status,
                  "message": message, "wall_s": wall_s, "result": result if result is not None else {}, "arrays": decl}
        return [json.dumps(header, allow_nan=False).encode("utf-8")] + frames

    # ---------------------------------------------------------------- dispatch
    def handle(self, frames):
        rid = None
        op = "?"
        t0 = time.perf_counter()
        try:
            header, arrays = self.decode(frames)
            rid = header["id"]
            op = header.get("op")
            if not isinstance(op, str):
                raise ProtocolError('missing field "op"')
            args = header.get("args", {})
            if not isinstance(args, dict):
                raise ProtocolError('"args" must be an object')
            key = header.get("key", "")
            if not isinstance(key, str) or len(key.encode()) > MAX_KEY_BYTES:
                raise ProtocolError('"key" must be a string of at most %d bytes' % MAX_KEY_BYTES)
            if self.token and not hmac.compare_digest(str(header.get("token", "")).encode(), self.token.encode()):
                return self.encode(rid, "refused", "wrong token" if header.get("token") else
                                   "this server requires a token; none was sent"), op
            keyed = bool(key) and op in MUTATING_OPS
            if keyed:
                fp = _fingerprint(op, args, frames)
                seen = self.memory.find(key, op)
                if seen is not None:
                    if seen[0] != fp:
                        return self.encode(rid, "refused", 'request key "%s" was already used for a different %s request'
                                           % (key, op)), op
                    self.replayed += 1
                    head = json.loads(bytes(seen[1][0]).decode("utf-8"))
                    head["id"], head["replayed"] = rid, True
                    return [json.dumps(head, allow_nan=False).encode("utf-8")] + list(seen[1][1:]), op + " (replayed)"
            try:
                result, out = self.dispatch(op, args, arrays)
                status, message = "ok", ""
            except VendorError as e:
                result, out, status, message = {}, (), e.code, "%s: %s" % (op, e)
            except ProtocolError:
                raise
            except Exception as e:  # the vendor layer failed in an unclassified way
                result, out, status, message = {}, (), "error", "%s: %s: %s" % (op, type(e).__name__, e)
            reply = self.encode(rid, status, message, result, out, time.perf_counter() - t0)
            # Remember what must never happen twice: a done call and a tripped one.
            if keyed and status in ("ok", "tripped"):
                self.memory.remember(key, op, fp, reply)
            return reply, op
        except ProtocolError as e:
            if rid is None:
                rid = _peek_id(frames, self.max_header_bytes)
            return self.encode(rid, "error", "bad request: %s" % e), op
        except ValueError as e:  # e.g. NaN in a result: not JSON
            return self.encode(rid, "error", "%s: cannot encode the reply: %s" % (op, e)), op

    def dispatch(self, op, args, arrays):
        inst = self.instrument
        if op == "hello":
            return {"server": "sdm bridge (python)", "protocol": PROTOCOL_VERSION, "backend": inst.name}, ()
        if op == "capabilities":
            lim = dict(inst.limits())
            result = {k: float(lim[k]) for k in ("x_min_m", "x_max_m", "y_min_m", "y_max_m",
                                                  "max_bias_v", "max_current_a", "max_sweep_rate_v_per_s")}
            result["backend"] = inst.name
            result["channels"] = [str(c) for c in lim.get("channels", [])]
            result["signal_name"] = lim.get("signal_name", "current")
            result["signal_unit"] = lim.get("signal_unit", "A")
            return result, ()
        if op == "status":
            x, y = inst.position()
            state = inst.state() if hasattr(inst, "state") else "idle"
            return {"x_m": float(x), "y_m": float(y), "instrument_clock_s": float(inst.clock_s()),
                    "connected": True, "state": str(state)}, ()
        if op == "move_to":
            x, y = _number(args, "x_m"), _number(args, "y_m")
            if not (math.isfinite(x) and math.isfinite(y)):
                raise VendorError("refused", "position must be finite")
            rx, ry = inst.move_tip(x, y)
            return {"x_m": float(rx), "y_m": float(ry)}, ()
        if op == "iv_sweep":
            t, v = arrays.get("time_s"), arrays.get("bias_v")
            if t is None or v is None:
                raise ProtocolError("iv_sweep request needs arrays time_s and bias_v")
            if t.ndim != 1 or v.ndim != 1:
                raise ProtocolError("iv_sweep request: time_s and bias_v must be 1-D")
            if t.size != v.size or t.size < 2 or not np.all(np.isfinite(t)) or not np.all(np.isfinite(v)) or not np.all(np.diff(t) > 0):
                raise VendorError("refused", "invalid waveform: need time_s and bias_v of equal length, >= 2 finite points, strictly increasing time")
            rt, rv, ri = inst.DoIV(t.copy(), v.copy())
            rt, rv, ri = (np.asarray(a, dtype="<f8").ravel() for a in (rt, rv, ri))
            if not (rt.size == rv.size == ri.size):
                raise VendorError("error", "DoIV returned arrays of different lengths")
            return {}, (("time_s", rt), ("bias_v", rv), ("current_a", ri))
        if op == "survey":
            channels = args.get("channels", ["topography"])
            if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
                raise ProtocolError('survey: "channels" must be a list of names')
            nx, ny = args.get("nx", 0), args.get("ny", 0)
            if type(nx) is not int or type(ny) is not int or nx < 0 or ny < 0:
                raise ProtocolError("survey: nx and ny must be non-negative integers")
            if nx > MAX_SURVEY_PIXELS or ny > MAX_SURVEY_PIXELS:
                raise ProtocolError("survey: nx = %d, ny = %d is out of range (0 = native, at most %d pixels)"
                                    % (nx, ny, MAX_SURVEY_PIXELS))
            img = inst.scan(channels, nx, ny)
            axes = {k: img["axes"][k] for k in ("nx", "ny", "x0_m", "y0_m", "dx_m", "dy_m")}
            out, listed = [], []
            for name, unit, data in img["channels"]:
                data = np.asarray(data, dtype="<f8")
                if data.shape != (axes["ny"], axes["nx"]):
                    raise VendorError("error", "scan channel %s has shape %s, expected (ny, nx)" % (name, data.shape))
                listed.append({"name": name, "unit": unit})
                out.append((name, data))
            return {"axes": axes, "channels": listed}, out
        raise ProtocolError('unknown op "%s"; expected hello, capabilities, status, survey, move_to or iv_sweep' % op)

    def serve(self, should_stop, poll_ms=100):
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while not should_stop():
            try:
                events = dict(poller.poll(poll_ms))
            except zmq.ZMQError as e:
                if e.errno == getattr(zmq, "EINTR", 4):
                    continue
                raise
            if self.sock not in events:
                continue
            frames = self.sock.recv_multipart()
            t0 = time.perf_counter()
            reply, op = self.handle(frames)
            self.sock.send_multipart(reply)
            self.handled += 1
            if self.log:
                status = json.loads(reply[0]).get("status")
                self.log("#%d %s (%d B) -> %s in %.3f ms" % (self.handled, op, _frames_size(frames), status,
                                                            1e3 * (time.perf_counter() - t0)))

    def close(self):
        self.sock.close(0)
        self.ctx.term()


def _number(args, key):
    v = args.get(key)
    if type(v) not in (int, float):
        raise ProtocolError('field "%s" must be a number' % key)
    return float(v)


def _peek_id(frames, max_header_bytes):
    try:
        if frames and len(frames[0]) <= max_header_bytes:
            h = json.loads(bytes(frames[0]).decode("utf-8"))
            if isinstance(h, dict) and type(h.get("id")) is int and h["id"] >= 0:
                return h["id"]
    except (ValueError, UnicodeDecodeError):
        pass
    return None


def is_loopback_endpoint(endpoint):
    if endpoint.startswith(("ipc://", "inproc://")):
        return True
    if not endpoint.startswith("tcp://"):
        return False
    host = endpoint[6:].split(";")[-1]
    if host.startswith("["):
        return host[1:host.find("]")] == "::1"
    host = host.rsplit(":", 1)[0]
    if host == "localhost":
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() for p in parts)


def load_vendor(spec):
    """'module:Class' (module searched next to this file too) -> an instance."""
    module_name, _, class_name = spec.partition(":")
    # Vendor modules do `from sdm_bridge import Instrument, VendorError`: make that this
    # very module when it runs as a script, so VendorError is the class we catch.
    sys.modules.setdefault("sdm_bridge", sys.modules[__name__])
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    module = importlib.import_module(module_name)
    return getattr(module, class_name or "Instrument")()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bind", default="tcp://127.0.0.1:5555", help="ZeroMQ endpoint (tcp://127.0.0.1:* picks a free port)")
    p.add_argument("--token", default=os.environ.get("SDM_SERVE_TOKEN", ""), help="shared secret (required off loopback)")
    p.add_argument("--vendor", default="sdm_bridge:Instrument", help="module:Class implementing Instrument")
    p.add_argument("--max-request-bytes", type=int, default=16 << 20)
    p.add_argument("--verbose", "-v", action="store_true", help="log each request")
    a = p.parse_args(argv)
    stop = {"flag": False, "sig": None}

    def on_signal(sig, _frame):
        stop["flag"], stop["sig"] = True, sig

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log = (lambda line: print("sdm bridge: " + line, flush=True)) if a.verbose else None
    server = BridgeServer(load_vendor(a.vendor), a.bind, a.token, a.max_request_bytes, log=log)
    print("sdm bridge: %s" % server.instrument.name, flush=True)
    print("sdm bridge: listening on %s (sdm protocol %d%s)" % (server.endpoint, PROTOCOL_VERSION,
                                                              ", token required" if a.token else ", no token"), flush=True)
    server.serve(lambda: stop["flag"])
    print("sdm bridge: stopped (%s) after %d requests" % (signal.Signals(stop["sig"]).name if stop["sig"] else "?",
                                                           server.handled), flush=True)
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
