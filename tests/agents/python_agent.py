#!/usr/bin/env python3
"""A device agent for the Isaac hub, written from docs/hub-protocol.md alone (standard library only).

Environment:
  ISAAC_HUB            hub address, e.g. http://127.0.0.1:5000 (https:// is not supported here)
  ISAAC_TOKEN          this device's token (isaac hub add-device <name>)
  ISAAC_AGENT_STATE    JSON file of the commands it has seen (default ./python-agent-state.json)
  ISAAC_AGENT_COMMANDS optional folder of executables; /name args runs <folder>/name args
  ISAAC_AGENT_HEARTBEAT_MS, ISAAC_AGENT_WINDOW  hello values (default 5000 and 4)
  ISAAC_COUNT_DIR      folder where /count appends a line to the file "count"
  ISAAC_AGENT_TRACE    optional file: every message sent ("> json") and received ("< json"), one a line

Built-in commands: /echo <text> answers the text; /count appends a line and answers "counted".
It runs one command at a time in seq order, which honours every barrier and parallel run.
"""
import base64, hashlib, heapq, json, os, select, shlex, socket, struct, subprocess, sys, threading, time
from urllib.parse import urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


def log(*parts):
    print("python-agent:", *parts, file=sys.stderr, flush=True)


class Refused(Exception):
    """The hub answered the upgrade with an HTTP status other than 101 (409: another agent holds the lease)."""


class WebSocket:
    """The client half of RFC 6455, just enough for one text message per JSON object."""

    def __init__(self, url, token):
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
        self.buffer = b""
        self.sending = threading.Lock()
        self.trace = os.environ.get("ISAAC_AGENT_TRACE")
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            f"GET /v1/agent HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        if status != 101:
            self.sock.close()
            raise Refused(f"HTTP {status}")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            self.sock.close()
            raise ConnectionError("bad Sec-WebSocket-Accept")

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the hub closed the TCP connection")
        return chunk

    def _read(self, n):
        while len(self.buffer) < n:
            self.buffer += self._recv()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def send_frame(self, opcode, payload=b""):
        mask = os.urandom(4)  # clients always mask (RFC 6455 §5.3)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with self.sending:
            self.sock.sendall(head + mask + masked)

    def send(self, message):
        text = json.dumps(message)
        self.send_frame(0x1, text.encode())
        self.log_trace(">", text)

    def log_trace(self, direction, text):
        if self.trace:
            with self.sending, open(self.trace, "a") as f:
                f.write(f"{direction} {text}\n")

    def receive(self, timeout):
        """The next text message as a dict, or None when nothing came within timeout. Control frames are handled here."""
        if not self.buffer and not select.select([self.sock], [], [], timeout)[0]:
            return None
        message = b""
        while True:
            first, second = self._read(2)
            opcode, n = first & 0x0F, second & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # protocol-level ping from the hub: answer it ourselves
                self.send_frame(0xA, payload)
            elif opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                try:
                    self.send_frame(0x8, payload[:2])
                except OSError:
                    pass
                raise ConnectionError(f"closed by the hub: {code} {payload[2:].decode(errors='replace')}")
            elif opcode in (0x0, 0x1):
                message += payload
                if first & 0x80:
                    self.log_trace("<", message.decode())
                    return json.loads(message)
            if opcode in (0x9, 0xA) and not message and not self.buffer:
                return None  # a control frame alone: let the caller check its heartbeat

    def close(self):
        try:
            self.send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


