"""A Sparkplug B edge node written with pysparkplug (from PyPI, nobody here wrote it), for the
agent's interop test. Against a broker on 127.0.0.1:PORT it:

1. connects and publishes its births, then prints "born" (the test starts the agent after that,
   so the agent has missed them);
2. once the host's STATE says online, sends 3 DDATA the host cannot place (before its birth);
3. on the host's rebirth request (NCMD Node Control/Rebirth), reconnects (NDEATH, then NBIRTH
   with the next bdSeq and the DBIRTHs), and sends 20 DDATA of temperature, current and a
   vibration array;
4. skips one sequence number (a message lost on the way), answers the second rebirth request
   the same way, and sends 10 DDATA more;
5. registers a device no profile matches and sends it one DDATA;
6. deregisters the motor (DDEATH), disconnects (NDEATH), and writes what it sent to OUT as JSON.

A second plain MQTT client watches the group's topics so that each step waits until the broker
has passed on the previous one, instead of sleeping. It also checks that the broker passed on
everything this node sent: under load, paho has been seen to lose its connection mid-run (the
broker then publishes the node's will, an NDEATH carrying a birth's bdSeq, and QoS 0 messages
after it are gone; at the very end paho often closes the socket before its DISCONNECT, and the
will stands in for the last NDEATH, which is fine). The scenario is void then, not the host's
doing: exit status 3 says so, and the test runs it again.
"""
import argparse
import json
import struct
import sys
import threading
import time

import paho.mqtt.client as paho
from pysparkplug import Client, DataType, Device, EdgeNode, Metric
from pysparkplug._protobuf import sparkplug_b_pb2 as pb
trace = []

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--group", default="plant-1")
parser.add_argument("--node", default="line-4")
parser.add_argument("--host-id", default="vigil-test")
parser.add_argument("--out", required=True)
args = parser.parse_args()

VOID = 3
rebirth = threading.Event()
seen = []
birth_bd, death_bd = set(), set()
closing = threading.Event()
seen_lock = threading.Condition()
host_online = threading.Event()


def on_command(_node, message):
    for metric in message.payload.metrics:
        if metric.name == "Node Control/Rebirth" and metric.value:
            rebirth.set()


def on_watch(_client, _userdata, message):
    if message.topic == f"spBv1.0/STATE/{args.host_id}":
        if json.loads(message.payload).get("online"):
            host_online.set()
        return
    payload = pb.Payload()
    payload.ParseFromString(message.payload)
    bd = [m.long_value for m in payload.metrics if m.name == "bdSeq"]
    kind = message.topic.split('/')[2]
    trace.append(f"{kind} seq={payload.seq if payload.HasField('seq') else '-'} bd={bd}")
    if kind == "NBIRTH":
        birth_bd.update(bd)
    elif kind == "NDEATH" and not closing.is_set():
        death_bd.update(bd)
    with seen_lock:
        seen.append(message.topic)
        seen_lock.notify_all()


def dropped():
    """Whether the broker published this node's will before it began to close: a death with a
    birth's bdSeq (a clean disconnect's NDEATH carries the next one)."""
    with seen_lock:
        return bool(birth_bd & death_bd)


def fail(why):
    print(why, trace, flush=True)
    sys.exit(VOID if dropped() else 1)


def wait_until(predicate, what, timeout=30):
    deadline = time.time() + timeout
    with seen_lock:
        while not predicate():
            if not seen_lock.wait(max(0.0, deadline - time.time())) and time.time() >= deadline:
                fail(f"timed out waiting for {what}; seen {len(seen)}: {seen[-5:]}")


def seen_of(kind):
    return sum(1 for topic in seen if topic.split("/")[2] == kind)


def passed_on(kind, count):
    """Waits until the watcher has seen `count` messages of `kind` (DBIRTH, NDEATH...) in all."""
    wait_until(lambda: seen_of(kind) >= count, f"{count} {kind}")


subscribed = threading.Event()
watcher = paho.Client(client_id="sparkplug-watcher", clean_session=True)
watcher.on_message = on_watch
watcher.on_subscribe = lambda *_: subscribed.set()
watcher.connect("127.0.0.1", args.port)
watcher.subscribe([(f"spBv1.0/{args.group}/#", 0), (f"spBv1.0/STATE/{args.host_id}", 1)])
watcher.loop_start()
subscribed.wait(10) or fail("the watcher did not subscribe")

