"""What Vigil's benchmark and fault scripts share: loopback brokers, a publisher, the agent and
the trainer as processes, reads of their SQLite files, and the model the agents run.

Every server listens on 127.0.0.1 only, and every process is stopped by its own pid.
"""
import json, math, os, random, signal, socket, sqlite3, struct, subprocess, sys, threading, time

# A SIGTERM (a CI job's timeout, `kill PID`) unwinds a script as Ctrl-C does: each `finally`
# stops what it started, by pid, and removes its temp files.
signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEVICES = 16


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def release_binaries(build=True, products=("vigil-agent", "vigil-trainer")):
    """Paths of the static release builds of `products`, in their order, built first unless not asked."""
    release = ["swift", "build", "-c", "release", "--static-swift-stdlib"]
    if build:
        for product in products:
            subprocess.run(release + ["--product", product], cwd=ROOT, check=True)
    path = subprocess.run(release + ["--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    return tuple(f"{path}/{product}" for product in products)


class Broker:
    """A mosquitto on a free loopback port that never drops a queued message (no queue caps,
    QoS 0 queued for persistent sessions too), with Nagle off; `persistence` keeps sessions and
    queues across `restart()` on the same port."""

    def __init__(self, work, name="mosquitto", persistence=False):
        self.port, self.work, self.name, self.proc = free_port(), work, name, None
        self.conf = os.path.join(work, f"{name}.conf")
        os.makedirs(os.path.join(work, name), exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\nuser root\n"
                    f"persistence {'true' if persistence else 'false'}\npersistence_location {work}/{name}/\n"
                    "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\nqueue_qos0_messages true\n"
                    "message_size_limit 0\nset_tcp_nodelay true\nlog_dest stderr\nlog_type error\n")
        self.start()

    @property
    def url(self):
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stderr=open(os.path.join(self.work, f"{self.name}.log"), "a"))
        wait_for(self.listening, 10, f"mosquitto ({self.name}) to listen")

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.1).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None

    def restart(self):
        self.stop()
        self.start()


