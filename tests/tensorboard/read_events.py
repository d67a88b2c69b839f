"""The tensorboard tests' independent side (Debian's python3-protobuf, python3-crcmod, python3-numpy).

  read_events.py events PB2_DIR LOG_DIR OUT.json
      Reads every event file under LOG_DIR as TensorBoard does: TFRecord framing, whose two masked CRC-32Cs
      per record are checked with crcmod's CRC-32C (not Keel's), then each record parsed as an Event with
      the Python module protoc generated from src/tensorboard/event.proto. Writes one JSON object:
      {"files": [{"run": <folder relative to LOG_DIR>, "name": <file name>, "truncated": bool,
                  "events": [{"wall_time", "step", "file_version"?, "values"?: [...]}]}]}
      A record whose CRC does not match is an error (exit 1); an incomplete last record (a killed writer)
      sets "truncated" and ends the file.
  read_events.py histogram DATA.txt BUCKETS OUT.json
      TensorBoard's histogram buckets (histogram_pb of tensorboard/plugins/histogram/summary_v2.py) of the
      numbers in DATA.txt, computed with NumPy: [[left, right, count], ...].
"""
import json
import os
import struct
import sys

import crcmod.predefined
import numpy as np

crc32c = crcmod.predefined.mkCrcFun("crc-32c")


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path):
    with open(path, "rb") as f:
        blob = f.read()
    records, pos, truncated = [], 0, False
    while pos < len(blob):
        if len(blob) - pos < 12:
            truncated = True
            break
        header = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if length_crc != masked(header):
            sys.exit(f"{path}: offset {pos}: the length's CRC does not match")
        if len(blob) - pos < 12 + length + 4:
            truncated = True
            break
        data = blob[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", blob[pos + 12 + length:pos + 16 + length])
        if data_crc != masked(data):
            sys.exit(f"{path}: offset {pos}: the data's CRC does not match")
        records.append(data)
        pos += 16 + length
    return records, truncated


def value_to_json(value, pb2):
    out = {"tag": value.tag}
    if value.HasField("metadata"):
        out["plugin"] = value.metadata.plugin_data.plugin_name
        out["content"] = value.metadata.plugin_data.content.decode("latin-1")
        out["data_class"] = pb2.DataClass.Name(value.metadata.data_class)
    which = value.WhichOneof("value")
    if which == "simple_value":
        out["simple_value"] = value.simple_value
    elif which == "tensor":
        t = value.tensor
        out["dtype"] = pb2.DataType.Name(t.dtype)
        out["shape"] = [d.size for d in t.tensor_shape.dim]
        if t.dtype == pb2.DT_FLOAT:
            out["values"] = list(t.float_val)
        elif t.dtype == pb2.DT_DOUBLE:
            out["values"] = list(t.double_val)
        elif t.dtype == pb2.DT_STRING:
            out["values"] = [s.decode("utf-8") for s in t.string_val]
    return out


def events(pb2_dir, log_dir, out_path):
    sys.path.insert(0, pb2_dir)
    import event_pb2 as pb2

    files = []
    for root, _, names in sorted(os.walk(log_dir)):
        for name in sorted(names):
            if not name.startswith("events.out.tfevents."):
                continue
            path = os.path.join(root, name)
            records, truncated = read_records(path)
            entries = []
            for data in records:
                event = pb2.Event()
                event.ParseFromString(data)
                entry = {"wall_time": event.wall_time, "step": event.step}
                which = event.WhichOneof("what")
                if which == "file_version":
                    entry["file_version"] = event.file_version
                elif which == "summary":
                    entry["values"] = [value_to_json(v, pb2) for v in event.summary.value]
                entries.append(entry)
            files.append({"run": os.path.relpath(root, log_dir), "name": name, "truncated": truncated,
                          "events": entries})
    with open(out_path, "w") as f:
        json.dump({"files": files}, f)


def histogram(data_path, bucket_count, out_path):
    data = np.loadtxt(data_path, dtype=np.float64, ndmin=1)
    if data.size == 0:
        buckets = np.zeros((0, 3))
    elif data.max() - data.min() == 0:
        buckets = np.array([[data.min() - 0.5, data.min() + 0.5, float(data.size)]])
    else:
        lo, hi = data.min(), data.max()
        width = (hi - lo) / bucket_count
        index = np.minimum(np.floor((data - lo) / width).astype(int), bucket_count - 1)
        counts = np.bincount(index, minlength=bucket_count).astype(np.float64)
        edges = np.linspace(lo, hi, bucket_count + 1)
        edges[-1] = hi
        buckets = np.stack([edges[:-1], edges[1:], counts], axis=1)
    with open(out_path, "w") as f:
        json.dump(buckets.tolist(), f)


if __name__ == "__main__":
    if sys.argv[1] == "events":
        events(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "histogram":
        histogram(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit("usage: read_events.py events PB2_DIR LOG_DIR OUT.json | histogram DATA.txt BUCKETS OUT.json")