MOTOR = [
    Metric(timestamp=0, name="Motor/Temperature", alias=1, datatype=DataType.DOUBLE, value=40.0),
    Metric(timestamp=0, name="Motor/Current", alias=2, datatype=DataType.FLOAT, value=5.0),
    Metric(timestamp=0, name="Motor/Vibration", alias=3, datatype=DataType.FLOAT_ARRAY, value=(0.0,) * 8),
    Metric(timestamp=0, name="Motor/Serial", alias=4, datatype=DataType.STRING, value="M-0042"),
]
node = EdgeNode(args.group, args.node, metrics=[], client=Client(client_id=f"{args.node}-edge"), cmd_callback=on_command)
node.register(Device("motor-7", MOTOR))


def connect():
    node.connect("127.0.0.1", port=args.port)


def reconnect():
    """Answers a rebirth request: NDEATH, then (from the connect callback) NBIRTH and DBIRTH."""
    with seen_lock:
        births = seen_of("DBIRTH")
    node.disconnect()
    connect()
    passed_on("DBIRTH", births + 1)


sent = []
clock = 1_750_000_000_000


def send_motor(count):
    global clock
    for _ in range(count):
        clock += 1000
        temperature = round(40 + (clock % 7000) / 1000, 3)
        current = struct.unpack("<f", struct.pack("<f", 5 + (clock % 3000) / 7000))[0]
        vibration = tuple(struct.unpack("<f", struct.pack("<f", ((clock // 1000 + i) % 17 - 8) / 4))[0] for i in range(64))
        node.update_device("motor-7", [
            Metric(timestamp=clock, name="Motor/Temperature", alias=1, datatype=DataType.DOUBLE, value=temperature),
            Metric(timestamp=clock, name="Motor/Current", alias=2, datatype=DataType.FLOAT, value=current),
            Metric(timestamp=clock, name="Motor/Vibration", alias=3, datatype=DataType.FLOAT_ARRAY, value=vibration),
        ])
        sent.append({"ts": clock, "temperature": temperature, "current": current, "vibration": list(vibration)})


connect()
passed_on("DBIRTH", 1)
print("born", flush=True)
host_online.wait(60) or fail("the host never said it was online")

# Data the host cannot place: it came online after the births.
before_birth = len(sent)
send_motor(3)
ignored = sent[before_birth:]
del sent[before_birth:]
rebirth.wait(30) or fail("no rebirth request after data before birth")
rebirth.clear()
reconnect()
send_motor(20)

# A message lost on the way: the next DDATA skips a sequence number.
next(node._EdgeNode__seq_cycler)
send_motor(1)
rebirth.wait(30) or fail(f"no rebirth request after a sequence gap; seen {[t.split('/')[2] for t in seen]}")
rebirth.clear()
reconnect()
send_motor(10)

# A device no profile matches.
node.register(Device("mystery-1", [Metric(timestamp=clock, name="Mystery/Level", alias=9, datatype=DataType.DOUBLE, value=1.0)]))
node.update_device("mystery-1", [Metric(timestamp=clock, name="Mystery/Level", alias=9, datatype=DataType.DOUBLE, value=2.0)])

with seen_lock:
    deaths = seen_of("NDEATH")
closing.set()
node.deregister("motor-7")
node.disconnect()
passed_on("NDEATH", deaths + 1)
watcher.loop_stop()
with seen_lock:
    ddata = sum(1 for topic in seen if topic.endswith("/DDATA/line-4/motor-7"))
if dropped() or ddata != len(ignored) + len(sent) or seen_of("DDEATH") != 1:
    print(f"void: the broker did not pass on everything this node sent ({ddata} motor DDATA of "
          f"{len(ignored) + len(sent)}, a will: {dropped()})", "; ".join(trace), flush=True)
    sys.exit(VOID)
with open(args.out, "w") as out:
    json.dump({"stored": sent, "before_birth": len(ignored)}, out)
# What the watcher saw, in the broker's order: the test shows it if the agent stored otherwise.
print("done; the broker passed on:", "; ".join(trace), flush=True)
