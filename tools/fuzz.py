#!/usr/bin/env python3
"""Mutation fuzzer for mp3restore: damaged and hostile input must never crash or hang.

Usage::

    python tools/fuzz.py [--seconds 300] [--jobs 2] [--seed S] [--out fuzz-crashes]
                         [--corpus fixtures] [--timeout 20] [--max-bytes 65536]

Each case takes a real MP3 from the corpus (``fixtures/*.mp3`` and the Layer III
conformance vectors when present), applies one or more mutations and decodes
the result with ``mp3restore.read`` (and, for a share of the cases, ``info``,
``read_coefficients`` and ``blocks``) **in a child process**, so that a
segfault, an abort or a hang is caught in the parent instead of killing it.

A case *fails* when the child

* dies from a signal (segfault, abort) or exits without reporting,
* raises anything but an ``Mp3RestoreError`` subclass,
* returns output that is not finite float32, or
* takes longer than ``--timeout`` seconds (a hang: decoding time must be
  bounded by the input size; the inputs are at most ``--max-bytes``).

Failing inputs are minimised a little (cut from the end, then from the start,
while the same kind of failure remains) and saved under ``--out`` as
``<kind>-<sha1>.mp3`` with a ``.txt`` holding the reason, the mutation and the
traceback.  At the end the statistics are printed: cases per strategy,
outcomes (decoded / clean error), failures, and the share of same-length
damage cases whose sample count equals the clean file's.

Mutation strategies (:data:`STRATEGIES`):

``truncate``   a prefix of the file
``flip``       bit flips at densities 1e-5 .. 1e-2
``overwrite``  a span of 1..600 random bytes overwritten in place
``zero``       a span of zero bytes in place
``ff``         a span of 0xFF bytes / copies of a real header in place (sync bait)
``insert``     random bytes inserted (length changes)
``delete``     a span removed
``duplicate``  a span repeated
``splice``     the start of one file joined to the rest of another
               (different sample rates / versions / channel counts)
``headers``    every frame header mutated in one field (bitrate, rate, mode, CRC bit)
``sideinfo``   random bytes over the side information of random frames
``stack``      two or three of the above applied in turn

The functions :func:`mutate` and :func:`same_length_damage` are also used by
``tests/test_robustness.py``.
"""
from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import queue
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------
# Mutations (pure functions of (data, rng); each returns (bytes, description))
# ---------------------------------------------------------------------------


def _span(rng, n, lo, hi):
    length = int(rng.integers(lo, hi + 1))
    length = max(1, min(length, n))
    start = int(rng.integers(0, max(1, n - length + 1)))
    return start, length


def m_truncate(data, rng, corpus=None):
    n = int(rng.integers(0, len(data) + 1))
    return data[:n], f"truncate {n}"


def m_flip(data, rng, corpus=None, density=None):
    if density is None:
        density = float(10 ** rng.uniform(-5, -2))
    arr = np.frombuffer(data, np.uint8).copy()
    nbits = arr.size * 8
    k = max(1, int(rng.binomial(nbits, density))) if nbits else 0
    if k:
        pos = rng.integers(0, nbits, k)
        np.bitwise_xor.at(arr, pos >> 3, (1 << (7 - (pos & 7))).astype(np.uint8))
    return arr.tobytes(), f"flip {k} bits (density {density:.1e})"


def m_overwrite(data, rng, corpus=None, lo=1, hi=600):
    if not data:
        return data, "overwrite nothing"
    s, n = _span(rng, len(data), lo, hi)
    junk = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    return data[:s] + junk + data[s + n:], f"overwrite {n} at {s}"


def m_zero(data, rng, corpus=None, lo=1, hi=600):
    if not data:
        return data, "zero nothing"
    s, n = _span(rng, len(data), lo, hi)
    return data[:s] + bytes(n) + data[s + n:], f"zero {n} at {s}"


