#!/usr/bin/env python3
"""Mutation fuzzer for mp3restore: damaged and hostile input must never crash or hang.

Usage::

    python tools/fuzz.py [--seconds 300] [--jobs 2] [--seed S] [--out fuzz-crashes]
                         [--corpus FILE_OR_DIR ...] [--timeout 30] [--max-bytes 200000]
                         [--boundscheck]

Each case takes a real MP3 from the corpus (``fixtures/*.mp3``,
``fixtures/regressions/`` and the Layer III conformance vectors when present),
mutates it and decodes the result **in a child process** (``read`` with and
without gapless trimming, and for a share of the cases restoration, two
threads, ``read_coefficients`` + ``synthesize``, ``blocks`` and ``frames``),
so that a segfault, an abort or a hang is caught in the parent instead of
killing it.  Workers are reused (numba's compiled kernels load once) and
replaced every 300 cases.

A case *fails* when the child

* dies from a signal (segfault, abort) or exits without reporting (``crash``),
* raises anything but an ``Mp3RestoreError`` subclass, returns output that is
  not finite float32 of the length ``info`` promises, or emits a warning that
  is not an ``Mp3RestoreWarning`` (``fail``),
* takes longer than ``--timeout`` seconds (``hang``: decoding time must be
  bounded by the input size; the inputs are at most ``--max-bytes``; a case is
  only counted as a hang when it also hangs alone in a fresh process).

A crash that does not come back when its input runs alone in a fresh process
is memory that an earlier case corrupted: the worker's last 60 cases are run
again with ``NUMBA_BOUNDSCHECK=1``, where such a case raises ``IndexError``,
and that case is reported.  ``--boundscheck`` runs every case that way (slower).

Failing inputs are minimised a little (cut from the end, then from the start,
while the same kind of failure remains) and saved under ``--out`` as
``<kind>-<sha1>.mp3`` with a ``.txt`` holding the reason, the mutation and the
traceback.  At the end the statistics are printed: cases per strategy,
outcomes (decoded / clean error), failures, the share of same-length damage
cases whose sample count equals the clean file's, and the slowest case in
microseconds per input byte.  The exit code is 1 when anything failed.

Mutation strategies (:data:`STRATEGIES`):

``truncate``   a prefix of the file
``flip``       bit flips (density 1e-5 .. 1e-3; up to 1e-2 inside ``stack``)
``overwrite``  a span of random bytes overwritten in place (10..500 bytes; 1..600 in ``stack``)
``zero``       a span of zero bytes in place (idem)
``ff``         a span of 0xFF bytes / copies of a real header in place (sync bait)
``insert``     random bytes inserted (length changes)
``delete``     a span removed
``duplicate``  a span repeated
``splice``     the start of one file joined to the rest of another
               (different sample rates / versions / channel counts)
``headers``    frame headers mutated in one field (bitrate, rate, mode, CRC bit, padding)
``sideinfo``   random bytes over the side information of random frames
``synth``      a synthetic stream: valid headers of any kind (free format down to 13-byte
               frames), random side info pushed to its extremes, random main data
``stack``      two or three of the above applied in turn

``flip``, ``overwrite`` and ``zero`` keep the length: they give the sample-count figure.
The functions :func:`mutate`, :func:`same_length_damage`, :func:`m_synth` and
:func:`run_isolated` are also used by ``tests/test_robustness.py``.
"""
from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run from a checkout without installing

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


def _bits_to_bytes(bits):
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


def _side_info(rng, lsf, nch):
    """Side information with random fields, often at their extremes (11172-3 2.4.1.7)."""
    def f(n, extreme=0.3):
        v = int(rng.integers(0, 1 << n))
        if rng.random() < extreme:
            v = (1 << n) - 1 if rng.random() < 0.7 else 0
        return format(v, f"0{n}b")
    out = f(8 if lsf else 9) + (f(1 if nch == 1 else 2) if lsf else f(5 if nch == 1 else 3) + f(4 * nch))
    for _gr in range(1 if lsf else 2):
        for _ch in range(nch):
            out += f(12, 0.5) + f(9, 0.5) + f(8, 0.5) + f(9 if lsf else 4)
            ws = int(rng.random() < 0.4)
            out += str(ws)
            if ws:
                out += f(2) + f(1) + f(5) + f(5) + f(3) + f(3) + f(3)
            else:
                out += f(5) + f(5) + f(5) + f(4) + f(3)
            out += ("" if lsf else f(1)) + f(1) + f(1)
    return _bits_to_bytes(out)


