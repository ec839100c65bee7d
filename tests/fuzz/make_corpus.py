#!/usr/bin/env python3
"""Writes the seed corpus for safetensors_fuzzer (small valid and malformed
files) into tests/fuzz/corpus/safetensors/. Standard library only."""
import json, os, struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "safetensors")


def st(header, data=b"", pad=True):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def t(dtype, shape, b, e):
    return {"dtype": dtype, "shape": shape, "data_offsets": [b, e]}


files = {
    "valid_f32": st({"__metadata__": {"format": "pt"}, "w": t("F32", [2, 2], 0, 16),
                     "b": t("F32", [2], 16, 24)}, f32(1, -2, 0.5, 3e-39, 7, 8)),
    "valid_mixed": st({"h": t("F16", [2], 0, 4), "bf": t("BF16", [3], 4, 10),
                       "i": t("I64", [1], 10, 18), "u8": t("U8", [2], 18, 20)},
                      struct.pack("<4H", 0x3C00, 0x0001, 0x3F80, 0x7FC0) + struct.pack("<Hq", 0xC0A0, -5) + b"\x01\x02"),
    "valid_empty": st({}),
    "valid_scalar_and_zero": st({"s": t("F32", [], 0, 4), "z": t("F32", [0, 3], 4, 4)}, f32(42)),
    "valid_unicode": st({"\u00e9\u4e2d\U0001F600": t("F32", [1], 0, 4),
                         "__metadata__": {"k\n": "v\"\\"}}, f32(1)),
    "trunc_data": st({"w": t("F32", [4], 0, 16)}, f32(1, 2)),
    "trunc_header": st({"w": t("F32", [1], 0, 4)}, f32(1))[:20],
    "header_too_long": struct.pack("<Q", 1 << 40) + b"{}",
    "bad_json": st(b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]', f32(1), pad=False),
    "unknown_dtype": st({"w": t("F17", [1], 0, 4)}, f32(1)),
    "size_mismatch": st({"w": t("F32", [2], 0, 12)}, f32(1, 2, 3)),
    "overlap": st({"a": t("F32", [2], 0, 8), "b": t("F32", [2], 4, 12)}, f32(1, 2, 3)),
    "duplicate": st(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                    b'"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(1, 2)),
    "shape_overflow": st({"a": t("F32", [4294967296, 4294967296], 0, 4)}, f32(1)),
    "deep": st(b"{\"a\":" + b"[" * 100 + b"]" * 100 + b"}", pad=False),
}

os.makedirs(OUT, exist_ok=True)
for name, data in files.items():
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(data)
print(f"wrote {len(files)} files to {OUT}")