class Publisher:
    """One MQTT 3.1.1 connection that publishes at QoS 0 or 1 (a reader thread counts the PUBACKs):
    a few lines of the protocol, so a timed run starts no process and writes no pipe."""

    def __init__(self, port, client_id=None):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client_id = (client_id or f"vigil-pub-{os.getpid()}-{free_port()}").encode()
        body = struct.pack("!H", 4) + b"MQTT" + bytes([4, 2]) + struct.pack("!H", 60) + struct.pack("!H", len(client_id)) + client_id
        self.sock.sendall(self.packet(0x10, body))
        connack = self.receive(4)
        if connack[0] != 0x20 or connack[3] != 0:
            sys.exit(f"the broker refused the publisher: {connack!r}")
        self.sent = self.acked = 0
        self.next_id = 0
        self.reader = threading.Thread(target=self.read_acks, daemon=True)
        self.reader.start()

    def receive(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk: raise ConnectionError("the broker closed the connection")
            data += chunk
        return data

    def read_acks(self):
        try:
            while True:
                head = self.receive(2)
                self.receive(head[1])
                if head[0] == 0x40: self.acked += 1
        except (ConnectionError, OSError):
            pass

    @staticmethod
    def packet(kind, body):
        length, size = b"", len(body)
        while True:
            size, digit = divmod(size, 128)
            length += bytes([digit | (0x80 if size else 0)])
            if not size: return bytes([kind]) + length + body

    def publish(self, topic, payload, qos=0):
        topic = topic.encode()
        payload = payload if isinstance(payload, bytes) else payload.encode()
        if qos == 0:
            self.sock.sendall(self.packet(0x30, struct.pack("!H", len(topic)) + topic + payload))
            return
        self.next_id = self.next_id % 65535 + 1
        self.sock.sendall(self.packet(0x32, struct.pack("!H", len(topic)) + topic + struct.pack("!H", self.next_id) + payload))
        self.sent += 1

    def wait_acked(self, timeout=60):
        """Waits until the broker acknowledged every QoS 1 message."""
        wait_for(lambda: self.acked >= self.sent, timeout, "the broker's PUBACKs")

    def close(self):
        try:
            self.sock.sendall(bytes([0xE0, 0]))
        except OSError:
            pass
        self.sock.close()


def query(db, sql, default=0):
    """The first column of the first row of `sql` on a SQLite file, read-only (default if none)."""
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            row = connection.execute(sql).fetchone()
            return row[0] if row and row[0] is not None else default
        finally:
            connection.close()
    except sqlite3.Error:
        return default


def counter(db, name):
    return query(db, f"SELECT value FROM counters WHERE name = '{name}'")


def wait_for(condition, timeout, what):
    """Polls `condition` until true and returns when (monotonic seconds); exits with `what` if
    `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline: sys.exit(f"timed out waiting for {what}")
        time.sleep(0.02)
    return time.monotonic()


class Agent:
    """`vigil-agent run` as a process over `settings` (the config as a dict), logging to a file."""

    def __init__(self, binary, work, settings, name="agent"):
        self.binary, self.work, self.proc = binary, work, None
        self.config = os.path.join(work, f"{name}.json")
        self.log = os.path.join(work, f"{name}.log")
        self.db = settings["database"]
        # The simulator's machine time runs ahead of the wall clock: its clocks are not judged.
        settings.setdefault("clock_tolerance_seconds", 0)
        with open(self.config, "w") as f:
            json.dump(settings, f)
        open(self.log, "a").close()

    def subscriptions(self, component="mqtt"):
        """How often it has subscribed: to the sensor broker (`mqtt`) or the central one (`uplink`)."""
        return open(self.log).read().count(f"component={component} msg=subscribed")

    def start(self, wait=True):
        """Starts it; with `wait`, until it logs a new subscription to the sensor broker."""
        before = self.subscriptions()
        self.proc = subprocess.Popen([self.binary, "run", "--config", self.config], stderr=open(self.log, "a"))
        if wait: wait_for(lambda: self.subscriptions() > before or self.proc.poll() is not None, 30, "the agent to subscribe")
        if self.proc.poll() is not None: sys.exit(f"the agent exited; see {self.log}")

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None


def scalar_payload(device, seq, ts_ns, accel, temp=None):
    """The Python peer's payload, which `scripts/bench/devices/bench-bearing.json` reads."""
    return f'{{"sensor":"m{device:02d}","seq":{seq},"ts":{ts_ns},"accel":{accel},"temp":{40 + device if temp is None else temp}}}'


def train_model(work, agent_bin, trainer_bin, key, version="1.0.0", out=None):
    """A signed int8 model of the scalar devices, made as a user would: an agent drains a labelled
    history of 16 devices (1 reading a second for 3,000 s; devices 0-7 degrade for 600 s, fail at
    1,000 + 250 d seconds and are repaired), then `vigil-trainer train` with a 10-minute horizon
    (and a 20-minute early one, a 4-minute trend, and a baseline of a device's first 3 windows, so
    the model has the defaults' shape and scores within a few seconds of a benchmark's start)
    signs it with `key` (PREFIX.key, made if missing). Returns the bundle's path and hold-out
    macro-F1 line."""
    history = os.path.join(work, "history.db")
    if not os.path.exists(history):
        record_history(work, agent_bin, history)
    if not os.path.exists(key + ".key"):
        subprocess.run([trainer_bin, "keygen", "--out", key], check=True, stdout=subprocess.DEVNULL)
    out = out or os.path.join(work, f"bench-bearing-{version}.vgm")
    result = subprocess.run([trainer_bin, "train", "--agent-db", history, "--devices", os.path.join(ROOT, "scripts/bench/devices"),
                             "--type", "bench-bearing", "--key", key + ".key", "--out", out, "--version", version,
                             "--horizon-hours", str(600 / 3600), "--early-horizon-hours", str(1200 / 3600),
                             "--baseline-hours", str(2 / 3600), "--trend-hours", str(240 / 3600),
                             "--network-trend-hours", str(120 / 3600)], capture_output=True, text=True)
    if result.returncode != 0: sys.exit(f"vigil-trainer train failed: {result.stderr}")
    return out, next((line.strip() for line in result.stdout.splitlines() if "macro-F1" in line), "")


def record_history(work, agent_bin, database):
    rng = random.Random(11)
    base = 1760000000
    failures = {d: 1000 + 250 * d for d in range(8)}
    broker = Broker(work, "history-broker")
    agent = Agent(agent_bin, work, {"agent_id": "history", "broker": {"url": broker.url, "qos": 1}, "database": database,
                                    "devices": os.path.join(ROOT, "scripts/bench/devices")}, name="history-agent")
    try:
        agent.start()
        publisher = Publisher(broker.port)
        for k in range(3000):
            for d in range(DEVICES):
                until = failures.get(d, -1) - k
                wear = 1 + 4 * (600 - until) / 600 if 0 <= until < 600 else 1
                accel = round(math.sin(0.7 * k + d) * 0.5 * wear + rng.gauss(0, 0.02 * wear * wear), 5)
                publisher.publish(f"plant1/m{d:02d}/vib", scalar_payload(d, k, (base + k) * 10**9, accel), qos=1)
        for d, at in failures.items():
            for kind, ts in (("fault", at), ("repair", at + 1)):
                publisher.publish(f"vigil/maintenance/m{d:02d}", json.dumps({"kind": kind, "mode": "outer_race", "ts": base + ts}), qos=1)
        publisher.wait_acked()
        publisher.close()
        wait_for(lambda: counter(database, "messages_stored") >= 3000 * DEVICES
                 and query(database, "SELECT count(*) FROM maintenance_events") == 16, 120, "the training history stored")
    finally:
        agent.stop()
        broker.stop()