def m_synth(data=None, rng=None, corpus=None):
    """A synthetic stream: valid headers (any version, rate, bit rate, mode, CRC; free format
    with any frame length, down to header + side info), random side info pushed to its
    extremes, random main data.  Reaches kernel paths that damage to real files rarely does."""
    version = int(rng.choice([3, 2, 0]))  # MPEG-1, 2, 2.5
    lsf = version != 3
    sr_bits = int(rng.integers(0, 3))
    free = rng.random() < 0.3
    br = 0 if free else int(rng.integers(1, 15))
    mode = int(rng.integers(0, 4))
    nch = 1 if mode == 3 else 2
    si = (9 if nch == 1 else 17) if lsf else (17 if nch == 1 else 32)
    crc = int(rng.random() < 0.3)
    if rng.random() < 0.5:
        free_len = int(rng.integers(4 + si + 2 * crc, 4097))
    else:
        free_len = int(rng.integers(4 + si, 4 + si + 40))  # tiny frames: many of them
    sr = [[44100, 48000, 32000], [22050, 24000, 16000], [11025, 12000, 8000]][{3: 0, 2: 1, 0: 2}[version]][sr_bits]
    rates = ([0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160] if lsf else
             [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320])
    frames = []
    for _ in range(int(rng.integers(1, 40))):
        pad = int(rng.integers(0, 2))
        mode_ext = int(rng.integers(0, 4))
        h = (0x7FF << 21) | (version << 19) | (1 << 17) | ((1 - crc) << 16) | (br << 12) | (sr_bits << 10) | \
            (pad << 9) | (mode << 6) | (mode_ext << 4)
        size = free_len + pad if free else (72 if lsf else 144) * rates[br] * 1000 // sr + pad
        body = h.to_bytes(4, "big") + (rng.integers(0, 256, 2, dtype=np.uint8).tobytes() if crc else b"")
        body += _side_info(rng, lsf, nch)
        rest = max(0, size - len(body))
        fill = rng.integers(0, 256, rest, dtype=np.uint8)
        if rng.random() < 0.3:
            fill[:] = 0xFF if rng.random() < 0.5 else 0
        frames.append((body + fill.tobytes())[:max(size, 4)])
    kind = f" free {free_len}" if free else ""
    return b"".join(frames), f"synth v{version} sr{sr} br{br}{kind} mode{mode} crc{crc}"


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
    "synth": m_synth,
}
SAME_LENGTH = ("flip", "overwrite", "zero")
# the sample-count figure leaves out corpus files shorter than this (one-frame conformance
# oddities, the tiny regression inputs), where any damage hits the only frames there are
MIN_FIGURE_SAMPLES = 11520


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


# ---------------------------------------------------------------------------
# Running one case (in the child process)
# ---------------------------------------------------------------------------

def run_case(data, ops):
    """Decode ``data`` as ``ops`` says; return ``(outcome, detail)``.

    ``outcome`` is ``"ok"`` (detail: samples with gapless=False and True, frames
    concealed), ``"error"`` (detail: the Mp3RestoreError subclass name) or
    ``"fail"`` (detail: what went wrong, with the traceback).
    """
    import warnings

    import mp3restore

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            f = mp3restore.open(data)
            info = f.info
            x, sr = f.read(restore=ops.get("restore", False), gapless=False, always_2d=True,
                           threads=ops.get("threads", 1))
            problems = _check_pcm(x, info.samples_decoded, info.channels, "read(gapless=False)")
            y, _ = f.read(restore=False, gapless=True, always_2d=True)
            problems += _check_pcm(y, info.samples, info.channels, "read(gapless=True)")
            if ops.get("extra"):
                c = mp3restore.read_coefficients(data)
                if not np.all(np.isfinite(c.mdct)):
                    problems.append("read_coefficients: non-finite MDCT lines")
                pcm, _ = mp3restore.synthesize(c, gapless=False)
                problems += _check_pcm(np.asarray(pcm).reshape(len(pcm), -1), info.samples_decoded,
                                       info.channels, "synthesize")
                n = sum(len(b) for b in f.blocks(4096, restore=False))
                if n != info.samples:
                    problems.append(f"blocks: {n} samples, info says {info.samples}")
                for k, fv in enumerate(f.frames()):
                    if k > 3:
                        break
                    fv.summary_dict()
            other = [w for w in caught if not issubclass(w.category, mp3restore.Mp3RestoreWarning)]
            if other:
                problems.append(f"warning {other[0].category.__name__}: {other[0].message}")
        if problems:
            return "fail", "; ".join(problems)
        return "ok", (len(x), len(y), int(getattr(f.info, "concealed_frames", 0)))
    except mp3restore.Mp3RestoreError as e:
        return "error", type(e).__name__
    except Exception as e:  # noqa: BLE001 - that is what we are looking for
        return "fail", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"