class Agent:
    def __init__(self):
        self.hub = os.environ["ISAAC_HUB"].rstrip("/").replace("http://", "ws://", 1)
        self.token = os.environ["ISAAC_TOKEN"]
        self.state_path = os.environ.get("ISAAC_AGENT_STATE", "python-agent-state.json")
        self.commands_dir = os.environ.get("ISAAC_AGENT_COMMANDS")
        self.heartbeat_ms = int(os.environ.get("ISAAC_AGENT_HEARTBEAT_MS", "5000"))
        self.window = int(os.environ.get("ISAAC_AGENT_WINDOW", "4"))
        self.lock = threading.Condition()
        self.ws = None
        self.queue = []  # (seq, id): accepted and waiting, run lowest seq first
        self.seen = {}  # id -> {"seq", "text", "state": accepted|running|done, "result", "acked"}
        if os.path.exists(self.state_path):
            with open(self.state_path) as f:
                self.seen = json.load(f)
        for cid, entry in self.seen.items():
            if entry["state"] == "running":  # we stopped while it ran: it may or may not have had its effect
                entry.update(state="done", acked=False, outcome="in_doubt", reason="the agent stopped while it was running")
            elif entry["state"] == "accepted":
                heapq.heappush(self.queue, (entry["seq"], cid))
        self.save()

    def save(self):
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.seen, f)
        os.replace(tmp, self.state_path)

    def send(self, message):
        ws = self.ws
        if ws is None:
            return  # kept in the state file; sent again after the next hello
        try:
            ws.send(message)
        except OSError as e:
            log("send failed:", e)

    def outcome(self, cid, entry):
        kind = entry.get("outcome", "completed")
        message = {"type": kind, "id": cid}
        if kind == "completed":
            message["result"] = entry["result"]
        else:  # rejected, failed or in_doubt
            message["reason"] = entry["reason"]
        return message

    # -- the connection ----------------------------------------------------------------------------------------
    def run_forever(self):
        threading.Thread(target=self.work, daemon=True).start()
        delay = 0.1
        while True:
            try:
                ws = WebSocket(self.hub, self.token)
            except (Refused, OSError) as e:
                log(f"cannot connect ({e}); retrying in {delay:.1f} s")
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.1
            log("connected")
            try:
                self.serve(ws)
            except (OSError, ValueError) as e:
                log("connection ended:", e)
            finally:
                self.ws = None
                ws.close()

    def serve(self, ws):
        # Under the lock, so a result the worker finishes meanwhile is either in this resend or sent on ws.
        with self.lock:
            holding = [cid for cid, e in self.seen.items() if e["state"] != "done"]
            ws.send({"type": "hello", "capacity": 1, "window": self.window, "heartbeat_ms": self.heartbeat_ms, "holding": holding})
            for cid, entry in self.seen.items():
                if entry["state"] == "done" and not entry["acked"]:  # results the hub never acknowledged
                    ws.send(self.outcome(cid, entry))
            self.ws = ws
        interval = self.heartbeat_ms / 1000 / 2
        next_ping = time.monotonic() + interval
        while True:
            message = ws.receive(max(0.0, next_ping - time.monotonic()))
            if time.monotonic() >= next_ping:
                ws.send({"type": "ping"})
                next_ping = time.monotonic() + interval
            if message is not None:
                self.handle(message)

    def handle(self, message):
        kind, cid = message.get("type"), message.get("id")
        if kind == "assign":
            with self.lock:
                entry = self.seen.get(cid)
                if entry is None:  # new: store it durably before answering
                    entry = self.seen[cid] = {"seq": message["seq"], "text": message["text"], "state": "accepted", "acked": False}
                    if not self.known(message["text"]):
                        # rejected is never acked: if it is lost, the hub sends the assign again and we answer it again
                        entry.update(state="done", acked=True, outcome="rejected", reason=f"unknown command '{message['text'].split()[0]}'")
                    else:
                        heapq.heappush(self.queue, (message["seq"], cid))
                        self.lock.notify()
                    self.save()
            # A repeated assign (the hub missed our answers) is answered from what we have, never run twice.
            if entry["state"] == "done":
                self.send(self.outcome(cid, entry))
            else:
                self.send({"type": "accepted", "id": cid})
                if entry["state"] == "running":
                    self.send({"type": "running", "id": cid})
        elif kind == "ack":
            with self.lock:
                if cid in self.seen:
                    self.seen[cid]["acked"] = True
                    self.save()
        # pong and unknown types need nothing

    # -- running commands, one at a time in seq order ---------------------------------------------------------
    def work(self):
        while True:
            with self.lock:
                while not self.queue:
                    self.lock.wait()
                _, cid = heapq.heappop(self.queue)
                entry = self.seen[cid]
                entry["state"] = "running"
                self.save()  # durable before the handler starts
            self.send({"type": "running", "id": cid})
            try:
                entry["result"] = self.execute(entry["text"])
            except (OSError, ValueError) as e:  # could not run it at all (no such file, unbalanced quotes)
                entry.update(outcome="failed", reason=f"could not run '{entry['text']}': {e}")
            with self.lock:
                entry["state"] = "done"
                self.save()
            self.send(self.outcome(cid, entry))

    def known(self, text):
        name = text.strip().partition(" ")[0].lstrip("/")
        return name in ("echo", "count") or self.script(name) is not None

    def script(self, name):
        path = os.path.join(self.commands_dir or "", name)
        return path if self.commands_dir and name and "/" not in name and os.access(path, os.X_OK) else None

    def execute(self, text):
        name, _, rest = text.strip().partition(" ")
        name = name.lstrip("/")
        if name == "echo":
            return {"status": "success", "stdout": rest}
        if name == "count":
            folder = os.environ.get("ISAAC_COUNT_DIR", ".")
            with open(os.path.join(folder, "count"), "a") as f:
                f.write((rest or "ran") + "\n")
            return {"status": "success", "stdout": "counted"}
        run = subprocess.run([self.script(name), *shlex.split(rest)], capture_output=True, text=True)
        if run.returncode == 0:
            return {"status": "success", "stdout": run.stdout}
        return {"status": "error", "stderr": run.stderr, "exit_code": run.returncode}


if __name__ == "__main__":
    try:
        Agent().run_forever()
    except KeyboardInterrupt:
        pass
