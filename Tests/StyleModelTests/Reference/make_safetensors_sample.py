#!/usr/bin/env python3
"""Writes safetensors-sample.json: the bytes of two tiny safetensors files built from
the format's specification (https://github.com/huggingface/safetensors, "Format") with
json + struct + numpy only, independently of Lookbook's Swift code.

- "f32": what a writer following the reference implementation produces for F32 tensors:
  compact JSON header, "__metadata__" first, tensors in sorted-name order, header padded
  with spaces to a multiple of 8. SafeTensors.encode must reproduce it byte for byte.
- "mixed": F16 and BF16 tensors (and an F32 one), header entries not in offset order.
  SafeTensors.decode must read the listed values.

Run: python3 make_safetensors_sample.py > safetensors-sample.json
"""
import json
import struct

import numpy as np


def build(entries, metadata, order):
    """entries: name -> (dtype, shape, raw bytes); `order` gives the data layout."""
    header, offset, data = {}, 0, b""
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    infos = {}
    for name in order:
        dtype, shape, raw = entries[name]
        infos[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    return header, infos, data


def serialize(header, infos, header_order, data):
    for name in header_order:
        header[name] = infos[name]
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(values):
    return np.asarray(values, dtype="<f4")


# The F32 sample: sorted names (code point order = UTF-8 byte order), a scalar, an empty
# tensor, a name that needs a JSON escape and one that is not ASCII.
f32_tensors = {
    "model.norm.weight": ([4], f32([1.0, -0.5, 0.1, 3.25e-3])),
    "model.embed_tokens.weight": ([2, 3], f32([0.02, -1.5, 7.0, 1e-7, -0.0, 123.456])),
    "B": ([], f32([42.0])),
    "empty": ([0, 3], f32([])),
    "z\u00e9ta \"q\"": ([1, 2], f32([-2.5, 0.333])),
}
metadata = {"format": "pt", "note": "tab\there, \u00fcml\u00e4ut"}
entries = {k: ("F32", s, v.tobytes()) for k, (s, v) in f32_tensors.items()}
order = sorted(entries)
header, infos, data = build(entries, metadata, order)
f32_bytes = serialize(header, infos, order, data)

# The mixed sample: F16 (subnormal, max, negative zero) and BF16 (truncated F32 bits).
f16_values = np.asarray([1.0, -2.0, 0.1, 2.0 ** -24, 65504.0, -0.0], dtype="<f2")
bf16_source = f32([1.0, -3.140625, 1e-3, 2.5e38])
bf16_bits = (bf16_source.view("<u4") >> 16).astype("<u2")
bf16_values = (bf16_bits.astype("<u4") << 16).view("<f4")
mixed = {
    "half": ("F16", [2, 3], f16_values.tobytes()),
    "brain": ("BF16", [4], bf16_bits.tobytes()),
    "single": ("F32", [1], f32([0.75]).tobytes()),
}
header, infos, data = build(mixed, {}, ["half", "brain", "single"])
mixed_bytes = serialize(header, infos, ["single", "half", "brain"], data)


def listed(shape, values):
    return {"shape": shape, "values": [float(v) for v in values]}


print(json.dumps({
    "generator": "make_safetensors_sample.py",
    "f32": {
        "hex": f32_bytes.hex(),
        "metadata": metadata,
        "tensors": {k: listed(s, v) for k, (s, v) in f32_tensors.items()},
    },
    "mixed": {
        "hex": mixed_bytes.hex(),
        "metadata": {},
        "tensors": {
            "half": listed([2, 3], f16_values),
            "brain": listed([4], bf16_values),
            "single": listed([1], [0.75]),
        },
    },
}, indent=1, ensure_ascii=False))