def m_ff(data, rng, corpus=None):
    """Sync bait: 0xFF runs, or copies of a real header (or header + garbage) written in place."""
    if len(data) < 8:
        return data, "ff nothing"
    s, n = _span(rng, len(data), 2, 64)
    kind = int(rng.integers(0, 3))
    if kind == 0:
        junk = b"\xff" * n
        what = "ff-run"
    else:
        # a header taken from the file itself, repeated
        i = data.find(b"\xff", int(rng.integers(0, len(data))))
        hdr = data[i:i + 4] if i >= 0 and i + 4 <= len(data) else b"\xff\xfb\x90\x64"
        junk = (hdr * (n // 4 + 1))[:n] if kind == 1 else hdr + rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        junk = junk[:n]
        what = "header-copies" if kind == 1 else "header+junk"
    return data[:s] + junk + data[s + n:], f"{what} {n} at {s}"


def m_insert(data, rng, corpus=None):
    s = int(rng.integers(0, len(data) + 1))
    n = int(rng.integers(1, 1500))
    junk = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    return data[:s] + junk + data[s:], f"insert {n} at {s}"


def m_delete(data, rng, corpus=None):
    if not data:
        return data, "delete nothing"
    s, n = _span(rng, len(data), 1, 2000)
    return data[:s] + data[s + n:], f"delete {n} at {s}"


def m_duplicate(data, rng, corpus=None):
    if not data:
        return data, "duplicate nothing"
    s, n = _span(rng, len(data), 1, 3000)
    return data[:s + n] + data[s:s + n] + data[s + n:], f"duplicate {n} at {s}"


def m_splice(data, rng, corpus=None):
    if not corpus:
        return m_duplicate(data, rng)
    other = corpus[int(rng.integers(0, len(corpus)))]
    a = int(rng.integers(0, len(data) + 1))
    b = int(rng.integers(0, len(other) + 1))
    if rng.random() < 0.5:
        return data[:a] + other[b:], f"splice {a} + other[{b}:]"
    return other[:b] + data[a:], f"splice other[:{b}] + [{a}:]"


def _frame_starts(data, limit=4000):
    """Offsets of plausible frame headers (cheap; used to aim mutations at headers)."""
    out = []
    i = data.find(b"\xff")
    while 0 <= i < len(data) - 4 and len(out) < limit:
        if data[i + 1] & 0xE0 == 0xE0 and (data[i + 1] >> 1) & 3 == 1:
            out.append(i)
        i = data.find(b"\xff", i + 1)
    return out


def m_headers(data, rng, corpus=None):
    """Change one header field (bitrate, rate, mode, CRC bit, padding) in some frames."""
    starts = _frame_starts(data)
    if not starts:
        return m_flip(data, rng)
    arr = bytearray(data)
    k = int(rng.integers(1, min(8, len(starts)) + 1))
    picks = rng.choice(len(starts), k, replace=False)
    for j in picks:
        p = starts[int(j)]
        field = int(rng.integers(0, 5))
        if field == 0:
            arr[p + 2] = (arr[p + 2] & 0x0F) | (int(rng.integers(0, 16)) << 4)
        elif field == 1:
            arr[p + 2] = (arr[p + 2] & 0xF3) | (int(rng.integers(0, 4)) << 2)
        elif field == 2:
            arr[p + 3] = (arr[p + 3] & 0x3F) | (int(rng.integers(0, 4)) << 6)
        elif field == 3:
            arr[p + 1] ^= 1
        else:
            arr[p + 2] ^= 2
    return bytes(arr), f"headers {k} frames"


def m_sideinfo(data, rng, corpus=None):
    """Random bytes over the side information (and main_data_begin) of some frames."""
    starts = _frame_starts(data)
    if not starts:
        return m_overwrite(data, rng)
    arr = bytearray(data)
    k = int(rng.integers(1, min(6, len(starts)) + 1))
    for j in rng.choice(len(starts), k, replace=False):
        p = starts[int(j)] + 4
        n = int(rng.integers(1, 33))
        arr[p:p + n] = rng.integers(0, 256, min(n, max(0, len(arr) - p)), dtype=np.uint8).tobytes()
    return bytes(arr[:len(data)]), f"sideinfo {k} frames"


STRATEGIES = {
    "truncate": m_truncate,
    "flip": m_flip,
    "overwrite": m_overwrite,
    "zero": m_zero,
    "ff": m_ff,
    "insert": m_insert,
    "delete": m_delete,
    "duplicate": m_duplicate,
    "splice": m_splice,
    "headers": m_headers,
    "sideinfo": m_sideinfo,
}
SAME_LENGTH = ("flip", "overwrite", "zero")


def mutate(data, rng, corpus=None, strategy=None):
    """Apply one strategy (random unless given; ``"stack"`` applies 2-3); return (bytes, description)."""
    names = list(STRATEGIES) + ["stack"]
    if strategy is None:
        strategy = names[int(rng.integers(0, len(names)))]
    if strategy == "stack":
        descs = []
        for _ in range(int(rng.integers(2, 4))):
            name = list(STRATEGIES)[int(rng.integers(0, len(STRATEGIES)))]
            data, d = STRATEGIES[name](data, rng, corpus)
            descs.append(d)
        return data, "stack: " + "; ".join(descs)
    return STRATEGIES[strategy](data, rng, corpus)


def same_length_damage(data, rng):
    """One same-length damage case: bit flips (1e-5..1e-3), an overwritten or a zeroed span (10..500)."""
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return m_flip(data, rng, density=float(10 ** rng.uniform(-5, -3)))
    if kind == 1:
        return m_overwrite(data, rng, lo=10, hi=500)
    return m_zero(data, rng, lo=10, hi=500)
