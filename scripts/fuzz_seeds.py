#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets (fuzz/fuzz_*.cpp) into OUT/<target>/.

Seeds are small valid inputs made from the bundled data/tiny files and from the formats'
specifications (standard library only), plus a few near-misses; the fuzzer mutates them.
Usage: scripts/fuzz_seeds.py OUT
"""
import json
import os
import struct
import sys
import zipfile
import io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "data", "tiny")
SEP = b"\n#####\n"


def read(name):
    with open(os.path.join(TINY, name), "rb") as f:
        return f.read()


def npy(descr, shape, payload, fortran=False, version=1):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, "True" if fortran else "False", "".join("%d," % s for s in shape) if len(shape) != 1 else "%d," % shape[0])
    size_len = 2 if version == 1 else 4
    pad = (64 - (10 + (size_len - 2) + len(header) + 1) % 64) % 64
    header = header + " " * pad + "\n"
    return (b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<H" if version == 1 else "<I", len(header))
            + header.encode() + payload)


def safetensors(tensors, metadata=None):
    head, offset, data = {}, 0, b""
    for name, (dtype, shape, payload) in tensors.items():
        head[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(payload)]}
        offset += len(payload)
        data += payload
    if metadata:
        head["__metadata__"] = metadata
    h = json.dumps(head).encode()
    return struct.pack("<Q", len(h)) + h + data


def first_lines(blob, n):
    return b"\n".join(blob.split(b"\n")[:n]) + b"\n"


def seeds():
    inter = json.loads(read("tiny.inter.json"))
    items = json.loads(read("tiny.item.json"))
    some_users = {u: inter[u] for u in list(inter)[:6]}
    used = sorted({i for seq in some_users.values() for i in seq})
    some_items = {str(i): items[str(i)] for i in used if str(i) in items}
    n_items = 1 + max(int(i) for seq in inter.values() for i in seq)
    index = {str(i): ["<a_%d>" % (i // 32), "<b_%d>" % (i % 32)] for i in range(n_items)}
    f32 = struct.pack("<6f", 0.5, -1, 2, 3.25, 0, 1e-3)

    yield "npy", "f4", npy("<f4", (2, 3), f32)
    yield "npy", "i8", npy("<i8", (3,), struct.pack("<3q", 1, 2, 3))
    yield "npy", "f8v2", npy("<f8", (1, 2), struct.pack("<2d", 1.5, 2.5), version=2)
    yield "npy", "fortran", npy("<f4", (3, 2), f32, fortran=True)
    yield "npy", "scalar", npy("<f4", (), struct.pack("<f", 7))

    yield "safetensors", "two", safetensors({"w": ("F32", [2, 3], f32), "b": ("I64", [2], struct.pack("<2q", 4, 5))},
                                            {"format": "pt"})
    yield "safetensors", "bf16", safetensors({"x": ("BF16", [2], b"\x80\x3f\x00\x40")})
    yield "safetensors", "empty", safetensors({})

    yield "letter_data", "users", json.dumps(some_users).encode() + SEP + json.dumps(some_items).encode()
    yield "letter_data", "no_items", json.dumps(some_users).encode()
    yield "letter_data", "strings", b'{"u1": ["3", "4", "5"], "u2": [4, 5]}' + SEP + b'{"3": {"title": "a\\u00e9"}, "4": {"title": 5}}'

    yield "recbole", "tiny", first_lines(read("tiny.inter"), 40) + SEP + first_lines(read("tiny.item"), 40)
    yield "recbole", "no_items", first_lines(read("tiny.inter"), 30)
    yield "recbole", "bom", b"\xef\xbb\xbf" + first_lines(read("tiny.inter"), 10)

    yield "csv", "csv", b"\x00" + first_lines(read("tiny.csv"), 40)
    yield "csv", "tsv", b"\x01" + first_lines(read("tiny.csv"), 20).replace(b",", b"\t")
    yield "csv", "quoted", b'\x00user,item,timestamp\n"U1","I,2",3\nU1,I3,4.5\n'

    yield "index", "json", b"\x00" + json.dumps(index).encode()
    codes = b"".join(struct.pack("<2q", i // 32, i % 32) for i in range(n_items))
    yield "index", "npy", b"\x01" + npy("<i8", (n_items, 2), codes)

    for name in ("tiny.json", "beauty.json", "instruments.json"):
        with open(os.path.join(ROOT, "configs", name), "rb") as f:
            yield "config", name.split(".")[0], f.read() + SEP + b"recommender.d_model=64\neval.beam=10\n"
    yield "config", "preset", b'{"recommender": {"preset": "quick"}, "tokenizer": {"preset": "paper"}}' + SEP + b"seed=3\n"

    for i, text in enumerate(["Lipstick, RED café!", "東京 shampoo\tun-known", "a" * 150,
                              "[CLS] the [SEP] x\u0301 \u00a0 \x00\x07 ##x", "\xff\xfe broken"]):
        yield "wordpiece", "t%d" % i, bytes([i * 37 % 256]) + text.encode("utf-8", "surrogateescape")

    users = list(inter)[:3]
    lines = [{"user": users[0]}, {"items": [str(i) for i in inter[users[1]][:4]], "k": 5, "id": 7},
             {"user": "nobody"}, {"items": [], "k": 2}]
    yield "recommend", "lines", "\n".join(json.dumps(l) for l in lines).encode() + b"\nnot json\n"

    header = {"format": "letter.fuzz", "version": 1, "config": {"seed": 1}, "state": {"epoch": 2}}
    yield "checkpoint", "header", b"\x01" + json.dumps(header).encode()
    yield "checkpoint", "header_sum", b"\x01" + json.dumps(dict(header, tensor_checksum="0123456789abcdef")).encode()
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("archive/version", "3\n")
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    yield "checkpoint", "zip", b"\x00" + z.getvalue()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    count = 0
    for target, name, blob in seeds():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)
        count += 1
    print("fuzz_seeds: %d seeds in %s" % (count, out))


if __name__ == "__main__":
    main()
