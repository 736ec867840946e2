#!/usr/bin/env python3
"""Make the benchmark material for ``tools/bench.py`` (never committed).

Usage::

    python tools/make_bench_data.py [--out bench-data] [--long] [--force]

Writes, into ``--out`` (default ``bench-data/``, git-ignored):

=====================  ======================================  =============
file                   what                                    lame options
=====================  ======================================  =============
``30s_cbr128.mp3``     first 30 s of the signal                ``-b 128``
``30s_vbr2.mp3``       first 30 s of the signal                ``-V 2``
``30s_cbr64.mp3``      first 30 s of the signal, 44.1 kHz      ``-b 64 --resample 44.1``
                       kept (restoration's heaviest case: it
                       fills 11 to 20 kHz)
``30s_cbr64_24k.mp3``  first 30 s of the signal, LAME's own    ``-b 64``
                       choice of 24 kHz (what ``lame -b 64``
                       writes; restoration fills 11 to 12 kHz)
``30s_cbr64_loud.mp3`` the same 30 s mastered loud (driven      ``-b 64 --resample 44.1``
                       2.2 times harder into the limiter, as
                       current pop is): its decode passes full
                       scale in about 4 % of the granules,
                       where restoration checks that it does
                       not cause the clipping
``10min_cbr128.mp3``   first 10 minutes                        ``-b 128``
``60min_cbr128.mp3``   first 60 minutes (only with ``--long``;  ``-b 128``
                       for the memory benchmark)
=====================  ======================================  =============

plus ``manifest.json`` (lame version, command lines, sha256 of the PCM fed to
lame).  Files that already exist are skipped (``--force`` remakes them).

The signal is a deterministic (fixed seed), music-like stereo 44.1 kHz "song"
at 112 bpm in A major, arranged in 8-bar sections (verse, chorus, verse,
breakdown, ...):

* drums (verse/chorus): kick (pitch sweep + click), snare (tone + noise),
  closed and open hi-hats (high-passed noise), with instant attacks so that
  LAME switches to short blocks;
* bass (one note per beat, 5 harmonics), chord pads (4 notes a bar, slow
  attack), lead melody (pentatonic, vibrato, an echo in the other channel);
  notes are sums of harmonics whose higher partials decay faster;
* a pink noise floor (partly common to both channels) at about -45 dBFS.

It is rendered in blocks of 2**18 samples (every note and drum is a closed-form
function of time, noise bursts are seeded per event) and piped into
``lame -r`` as raw 16-bit PCM, so the 30 s files are exactly the first 30 s of
the 10-minute one and memory stays small even for 60 minutes.  Outputs are
written to a temporary name and renamed when lame has finished.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

REPO = Path(__file__).resolve().parents[1]
SR = 44100
SEED = 20240611
BLOCK = 1 << 18
BPM = 112.0

# name -> (seconds, lame options, needs --long, gain into the limiter)
FILES = {
    "30s_cbr128.mp3": (30, ["-b", "128"], False, 0.9),
    "30s_vbr2.mp3": (30, ["-V", "2"], False, 0.9),
    "30s_cbr64.mp3": (30, ["-b", "64", "--resample", "44.1"], False, 0.9),
    "30s_cbr64_24k.mp3": (30, ["-b", "64"], False, 0.9),
    "30s_cbr64_loud.mp3": (30, ["-b", "64", "--resample", "44.1"], False, 2.0),
    "10min_cbr128.mp3": (600, ["-b", "128"], False, 0.9),
    "60min_cbr128.mp3": (3600, ["-b", "128"], True, 0.9),
}

# ---------------------------------------------------------------------------
# The score: a list of events, generated once in time order
# ---------------------------------------------------------------------------

A2 = 110.0
# chord progression I - V - vi - IV in A major, as semitones above A2
PROGRESSION = [
    (0, [12, 16, 19, 24]),    # A
    (7, [11, 14, 19, 23]),    # E
    (9, [12, 16, 21, 24]),    # F#m
    (5, [12, 17, 21, 24]),    # D
]
PENTA = np.array([0, 2, 4, 7, 9], float)  # A major pentatonic
SECTIONS = ["verse", "chorus", "verse", "breakdown", "chorus", "chorus", "verse", "bridge"]


def hz(semitones_above_a2: float) -> float:
    return A2 * 2.0 ** (semitones_above_a2 / 12.0)


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan, ``pan`` in [-1 (left), 1 (right)]."""
    a = (pan + 1.0) * np.pi / 4.0
    return float(np.cos(a)), float(np.sin(a))


