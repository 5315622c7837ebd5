"""Writes payloads.jsonl: Sparkplug B payloads encoded by Google's protobuf runtime (through
pysparkplug's generated classes, from Eclipse Tahu's sparkplug_b.proto), each beside what it
holds, so Vigil's own decoder is checked against an encoder nobody here wrote.

    python3 -m venv venv && venv/bin/pip install pysparkplug==0.6.1
    venv/bin/python make_payloads.py > payloads.jsonl
"""
import json
import random
import struct

from pysparkplug import DataType, Metric
from pysparkplug._protobuf import sparkplug_b_pb2 as pb

rng = random.Random(7)
SCALARS = [
    (DataType.INT8, lambda: rng.randint(-128, 127)),
    (DataType.INT16, lambda: rng.randint(-32768, 32767)),
    (DataType.INT32, lambda: rng.randint(-2**31, 2**31 - 1)),
    (DataType.INT64, lambda: rng.randint(-2**53, 2**53)),
    (DataType.UINT8, lambda: rng.randint(0, 255)),
    (DataType.UINT16, lambda: rng.randint(0, 65535)),
    (DataType.UINT32, lambda: rng.randint(0, 2**32 - 1)),
    (DataType.UINT64, lambda: rng.randint(0, 2**53)),
    (DataType.FLOAT, lambda: struct.unpack("<f", struct.pack("<f", rng.uniform(-1e4, 1e4)))[0]),
    (DataType.DOUBLE, lambda: rng.uniform(-1e9, 1e9)),
    (DataType.BOOLEAN, lambda: rng.random() < 0.5),
]
ARRAYS = [
    (DataType.INT8_ARRAY, lambda: rng.randint(-128, 127)),
    (DataType.INT16_ARRAY, lambda: rng.randint(-32768, 32767)),
    (DataType.INT32_ARRAY, lambda: rng.randint(-2**31, 2**31 - 1)),
    (DataType.UINT16_ARRAY, lambda: rng.randint(0, 65535)),
    (DataType.FLOAT_ARRAY, lambda: struct.unpack("<f", struct.pack("<f", rng.gauss(0, 3)))[0]),
    (DataType.DOUBLE_ARRAY, lambda: rng.gauss(0, 3)),
]


def expected(metric):
    item = {"datatype": int(metric.datatype), "is_null": metric.is_null or metric.value is None}
    for key in ("name", "alias", "timestamp"):
        if getattr(metric, key) is not None:
            item[key] = getattr(metric, key)
    if not item["is_null"]:
        value = metric.value
        if isinstance(value, bool):
            value = 1 if value else 0
        item["value"] = list(value) if isinstance(value, tuple) else value
    return item


def payload(birth):
    metrics = []
    now = 1_750_000_000_000 + rng.randint(0, 10**9)
    for index in range(rng.randint(1, 8)):
        kind, draw = rng.choice(SCALARS + ARRAYS + [(DataType.STRING, None)])
        if kind == DataType.STRING:
            value = rng.choice(["", "ok", "Läuft", "motor/3 ✓"])
        elif kind in dict(ARRAYS):
            value = tuple(draw() for _ in range(rng.choice([0, 1, 7, 64])))
        else:
            value = draw()
        null = rng.random() < 0.1
        metrics.append(Metric(
            timestamp=now + index if rng.random() < 0.8 else None,
            name=f"Line {index}/Sensor {index}" if birth or rng.random() < 0.3 else None,
            alias=index + 1 if birth or rng.random() < 0.9 else None,
            datatype=kind, value=None if null else value, is_null=null))
    message = pb.Payload()
    message.timestamp = now
    message.seq = rng.randint(0, 255)
    described = []
    for metric in metrics:
        typed = birth or rng.random() < 0.5
        encoded = metric.to_pb(include_dtype=typed)
        described.append(dict(expected(metric), datatype_sent=typed))
        if rng.random() < 0.2:
            # Fields the decoder must skip: properties, metadata, is_historical.
            encoded.properties.keys.append("engUnit")
            value = encoded.properties.values.add()
            value.type = DataType.STRING
            value.string_value = "mm/s"
            encoded.metadata.description = "skipped"
            encoded.is_historical = True
        message.metrics.append(encoded)
    if rng.random() < 0.2:
        message.uuid = "vigil-fixture"
    return message, {"timestamp": now, "seq": message.seq, "metrics": described}


for number in range(150):
    message, described = payload(birth=number % 4 == 0)
    described["hex"] = message.SerializeToString().hex()
    print(json.dumps(described, ensure_ascii=False))