def _check_pcm(x, n, channels, what):
    out = []
    if x.dtype != np.float32:
        out.append(f"{what}: dtype {x.dtype}")
    if x.shape != (n, channels):
        out.append(f"{what}: shape {x.shape}, info says ({n}, {channels})")
    if not np.all(np.isfinite(x)):
        out.append(f"{what}: NaN or Inf in the output")
    return out


def _worker(conn, env):
    """Child process: run the cases the parent sends until it sends None.  ``env`` is set
    before mp3restore (and numba) is imported, e.g. ``NUMBA_BOUNDSCHECK=1``."""
    os.environ.update(env or {})
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        data, ops = msg
        t0 = time.perf_counter()
        outcome, detail = run_case(data, ops)
        conn.send((outcome, detail, time.perf_counter() - t0))


class Child:
    """A worker process running one case at a time; a crash or a hang is seen by the parent.

    ``history`` holds the worker's last cases: a case can corrupt memory without
    crashing and a later one then crashes, so a crash that does not come back when
    its input runs alone is looked for in the history (with bounds checks on)."""

    def __init__(self, ctx, env=None):
        self.ctx = ctx
        self.env = dict(env or {})
        self.start()

    def start(self):
        self.conn, child_conn = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child_conn, self.env), daemon=True)
        self.proc.start()
        child_conn.close()
        self.case = None
        self.sent = 0.0
        self.done = 0
        self.history = []

    def send(self, case, data, ops):
        self.case = case
        self.sent = time.monotonic()
        self.history = (self.history + [case])[-60:]
        self.conn.send((data, ops))

    def kill(self):
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def stop(self):
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.kill()

    def death_reason(self):
        self.proc.join(5)
        code = self.proc.exitcode
        if code is not None and code < 0:
            import signal

            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"child exited with code {code}"


def run_isolated(ctx, data, ops, timeout, env=None):
    """Run one case in a fresh child; return ``(outcome, detail)`` (``"crash"``/``"hang"`` too)."""
    c = Child(ctx, env)
    try:
        c.send(None, data, ops)
        if c.conn.poll(timeout):
            try:
                outcome, detail, _ = c.conn.recv()
                return outcome, detail
            except EOFError:
                return "crash", c.death_reason()
        if not c.proc.is_alive():
            return "crash", c.death_reason()
        return "hang", f"no result after {timeout} s"
    finally:
        c.stop()


def _same_failure(a, b):
    return a[0] == b[0] and (a[0] in ("crash", "hang") or a[1].split(":")[0] == b[1].split(":")[0])


def minimise(ctx, data, ops, failure, timeout, env=None, budget=16):
    """Cut ``data`` from the end, then from the start, while the same kind of failure remains."""
    tries = 0
    step = len(data) // 2
    while step >= 1 and tries < budget:
        cut = data[:len(data) - step]
        tries += 1
        if cut and _same_failure(run_isolated(ctx, cut, ops, timeout, env), failure):
            data = cut
        else:
            step //= 2
    step = len(data) // 2
    while step >= 1 and tries < 2 * budget:
        cut = data[step:]
        tries += 1
        if cut and _same_failure(run_isolated(ctx, cut, ops, timeout, env), failure):
            data = cut
        else:
            step //= 2
    return data


# ---------------------------------------------------------------------------
# The parent: corpus, scheduling, bookkeeping
# ---------------------------------------------------------------------------