class Event:
    __slots__ = ("start", "length", "kind", "p", "gains", "delays", "eid")

    def __init__(self, start, length, kind, p, gains, delays=(0, 0)):
        self.start = int(start)
        self.length = int(length)
        self.kind = kind
        self.p = p
        self.gains = gains
        self.delays = delays
        self.eid = -1

    @property
    def end(self):
        return self.start + self.length + max(self.delays)


def make_score(total: int, seed: int = SEED) -> list[Event]:
    """Events (sorted by start) up to sample ``total``; a prefix of a longer score."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / BPM
    bar = 4 * beat
    ev: list[Event] = []
    nbars = int(np.ceil(total / SR / bar)) + 1
    echo = int(0.013 * SR)
    for b in range(nbars):
        t_bar = b * bar
        if t_bar * SR >= total:
            break
        section = SECTIONS[(b // 8) % len(SECTIONS)]
        loud = {"verse": 0.8, "chorus": 1.0, "breakdown": 0.45, "bridge": 0.65}[section]
        root, chord = PROGRESSION[b % 4]
        drums = section in ("verse", "chorus")

        def at(beats, jitter=0.003):
            return (t_bar + beats * beat + rng.uniform(-jitter, jitter)) * SR

        # --- drums
        if drums or (section == "bridge" and b % 2 == 1):
            for k in (0, 2) if section != "chorus" else (0, 1.5, 2, 3.5):
                ev.append(Event(at(k, 0.001), 0.45 * SR, "kick",
                                dict(amp=0.9 * loud * rng.uniform(0.9, 1.0)), pan_gains(0.0)))
            for k in (1, 3):
                ev.append(Event(at(k), 0.35 * SR, "snare",
                                dict(amp=0.55 * loud * rng.uniform(0.85, 1.0)), pan_gains(-0.15)))
            for k in range(8):
                is_open = (k == 7 and rng.random() < 0.5)
                ev.append(Event(at(k / 2), (0.3 if is_open else 0.08) * SR, "hat",
                                dict(amp=0.22 * loud * rng.uniform(0.6, 1.0),
                                     tau=0.09 if is_open else 0.018),
                                pan_gains(0.45), (0, int(0.0003 * SR))))
        # --- bass: one note per beat (half notes in the breakdown)
        step = 2 if section == "breakdown" else 1
        for k in range(0, 4, step):
            f = hz(root - 12 + (12 if (k == 3 and rng.random() < 0.3) else 0))
            ev.append(Event(at(k), 0.9 * beat * step * SR, "note",
                            dict(f=f, amp=0.32 * loud, nh=5, tau=0.35, tilt=1.6, att=0.004,
                                 vib=0.0, rel=0.02),
                            pan_gains(0.0)))
        # --- chord pad: the 4 chord notes, slow attack, spread in the stereo field
        for i, semi in enumerate(chord):
            ev.append(Event(at(0, 0.01) + i * 0.012 * SR, 1.05 * bar * SR, "note",
                            dict(f=hz(semi), amp=0.09 * (0.6 + 0.4 * loud),
                                 nh=6, tau=1.6, tilt=1.1, att=0.06, vib=0.002, rel=0.15),
                            pan_gains(-0.6 + 0.4 * i)))
        # --- lead melody: random rhythm on the pentatonic scale
        if section != "breakdown":
            pos = 0.0
            while pos < 4.0:
                dur = rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0, 0.25])
                if rng.random() < 0.85:
                    semi = 24 + rng.choice(PENTA) + 12 * rng.integers(0, 2)
                    pan = rng.uniform(-0.3, 0.3)
                    gl, gr = pan_gains(pan)
                    ev.append(Event(at(pos), min(dur * beat + 0.6, 2.5) * SR, "note",
                                    dict(f=hz(semi), amp=0.16 * loud * rng.uniform(0.7, 1.0),
                                         nh=8, tau=0.5 + 0.4 * dur, tilt=1.2, att=0.008,
                                         vib=0.004, rel=0.05, vphase=rng.uniform(0, 2 * np.pi)),
                                    (gl, gr)))
                    # echo in the opposite channel, 13 ms later and 9 dB down
                    e = ev[-1]
                    ev.append(Event(e.start + echo, e.length, "note", dict(e.p, amp=e.p["amp"] * 0.35),
                                    (0.0, 1.0) if pan < 0 else (1.0, 0.0)))
                pos += dur
    ev = [e for e in ev if e.start < total and e.start >= 0]
    ev.sort(key=lambda e: e.start)
    for i, e in enumerate(ev):
        e.eid = i
    return ev


# ---------------------------------------------------------------------------
# Rendering (every event is a function of its own local time)
# ---------------------------------------------------------------------------

def _note(p, t):
    f, nh, tau = p["f"], p["nh"], p["tau"]
    # phase with vibrato (closed-form integral of f * (1 + vib * sin(2 pi 5.5 t + phi)))
    fv, vib, ph0 = 5.5, p["vib"], p.get("vphase", 0.0)
    theta = 2 * np.pi * f * t
    if vib:
        theta -= f * vib / fv * (np.cos(2 * np.pi * fv * t + ph0) - np.cos(ph0))
    s1, c1 = np.sin(theta), np.cos(theta)
    two_c = 2.0 * c1
    env1 = np.exp(-t / tau) * np.minimum(1.0, t / p["att"])
    # partial k decays with exp(-t / tau) * dk^(k-1): higher partials die out sooner
    dk = np.exp(-t / (tau * 2.5))
    out = np.zeros_like(t)
    s_prev, s_k = np.zeros_like(t), s1
    env = env1
    nyq = 0.45 * SR
    for k in range(1, nh + 1):
        if k * f >= nyq:
            break
        out += s_k * (env / k ** p["tilt"])
        s_prev, s_k = s_k, two_c * s_k - s_prev   # sin((k+1) theta)
        env = env * dk
    return p["amp"] * out


def _release(p, t, length):
    """Short linear fade at the end of a note (avoids a click when it is cut)."""
    rel = p.get("rel", 0.0)
    if not rel:
        return 1.0
    end = length / SR
    return np.clip((end - t) / rel, 0.0, 1.0)


def _event_noise(e: Event, n: int) -> np.ndarray:
    return np.random.default_rng([SEED, 7, e.eid]).standard_normal(n)


def render(e: Event, j0: int, j1: int) -> np.ndarray:
    """Samples ``j0:j1`` of event ``e`` (local sample indices)."""
    t = np.arange(j0, j1) / SR
    p = e.p
    if e.kind == "note":
        return _note(p, t) * _release(p, t, e.length)
    if e.kind == "kick":
        f0, f1, tau_f = 150.0, 48.0, 0.04
        phase = 2 * np.pi * (f1 * t + (f0 - f1) * tau_f * (1 - np.exp(-t / tau_f)))
        body = np.sin(phase) * np.exp(-t / 0.18)
        full = _event_noise(e, e.length)
        click = full[j0:j1] * np.exp(-t / 0.0015) * 0.5
        return p["amp"] * (body + click) * _release(dict(rel=0.03), t, e.length)
    if e.kind == "snare":
        full = _event_noise(e, e.length)
        full = np.diff(full, prepend=0.0) * 0.6          # brighter
        tone = np.sin(2 * np.pi * 185.0 * t) * np.exp(-t / 0.05)
        return p["amp"] * (0.5 * tone + full[j0:j1] * np.exp(-t / 0.07)) * _release(dict(rel=0.02), t, e.length)
    if e.kind == "hat":
        full = _event_noise(e, e.length)
        full = np.diff(np.diff(full, prepend=0.0), prepend=0.0) * 0.35   # high-passed
        return p["amp"] * full[j0:j1] * np.exp(-t / p["tau"]) * _release(dict(rel=0.01), t, e.length)
    raise ValueError(e.kind)


# Pink noise (Paul Kellet's 3-pole approximation of 1/f), state carried over blocks
PINK_B = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
PINK_A = [1.0, -2.494956002, 2.017265875, -0.522189400]


class Renderer:
    def __init__(self, total: int, gain: float = 0.9):
        self.total = total
        self.gain = gain
        self.events = make_score(total)
        self.starts = np.array([e.start for e in self.events], np.int64)
        self.maxlen = max((e.end - e.start for e in self.events), default=0)
        self.zi = [np.zeros(3) for _ in range(3)]
        self.block_index = 0

    def block(self, c0: int, c1: int) -> np.ndarray:
        n = c1 - c0
        out = np.zeros((n, 2))
        lo = np.searchsorted(self.starts, c0 - self.maxlen, "left")
        hi = np.searchsorted(self.starts, c1, "left")
        for e in self.events[lo:hi]:
            if e.end <= c0:
                continue
            # union over channels of the needed local range
            rng_c = []
            for d in e.delays:
                rng_c.append((max(0, c0 - e.start - d), min(e.length, c1 - e.start - d)))
            j0 = min(a for a, b in rng_c if b > a) if any(b > a for a, b in rng_c) else None
            if j0 is None:
                continue
            j1 = max(b for a, b in rng_c if b > a)
            y = render(e, j0, j1)
            for ch, ((a, b), d, g) in enumerate(zip(rng_c, e.delays, e.gains)):
                if b > a and g:
                    out[e.start + d + a - c0:e.start + d + b - c0, ch] += g * y[a - j0:b - j0]
        # noise floor: common part + per-channel part, about -45 dBFS
        rng = np.random.default_rng([SEED, 11, self.block_index])
        self.block_index += 1
        w = rng.standard_normal((3, n))
        pink = []
        for k in range(3):
            y, self.zi[k] = lfilter(PINK_B, PINK_A, w[k], zi=self.zi[k])
            pink.append(y)
        out[:, 0] += 0.006 * (0.8 * pink[0] + 0.6 * pink[1])
        out[:, 1] += 0.006 * (0.8 * pink[0] + 0.6 * pink[2])
        # soft limiter: linear below 0.7, tanh knee above, never beyond 0.98 (gain 0.9: gentle;
        # a loud master drives it harder)
        x = out * self.gain
        a = np.abs(x)
        knee = 0.7
        over = a > knee
        x[over] = np.sign(x[over]) * (knee + 0.28 * np.tanh((a[over] - knee) / 0.28))
        return x

    def pcm_blocks(self):
        for c0 in range(0, self.total, BLOCK):
            c1 = min(self.total, c0 + BLOCK)
            x = self.block(c0, c1)
            yield np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------

def lame_version() -> str:
    out = subprocess.run(["lame", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version\s+(\S+)", out)
    return m.group(1) if m else (out.splitlines() or ["unknown"])[0]


def lame_cmd(opts: list[str], out: str) -> list[str]:
    return ["lame", "--quiet", "-r", "-s", "44.1", "--bitwidth", "16", "--signed",
            "--little-endian", "-m", "j", *opts, "-", out]


def encode(name: str, seconds: int, opts: list[str], out_dir: Path, gain: float = 0.9) -> dict:
    final = out_dir / name
    tmp = out_dir / f".{name}.partial-{os.getpid()}"
    cmd = lame_cmd(opts, str(tmp))
    total = seconds * SR
    sha = hashlib.sha256()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for pcm in Renderer(total, gain).pcm_blocks():
            b = pcm.tobytes()
            sha.update(b)
            proc.stdin.write(b)
        proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace")
        rc = proc.wait()
        if rc != 0 or not tmp.exists():
            raise RuntimeError(f"{' '.join(cmd)} failed ({rc}): {err.strip()}")
        os.replace(tmp, final)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        tmp.unlink(missing_ok=True)
        raise
    return {
        "seconds": seconds, "samplerate": SR, "channels": 2, "samples": total, "limiter_gain": gain,
        "lame_command": " ".join(lame_cmd(opts, "OUT.mp3")).replace(" - ", " RAW_PCM_STDIN "),
        "pcm_sha256": sha.hexdigest(), "size": final.stat().st_size,
        "make_seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "bench-data"), help="output folder (default: bench-data)")
    ap.add_argument("--long", action="store_true", help="also make 60min_cbr128.mp3 (memory benchmark)")
    ap.add_argument("--force", action="store_true", help="remake files that already exist")
    args = ap.parse_args(argv)

    if shutil.which("lame") is None:
        print("make_bench_data: error: the `lame` CLI is not installed (apt-get install lame)", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    manifest.setdefault("files", {})
    manifest.update(generator="tools/make_bench_data.py", seed=SEED, lame_version=lame_version())

    for name, (seconds, opts, needs_long, gain) in FILES.items():
        path = out / name
        if needs_long and not args.long:
            continue
        if path.exists() and not args.force:
            print(f"{path}: exists, skipped")
            continue
        print(f"{path}: {seconds} s, lame {' '.join(opts)} ...", end=" ", flush=True)
        meta = encode(name, seconds, opts, out, gain)
        manifest["files"][name] = meta
        print(f"{meta['size'] / 1e6:.1f} MB in {meta['make_seconds']} s")
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