def load_corpus(paths, max_bytes):
    files = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.suffix in (".mp3", ".bit") and q.is_file())
        elif p.is_file():
            files.append(p)
    corpus = []
    for f in files:
        if f.name.startswith(("l1-", "l2-", "ILL")):
            continue
        b = f.read_bytes()
        if 0 < len(b) <= max_bytes:
            corpus.append((f.name, b))
    return corpus


def default_corpus():
    out = [REPO / "fixtures", REPO / "fixtures" / "regressions"]
    vectors = Path(os.environ.get("MP3RESTORE_VECTORS") or REPO.parent / "shared" / "vectors")
    if vectors.is_dir():
        out.append(vectors)
    return out


def save_failure(out_dir, data, failure, name, desc, ops):
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()[:12]
    stem = f"{failure[0]}-{digest}"
    (out_dir / f"{stem}.mp3").write_bytes(data)
    (out_dir / f"{stem}.txt").write_text(
        f"outcome: {failure[0]}\nsource: {name}\nmutation: {desc}\nops: {ops}\nbytes: {len(data)}\n\n{failure[1]}\n")
    return out_dir / f"{stem}.mp3"


class Fuzzer:
    def __init__(self, args, corpus, rng):
        self.args = args
        self.corpus = corpus
        self.rng = rng
        self.ctx = mp.get_context("fork")
        self.out_dir = Path(args.out)
        # bounds-checked kernels compile once into their own cache
        self.bc_env = {"NUMBA_BOUNDSCHECK": "1",
                       "NUMBA_CACHE_DIR": str(self.out_dir.resolve() / ".numba-boundscheck-cache")}
        self.env = self.bc_env if args.boundscheck else {}
        self.stats = Counter()
        self.errors = Counter()
        self.per_strategy = Counter()
        self.same = Counter()
        self.failures = []
        self.worst = (0.0, "")
        self.clean = {}

    def warm_up(self, children):
        """Decode every corpus file once (clean sample counts; numba's compile/cache load)."""
        pending = list(range(len(self.corpus)))
        t0 = time.monotonic()
        while pending or any(c.case is not None for c in children):
            for c in children:
                if c.case is None and pending:
                    i = pending.pop()
                    c.send((i, "clean", "", self.corpus[i][1], {}), self.corpus[i][1], {})
            busy = [c for c in children if c.case is not None]
            ready = mp.connection.wait([c.conn for c in busy], timeout=1.0)
            for c in busy:
                if c.conn in ready or not c.proc.is_alive():
                    try:
                        outcome, detail, _ = c.conn.recv()
                    except EOFError:
                        outcome, detail = "crash", None
                        c.kill()
                        c.start()
                    self.clean[c.case[0]] = detail if outcome == "ok" else None
                    c.case = None
            if time.monotonic() - t0 > 900:
                raise SystemExit("fuzz: the clean corpus does not decode in 15 minutes")
        return time.monotonic() - t0

    def new_case(self, ok):
        rng = self.rng
        i = ok[int(rng.integers(0, len(ok)))]
        names = list(STRATEGIES) + ["stack"]
        strategy = names[int(rng.integers(0, len(names)))]
        src = self.corpus[i][1]
        if strategy == "flip":
            data, desc = m_flip(src, rng, density=float(10 ** rng.uniform(-5, -3)))
        elif strategy in ("overwrite", "zero"):
            data, desc = STRATEGIES[strategy](src, rng, None, lo=10, hi=500)
        else:
            data, desc = mutate(src, rng, [b for _, b in self.corpus], strategy)
        ops = {"restore": bool(rng.random() < 0.3), "extra": bool(rng.random() < 0.15),
               "threads": 2 if rng.random() < 0.1 else 1}
        return (i, strategy, desc, data, ops)

    def record(self, case, outcome, detail, elapsed, history=()):
        i, strategy, desc, data, ops = case
        self.per_strategy[(strategy, outcome)] += 1
        self.stats[outcome] += 1
        if outcome == "ok" and elapsed is not None and len(data) > 1000:
            us = elapsed * 1e6 / len(data)
            if us > self.worst[0]:
                self.worst = (us, f"{self.corpus[i][0]} {desc}")
        if outcome == "error":
            self.errors[detail] += 1
        if strategy in SAME_LENGTH and self.clean[i][0] >= MIN_FIGURE_SAMPLES:
            ref = self.clean[i]
            for k, mode in ((0, "gapless=False"), (1, "gapless=True")):
                self.same[(mode, "total")] += 1
                if outcome == "ok" and detail[k] == ref[k]:
                    self.same[(mode, "kept")] += 1
        if outcome in ("fail", "crash", "hang"):
            self.report(case, outcome, str(detail), history)

    def report(self, case, outcome, detail, history):
        i, strategy, desc, data, ops = case
        name = self.corpus[i][0]
        print(f"fuzz: {outcome.upper()} on {name} ({desc}): {detail.splitlines()[0]}", flush=True)
        timeout = self.args.timeout
        env = self.env
        alone = run_isolated(self.ctx, data, ops, timeout, env)
        if outcome == "hang" and alone[0] != "hang":
            print(f"fuzz:   no hang alone ({alone[0]} in a fresh process): not counted", flush=True)
            self.stats["hang"] -= 1
            self.stats["hang-not-alone"] += 1
            return
        if outcome == "crash" and alone[0] != "crash":
            # not by itself: an earlier case of that worker corrupted memory; bounds checks
            # turn such a case into an IndexError
            print("fuzz:   does not crash alone; replaying the worker's last cases with bounds checks", flush=True)
            culprit = None
            for h in history:
                if h is None or h[1] == "clean":
                    continue
                r = run_isolated(self.ctx, h[3], h[4], max(timeout, 300), self.bc_env)
                if r[0] != "ok" and r[0] != "error":
                    culprit = (h, r)
                    break
            if culprit is None:
                path = save_failure(self.out_dir, data, (outcome, detail + "\n(not reproducible alone)"), name,
                                    desc, ops)
                folder = path.with_suffix("")
                folder.mkdir(exist_ok=True)
                for k, h in enumerate(history):  # what the worker ran before, for a closer look
                    if h is not None and h[1] != "clean":
                        (folder / f"{k:02d}-before.mp3").write_bytes(h[3])
                        (folder / f"{k:02d}-before.txt").write_text(f"{self.corpus[h[0]][0]}: {h[2]} {h[4]}\n")
                self.failures.append((outcome, detail.splitlines()[0] + " (not reproducible alone)", str(path),
                                      len(data)))
                return
            (i, strategy, desc, data, ops), alone = culprit
            name = self.corpus[i][0]
            outcome, detail, env = "crash", f"corrupts memory: with bounds checks {alone[1]}", self.bc_env
            alone = ("fail", alone[1])
        small = minimise(self.ctx, data, ops, alone, timeout if env is self.env else max(timeout, 300), env) \
            if alone[0] == outcome or outcome == "crash" else data
        path = save_failure(self.out_dir, small, (outcome, detail), name, desc, ops)
        self.failures.append((outcome, detail.splitlines()[0], str(path), len(small)))
        print(f"fuzz:   minimised to {len(small)} bytes: {path}", flush=True)

    def run(self):
        args = self.args
        children = [Child(self.ctx, self.env) for _ in range(max(1, args.jobs))]
        self._children = children
        t = self.warm_up(children)
        ok = [i for i in range(len(self.corpus)) if self.clean.get(i) is not None]
        print(f"fuzz: {len(ok)} corpus files decode cleanly (warm-up {t:.1f} s)", flush=True)
        self._warm_case = (ok[0], "warm-up", "", self.corpus[ok[0]][1],
                           {"restore": True, "extra": True, "threads": 2})
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            for c in children:
                if c.case is None:
                    if c.done >= 300:  # a fresh process now and then: corruption stays local
                        c.stop()
                        c.start()
                    if c.done == 0:
                        # every code path once (imports, numba's cache, kernels compiled after an
                        # edit), so that the time of the cases measures decoding alone
                        c.send(self._warm_case, self._warm_case[3], self._warm_case[4])
                        continue
                    case = self.new_case(ok)
                    c.send(case, case[3], case[4])
            busy = [c for c in children if c.case is not None]
            ready = mp.connection.wait([c.conn for c in busy], timeout=0.5)
            for c in busy:
                if c.conn in ready:
                    try:
                        outcome, detail, elapsed = c.conn.recv()
                    except EOFError:
                        self._restart(c, "crash", c.death_reason())
                        continue
                    case, c.case = c.case, None
                    c.done += 1
                    if case[1] == "warm-up":
                        continue
                    before = len(self.failures)
                    self.record(case, outcome, detail, elapsed)
                    if len(self.failures) != before:
                        self._unstall(children)
                elif not c.proc.is_alive():
                    self._restart(c, "crash", c.death_reason())
                elif time.monotonic() - c.sent > (args.timeout if c.done else max(args.timeout, 900)):
                    self._restart(c, "hang", f"no result after {args.timeout} s")
        for c in children:
            c.stop()

    def _restart(self, c, outcome, reason):
        case, history = c.case, list(c.history)
        c.kill()
        c.start()
        if case[1] == "warm-up":
            case = history[-1] = (*case[:1], "truncate", "warm-up (the clean file)", *case[3:])
        self.record(case, outcome, reason, None, history[::-1])  # this case first, then the ones before
        self._unstall(self._children)

    @staticmethod
    def _unstall(children):
        """The parent was busy (minimising): the other workers' cases get their time again."""
        now = time.monotonic()
        for c in children:
            if c.case is not None:
                c.sent = now

    def summary(self, seed):
        total = sum(self.stats.values())
        st = self.stats
        print(f"\nfuzz: {total} cases in {self.args.seconds:.0f} s (seed {seed})")
        print(f"  decoded {st['ok']}, clean Mp3RestoreError {st['error']}, "
              f"failures {st['fail']}, crashes {st['crash']}, hangs {st['hang']}")
        if self.errors:
            print("  errors: " + ", ".join(f"{k} {v}" for k, v in self.errors.most_common()))
        print("  per strategy (decoded / error / failed):")
        for s in list(STRATEGIES) + ["stack"]:
            ok, er = self.per_strategy[(s, "ok")], self.per_strategy[(s, "error")]
            bad = sum(self.per_strategy[(s, k)] for k in ("fail", "crash", "hang"))
            print(f"    {s:<10} {ok:6d} {er:6d} {bad:6d}")
        for mode in ("gapless=False", "gapless=True"):
            t = self.same[(mode, "total")]
            if t:
                k = self.same[(mode, "kept")]
                print(f"  same-length damage (flip/overwrite/zero), {mode}: sample count kept in {k}/{t} "
                      f"= {100.0 * k / t:.1f}% (corpus files of {MIN_FIGURE_SAMPLES} samples or more)")
        if self.worst[1]:
            print(f"  slowest case: {self.worst[0]:.2f} us per byte ({self.worst[1]})")
        for f in self.failures:
            print(f"  {f[0]}: {f[1]} -> {f[2]} ({f[3]} bytes)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=300, help="how long to fuzz (default 300)")
    ap.add_argument("--jobs", type=int, default=2, help="child processes decoding in parallel (default 2)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock, printed)")
    ap.add_argument("--out", default="fuzz-crashes", help="folder for failing inputs (default fuzz-crashes)")
    ap.add_argument("--corpus", nargs="*", default=None,
                    help="MP3 files or folders (default: fixtures/, fixtures/regressions/, the vectors)")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="seconds one case may take before it counts as a hang (default 30)")
    ap.add_argument("--max-bytes", type=int, default=200_000, help="largest corpus file used (default 200000)")
    ap.add_argument("--boundscheck", action="store_true",
                    help="run the kernels with NUMBA_BOUNDSCHECK=1 (slower; an out-of-bounds index is a failure)")
    args = ap.parse_args(argv)

    seed = args.seed if args.seed is not None else int(time.time()) % 1_000_000
    corpus = load_corpus(args.corpus if args.corpus is not None else default_corpus(), args.max_bytes)
    if not corpus:
        print("fuzz: no corpus files found", file=sys.stderr)
        return 2
    print(f"fuzz: seed {seed}, {len(corpus)} corpus files, {args.jobs} jobs, {args.seconds:.0f} s, "
          f"timeout {args.timeout:.0f} s per case{', bounds checks' if args.boundscheck else ''}", flush=True)
    fz = Fuzzer(args, corpus, np.random.default_rng(seed))
    fz.run()
    fz.summary(seed)
    return 1 if fz.failures else 0


if __name__ == "__main__":
    sys.exit(main())
