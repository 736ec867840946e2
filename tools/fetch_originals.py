#!/usr/bin/env python3
"""Fetch real lossless recordings from Debian packages and arrange them into
evaluation clips for ``tools/evaluate.py``.

    python tools/fetch_originals.py [--out eval/originals] [--cache eval/cache] [--seconds 22]

Nothing fetched or written here goes into git (``/eval/`` is git-ignored).

Sources (all fetched with ``apt-get download`` and unpacked with ``dpkg-deb -x``;
nothing is installed except that rendering MIDI needs the ``fluidsynth``
program: ``apt-get install fluidsynth``):

* ``hydrogen-data``: the GMRockKit (recorded acoustic kit, WAV) and
  TR808EmulationKit (FLAC) drum kits of Hydrogen, GPL.  Sequenced here into
  a few bars of a beat, each hit placed at its tempo position with panning.
* ``sonic-pi-samples``: FLAC recordings from freesound.org, CC0 according to
  the package's copyright file (amen break, tabla, guitar, percussion loops).
* ``fluid-soundfont-gm``: the Fluid R3 General MIDI SoundFont (MIT), rendered
  with ``fluidsynth`` from MIDI files written by this script (piano, strings)
  and from a MIDI file of ``planetblupi-music-midi`` (GPL-3+, a band
  arrangement with drums), cut to the clip length.

Every clip is stereo, 44.1 kHz, 16-bit, normalised to a peak of -1 dBFS and
faded in/out over 10 ms / 0.5 s.  ``SOURCES.md`` next to the clips lists
where each one comes from and under which licence.
"""
from __future__ import annotations

import argparse
import glob
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SR = 44100
PACKAGES = ["hydrogen-data", "sonic-pi-samples", "fluid-soundfont-gm", "planetblupi-music-midi"]
LICENCES = {
    "hydrogen-data": "GPL (drumkit.xml <license>GPL</license>; package GPL-2+)",
    "sonic-pi-samples": "CC0 (per-file entries in debian/copyright; recordings from freesound.org)",
    "fluid-soundfont-gm": "MIT (Fluid R3 GM SoundFont)",
    "planetblupi-music-midi": "GPL-3+",
}


# ----------------------------------------------------------------------------- packages

def fetch_packages(cache: Path) -> dict[str, Path]:
    """``apt-get download`` each package into ``cache/debs`` and unpack it into
    ``cache/root/<package>``; return package -> unpacked root.  Already
    unpacked packages are not fetched again."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    roots = {}
    for pkg in PACKAGES:
        root = cache / "root" / pkg
        if not (root / ".done").exists():
            found = sorted(debs.glob(f"{pkg}_*.deb"))
            if not found:
                print(f"apt-get download {pkg}", flush=True)
                r = subprocess.run(["apt-get", "download", pkg], cwd=debs, capture_output=True, text=True)
                found = sorted(debs.glob(f"{pkg}_*.deb"))
                if r.returncode != 0 or not found:
                    sys.exit(f"fetch_originals: apt-get download {pkg} failed ({r.stderr.strip()}); "
                             "run 'apt-get update' first")
            if root.exists():
                shutil.rmtree(root)
            root.mkdir(parents=True)
            subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(root)], check=True)
            (root / ".done").write_text(found[-1].name + "\n")
        roots[pkg] = root
    return roots


def deb_version(root: Path) -> str:
    return (root / ".done").read_text().strip()


# ----------------------------------------------------------------------------- audio helpers

def load(path, stereo=False):
    """Read an audio file as float64 (n, C)."""
    import soundfile as sf
    x, sr = sf.read(str(path), dtype="float64", always_2d=True)
    if sr != SR:
        from scipy.signal import resample_poly
        g = np.gcd(sr, SR)
        x = resample_poly(x, SR // g, sr // g, axis=0)
    if stereo and x.shape[1] == 1:
        x = np.repeat(x, 2, axis=1)
    return x


def pan_gains(pan):
    """Constant-power pan: -1 left .. +1 right."""
    th = (pan + 1.0) * np.pi / 4.0
    return np.cos(th), np.sin(th)


def place(buf, sample, t, gain=1.0, pan=0.0):
    """Add ``sample`` (n, 1 or 2) into ``buf`` (N, 2) at time ``t`` seconds."""
    i = int(round(t * SR))
    if i >= len(buf) or i < 0:
        return
    n = min(len(sample), len(buf) - i)
    s = sample[:n]
    gl, gr = pan_gains(pan)
    if s.shape[1] == 1:
        buf[i:i + n, 0] += gain * gl * s[:, 0]
        buf[i:i + n, 1] += gain * gr * s[:, 0]
    else:  # stereo sample: balance only
        buf[i:i + n, 0] += gain * np.sqrt(2) * gl * s[:, 0]
        buf[i:i + n, 1] += gain * np.sqrt(2) * gr * s[:, 1]


def finish(x, seconds):
    """Cut/pad to ``seconds``, fade in 10 ms and out 0.5 s, peak -1 dBFS."""
    n = int(round(seconds * SR))
    if len(x) < n:
        x = np.concatenate([x, np.zeros((n - len(x), x.shape[1]))])
    x = x[:n].copy()
    fi, fo = int(0.01 * SR), int(0.5 * SR)
    x[:fi] *= np.linspace(0, 1, fi)[:, None]
    x[-fo:] *= np.linspace(1, 0, fo)[:, None] ** 2
    peak = np.abs(x).max()
    if peak > 0:
        x *= 10 ** (-1 / 20) / peak
    return x


def concat(parts, xfade=0.02):
    """Concatenate (n, 2) arrays with a short equal-power crossfade."""
    m = int(xfade * SR)
    out = parts[0]
    for p in parts[1:]:
        w = np.linspace(0, np.pi / 2, m)[:, None]
        mid = out[-m:] * np.cos(w) + p[:m] * np.sin(w)
        out = np.concatenate([out[:-m], mid, p[m:]])
    return out


def write_wav(path, x):
    import soundfile as sf
    pcm = np.clip(np.rint(x * 32767.0), -32768, 32767).astype(np.int16)
    sf.write(str(path), pcm, SR, subtype="PCM_16")


# ----------------------------------------------------------------------------- drum sequencing

LAYERS = ["Softest", "Soft", "Med", "Hard", "Hardest"]


class Kit:
    def __init__(self, folder: Path):
        self.folder = folder
        self.cache = {}

    def get(self, name):
        if name not in self.cache:
            hits = sorted(glob.glob(str(self.folder / f"{name}.*")))
            if not hits:
                raise FileNotFoundError(self.folder / name)
            self.cache[name] = load(hits[0])
        return self.cache[name]

    def layered(self, base, vel):
        """GMRockKit velocity layers: Base-Softest .. Base-Hardest."""
        i = min(4, max(0, int(vel * 5)))
        return self.get(f"{base}-{LAYERS[i]}")


def rock_beat(kit_dir: Path, seconds: float, rng) -> np.ndarray:
    """A rock/funk beat on the recorded GMRockKit: 110 bpm, 16th grid, hats then
    ride, ghost notes, a tom fill, crashes on the phrase starts."""
    kit = Kit(kit_dir)
    bpm = 110.0
    step = 60.0 / bpm / 4
    bars = int(np.ceil(seconds / (16 * step)))
    buf = np.zeros((int((seconds + 3) * SR), 2))
    pans = {"Kick": 0.0, "Snare": 0.08, "HatClosed": 0.4, "HatOpen": 0.4, "HatPedal": 0.4,
            "Ride": -0.4, "Bell": -0.4, "Crash": -0.55, "Splash": 0.55, "Tom1": 0.25, "Tom2": -0.05,
            "TomFloor": -0.4, "SideStick": 0.08}

    def hit(name, bar, st, vel, g=1.0):
        t = (bar * 16 + st) * step + rng.normal(0, 0.004)
        v = float(np.clip(vel + rng.normal(0, 0.05), 0.05, 1.0))
        place(buf, kit.layered(name, v), max(0.0, t), g * (0.55 + 0.45 * v), pans[name])

    for bar in range(bars):
        sec = (bar // 4) % 3  # 0: hats, 1: ride, 2: open hats
        last = bar % 4 == 3
        if bar % 4 == 0:
            hit("Crash" if bar % 8 == 0 else "Splash", bar, 0, 0.85, 0.8)
        kicks = [0, 8, 10] if bar % 2 == 0 else [0, 3, 8, 11]
        for s in kicks:
            hit("Kick", bar, s, 0.9 if s in (0, 8) else 0.7)
        for s in (4, 12):
            hit("Snare", bar, s, 0.85)
        for s in (7, 15) if sec == 1 else (14,):
            hit("Snare", bar, s, 0.2, 0.6)  # ghost notes
        for s in range(0, 16, 2):
            if last and s >= 8:
                break
            if sec == 0:
                hit("HatClosed", bar, s, 0.75 if s % 4 == 0 else 0.45, 0.7)
            elif sec == 1:
                hit("Bell" if s % 8 == 0 else "Ride", bar, s, 0.7 if s % 4 == 0 else 0.5, 0.6)
            else:
                hit("HatOpen" if s % 4 == 2 else "HatPedal", bar, s, 0.6, 0.6)
        if last:  # fill
            for s, name in zip(range(8, 16), ["Tom1", "Tom1", "Tom2", "Tom2", "TomFloor", "TomFloor", "Snare", "Snare"]):
                hit(name, bar, s, 0.6 + 0.04 * (s - 8))
    hit("Crash", bars, 0, 0.9, 0.8)
    hit("Kick", bars, 0, 0.9)
    return buf


def electro_beat(kit_dir: Path, seconds: float, rng) -> np.ndarray:
    """A 126 bpm electro pattern on the sampled TR-808 kit: four-on-the-floor,
    clap, 16th hats and shaker, congas and clave, tom fills, cymbals."""
    kit = Kit(kit_dir)
    bpm = 126.0
    step = 60.0 / bpm / 4
    bars = int(np.ceil(seconds / (16 * step)))
    buf = np.zeros((int((seconds + 3) * SR), 2))

    def hit(name, bar, st, g, pan):
        t = (bar * 16 + st) * step + rng.normal(0, 0.002)
        place(buf, kit.get(name), max(0.0, t), g * (1 + rng.normal(0, 0.06)), pan)

    for bar in range(bars):
        if bar % 4 == 0:
            hit("808_Cymbal", bar, 0, 0.6, -0.3)
        for s in (0, 4, 8, 12):
            hit("808_Kick_Long" if s == 0 else "808_Kick_Short", bar, s, 1.0, 0.0)
        for s in (4, 12):
            hit("808_Clap", bar, s, 0.8, 0.1)
            hit("808_Snare_1", bar, s, 0.4, -0.1)
        for s in range(16):
            if s % 4 == 2:
                hit("808_Hat_Open", bar, s, 0.45, 0.35)
            else:
                hit("808_Hat_Closed", bar, s, 0.5 if s % 2 == 0 else 0.3, 0.35)
            hit("808_Shaker", bar, s, 0.25 if s % 2 else 0.15, -0.6)
        for s in (3, 6, 10, 11, 14):
            hit("808_Conga", bar, s, 0.45, 0.6)
        for s in (0, 3, 6, 10, 12):
            if bar % 2:
                hit("808_Clave", bar, s, 0.35, -0.45)
        if bar % 4 == 3:
            for s, name in zip(range(8, 16, 2), ["808_Tom_Hi", "808_Tom_Mid", "808_Tom_Mid", "808_Tom_Low"]):
                hit(name, bar, s, 0.7, {"808_Tom_Hi": 0.4, "808_Tom_Mid": 0.0, "808_Tom_Low": -0.4}[name])
            hit("808_Cowbell", bar, 14, 0.35, 0.2)
    return buf


# ----------------------------------------------------------------------------- MIDI (tiny writer/reader)

def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def read_vlq(d: bytes, i: int):
    n = 0
    while True:
        b = d[i]
        i += 1
        n = (n << 7) | (b & 0x7F)
        if b < 0x80:
            return n, i


def smf(tracks, division=480) -> bytes:
    """Standard MIDI file (format 1) from tracks of (abs_tick, event bytes)."""
    out = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), division)
    for events in tracks:
        body = b""
        last = 0
        for tick, ev in sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80)):
            body += vlq(tick - last) + ev
            last = tick
        body += vlq(0) + b"\xff\x2f\x00"
        out += b"MTrk" + struct.pack(">I", len(body)) + body
    return out


def parse_smf(data: bytes):
    """Return (division, tracks of (abs_tick, event bytes)) with running status expanded."""
    assert data[:4] == b"MThd"
    hlen, _fmt, ntr, division = struct.unpack(">IHHH", data[4:14])
    i = 8 + hlen
    tracks = []
    for _ in range(ntr):
        while data[i:i + 4] != b"MTrk":  # skip unknown chunks
            i += 8 + struct.unpack(">I", data[i + 4:i + 8])[0]
        ln = struct.unpack(">I", data[i + 4:i + 8])[0]
        d = data[i + 8:i + 8 + ln]
        i += 8 + ln
        j, tick, status, evs = 0, 0, 0, []
        while j < len(d):
            dt, j = read_vlq(d, j)
            tick += dt
            b = d[j]
            if b == 0xFF:
                typ = d[j + 1]
                n, k = read_vlq(d, j + 2)
                ev = d[j:k + n]
                j = k + n
                if typ == 0x2F:
                    break
            elif b in (0xF0, 0xF7):
                n, k = read_vlq(d, j + 1)
                ev = d[j:k + n]
                j = k + n
            else:
                if b & 0x80:
                    status = b
                    j += 1
                nd = 1 if (status & 0xF0) in (0xC0, 0xD0) else 2
                ev = bytes([status]) + d[j:j + nd]
                j += nd
            evs.append((tick, bytes(ev)))
        tracks.append(evs)
    return division, tracks


def tick_at(seconds, division, tracks):
    """Tick reached after ``seconds`` under the file's tempo map."""
    tempos = sorted((t, int.from_bytes(ev[3:6], "big")) for tr in tracks for t, ev in tr
                    if ev[0] == 0xFF and ev[1] == 0x51)
    t_sec, last_tick, us = 0.0, 0, 500000
    for tick, new in tempos + [(1 << 40, us)]:
        dt = (tick - last_tick) * us / 1e6 / division
        if t_sec + dt >= seconds:
            return last_tick + int((seconds - t_sec) * 1e6 * division / us)
        t_sec += dt
        last_tick, us = tick, new
    return last_tick


def cut_smf(data: bytes, seconds: float) -> bytes:
    """Keep the first ``seconds`` of a MIDI file; all notes are released at the cut."""
    division, tracks = parse_smf(data)
    end = tick_at(seconds, division, tracks)
    out = []
    for tr in tracks:
        evs = [(t, ev) for t, ev in tr if t < end]
        out.append(evs + [(end, bytes([0xB0 | ch, 123, 0])) for ch in range(16)])
    return smf(out, division)


def midi_length(data: bytes) -> float:
    division, tracks = parse_smf(data)
    last = max((t for tr in tracks for t, _ in tr), default=0)
    lo, hi = 0.0, 3600.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if tick_at(mid, division, tracks) < last:
            lo = mid
        else:
            hi = mid
    return hi


class Song:
    """Builds a format-1 MIDI file: one track per instrument, beats as floats."""

    def __init__(self, bpm, division=480):
        self.div = division
        self.tracks = [[(0, b"\xff\x51\x03" + int(60e6 / bpm).to_bytes(3, "big"))]]

    def track(self, ch, program, pan=64, volume=100, reverb=40, chorus=0):
        tr = [(0, bytes([0xC0 | ch, program])), (0, bytes([0xB0 | ch, 10, pan])),
              (0, bytes([0xB0 | ch, 7, volume])), (0, bytes([0xB0 | ch, 91, reverb])),
              (0, bytes([0xB0 | ch, 93, chorus]))]
        self.tracks.append(tr)
        return tr, ch

    def note(self, trk, beat, dur, pitch, vel):
        tr, ch = trk
        a = int(round(beat * self.div))
        b = int(round((beat + dur) * self.div))
        tr.append((a, bytes([0x90 | ch, pitch, int(np.clip(vel, 1, 127))])))
        tr.append((b - 1, bytes([0x80 | ch, pitch, 0])))

    def cc(self, trk, beat, num, val):
        tr, ch = trk
        tr.append((int(round(beat * self.div)), bytes([0xB0 | ch, num, val])))

    def bytes(self):
        return smf(self.tracks, self.div)


NOTE = {n: i for i, n in enumerate(["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"])}


def chord(name, octave=4):
    """'C', 'Am', 'G7', 'Fmaj7', 'Dm7' -> MIDI pitches (root position)."""
    root = name[0] + ("#" if len(name) > 1 and name[1] == "#" else "")
    q = name[len(root):]
    r = 12 * (octave + 1) + NOTE[root]
    iv = {"": [0, 4, 7], "m": [0, 3, 7], "7": [0, 4, 7, 10], "maj7": [0, 4, 7, 11],
          "m7": [0, 3, 7, 10], "sus4": [0, 5, 7], "add9": [0, 4, 7, 14]}[q]
    return [r + i for i in iv]


def piano_song(rng) -> bytes:
    """Solo grand piano, 84 bpm: left-hand bass + broken chords, right-hand melody."""
    s = Song(84)
    pno = s.track(0, 0, pan=64, reverb=50)
    prog = ["C", "Am", "F", "G", "Em", "Am", "Dm7", "G7", "C", "Fmaj7", "G", "C"]
    melody = [  # (beat in bar, dur, pitch offset from the chord root + 12)
        [(0, 1, 16), (1, 1, 14), (2, 1.5, 12), (3.5, .5, 14)],
        [(0, 1.5, 12), (1.5, .5, 15), (2, 1, 19), (3, 1, 15)],
        [(0, 1, 19), (1, .5, 17), (1.5, .5, 16), (2, 2, 16)],
        [(0, 1, 16), (1, 1, 17), (2, 1, 19), (3, 1, 21)],
        [(0, 2, 19), (2, 1, 15), (3, 1, 12)],
        [(0, 1, 15), (1, 1, 19), (2, 1.5, 24), (3.5, .5, 22)],
        [(0, 1, 19), (1, 1, 17), (2, 1, 15), (3, 1, 14)],
        [(0, 2, 14), (2, 1, 17), (3, 1, 21)],
        [(0, 1.5, 24), (1.5, .5, 23), (2, 1, 19), (3, 1, 16)],
        [(0, 2, 16), (2, 1, 19), (3, 1, 23)],
        [(0, 1, 21), (1, 1, 19), (2, 2, 17)],
        [(0, 4, 16)],
    ]
    for bar, (ch, mel) in enumerate(zip(prog, melody)):
        b0 = 4 * bar
        notes = chord(ch, 3)
        s.note(pno, b0, 3.8, notes[0] - 12, 70 + rng.integers(-5, 6))
        arp = notes + [notes[1] + 12]
        for k in range(8):
            s.note(pno, b0 + 0.5 * k, 0.9, arp[[0, 1, 2, 3, 2, 1, 2, 3][k] % len(arp)], 48 + rng.integers(-6, 7))
        r = chord(ch, 4)[0]
        for beat, dur, off in mel:
            s.note(pno, b0 + beat, dur * 0.95, r + off - 12, 82 + rng.integers(-8, 9))
        s.cc(pno, b0 + 0.05, 64, 127)  # sustain pedal per bar
        s.cc(pno, b0 + 3.9, 64, 0)
    return s.bytes()


def strings_song(rng) -> bytes:
    """String orchestra, 72 bpm: ensemble chords, cello line (left), solo violin
    melody (right), a pizzicato passage, timpani on the last chord."""
    s = Song(72)
    ens = s.track(0, 48, pan=64, volume=92, reverb=70)
    cel = s.track(1, 42, pan=30, volume=100, reverb=60)
    vln = s.track(2, 40, pan=98, volume=105, reverb=60)
    piz = s.track(3, 45, pan=80, volume=95, reverb=50)
    tim = s.track(4, 47, pan=54, volume=90, reverb=60)
    prog = ["Dm", "A#", "F", "C", "Dm", "Gm", "A", "Dm"]
    mel = [[69, 72, 74, 76], [77, 76, 74, 72], [72, 69, 72, 77], [76, 74, 72, 74],
           [74, 77, 81, 79], [77, 74, 70, 74], [73, 76, 79, 76], [74, 74, 74, 74]]
    for bar, ch in enumerate(prog):
        b0 = 4 * bar
        for p in chord(ch, 4):
            s.note(ens, b0, 4.0, p, 70 + rng.integers(-4, 5))
        root = chord(ch, 2)[0]
        s.note(cel, b0, 2.0, root, 80)
        s.note(cel, b0 + 2, 2.0, root + 7 if bar % 2 else root + 12, 74)
        for k, p in enumerate(mel[bar]):
            dur = 4.0 if bar == 7 and k == 0 else 1.0
            if bar == 7 and k > 0:
                break
            s.note(vln, b0 + k, dur * 0.98, p, 88 + rng.integers(-6, 7))
        if 2 <= bar <= 5:
            for k in range(8):
                s.note(piz, b0 + 0.5 * k, 0.3, chord(ch, 4)[k % 3] + (12 if k % 4 == 3 else 0), 75)
    for k in range(6):
        s.note(tim, 28 + 0.25 * k, 0.25, 38, 70 + 8 * k)
    return s.bytes()


def render_midi(midi: bytes, sf2: Path, seconds: float, gain=0.5) -> np.ndarray:
    """Render with the ``fluidsynth`` program (float output, no clipping)."""
    import soundfile as sf
    with tempfile.TemporaryDirectory() as td:
        mid = Path(td) / "in.mid"
        wav = Path(td) / "out.wav"
        mid.write_bytes(midi)
        cmd = ["fluidsynth", "-ni", "-q", "-g", str(gain), "-r", str(SR), "-O", "float", "-T", "wav",
               "-F", str(wav), str(sf2), str(mid)]
        subprocess.run(cmd, check=True, capture_output=True)
        x, sr = sf.read(str(wav), dtype="float64", always_2d=True)
    assert sr == SR, sr
    return x[: int((seconds + 3) * SR)]


# ----------------------------------------------------------------------------- clips

def build(roots: dict[str, Path], seconds: float, fluidsynth: bool):
    """Yield (name, audio, description, package, source files)."""
    rng = np.random.default_rng(20240601)
    hyd = roots["hydrogen-data"] / "usr/share/hydrogen/data/drumkits"
    spi = roots["sonic-pi-samples"] / "usr/share/sonic-pi/samples"

    yield ("drums_rock", rock_beat(hyd / "GMRockKit", seconds, rng),
           "Rock/funk beat, 110 bpm, sequenced from the recorded GMRockKit samples (velocity layers, panning, "
           "hats/ride/open-hat sections, tom fills, crashes)", "hydrogen-data", "drumkits/GMRockKit/*.wav")
    yield ("drums_808", electro_beat(hyd / "TR808EmulationKit", seconds, rng),
           "Electro pattern, 126 bpm, sequenced from the sampled TR-808 kit", "hydrogen-data",
           "drumkits/TR808EmulationKit/*.flac")

    amen = load(spi / "loop_amen_full.flac", stereo=True)
    yield ("breakbeat", concat([amen] * int(np.ceil(seconds / (len(amen) / SR)) + 1)),
           "Amen-style breakbeat loop (recorded drums), repeated", "sonic-pi-samples", "loop_amen_full.flac")
    tabla = load(spi / "loop_tabla.flac", stereo=True)
    yield ("tabla", concat([tabla] * int(np.ceil(seconds / (len(tabla) / SR)) + 1)),
           "Recorded tabla loop, repeated", "sonic-pi-samples", "loop_tabla.flac")

    buf = np.zeros((int((seconds + 3) * SR), 2))
    place(buf, load(spi / "guit_em9.flac"), 0.0, 1.0, 0.0)
    place(buf, load(spi / "guit_e_fifths.flac"), 9.5, 1.0, 0.0)
    place(buf, load(spi / "guit_e_slide.flac"), 15.2, 0.9, -0.35)
    place(buf, load(spi / "guit_harmonics.flac"), 17.8, 1.0, 0.35)
    place(buf, load(spi / "guit_em9.flac"), 19.5, 0.8, 0.0)
    yield ("guitar", buf, "Recorded electric guitar phrases (Em9 chords, fifths, slide, harmonics) in sequence",
           "sonic-pi-samples", "guit_em9.flac, guit_e_fifths.flac, guit_e_slide.flac, guit_harmonics.flac")

    loops = [load(spi / f"{n}.flac", stereo=True) for n in ("loop_compus", "loop_mika", "loop_safari")]
    yield ("loops", concat(loops, 0.05),
           "Recorded percussion/electronic loops in sequence", "sonic-pi-samples",
           "loop_compus.flac, loop_mika.flac, loop_safari.flac")

    if not fluidsynth:
        print("fetch_originals: 'fluidsynth' not found (apt-get install fluidsynth): "
              "skipping the piano, strings and band clips", file=sys.stderr)
        return
    sf2 = roots["fluid-soundfont-gm"] / "usr/share/sounds/sf2/FluidR3_GM.sf2"
    yield ("piano", render_midi(piano_song(rng), sf2, seconds),
           "Grand piano (chords, bass, melody, pedal), MIDI written by this script, rendered with fluidsynth",
           "fluid-soundfont-gm", "FluidR3_GM.sf2")
    yield ("strings", render_midi(strings_song(rng), sf2, seconds),
           "String orchestra (ensemble, cello, violin, pizzicato, timpani), MIDI written by this script, "
           "rendered with fluidsynth", "fluid-soundfont-gm", "FluidR3_GM.sf2")
    mids = sorted((roots["planetblupi-music-midi"] / "usr/share/planetblupi/music").glob("*.mid"))
    pick = [m for m in mids if m.name == "music007.mid"] or mids[:1]
    data = pick[0].read_bytes()
    yield ("band", render_midi(cut_smf(data, seconds + 1.0), sf2, seconds),
           f"Game soundtrack band arrangement with drums ({pick[0].name}, first {seconds:.0f} s), "
           "rendered with fluidsynth", "planetblupi-music-midi + fluid-soundfont-gm",
           f"{pick[0].name}, FluidR3_GM.sf2")


def hf_share(x):
    """Energy above 16 kHz relative to the total, dB (is there a high band to restore?)."""
    X = np.abs(np.fft.rfft(x.mean(1))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return 10 * np.log10(X[f >= 16000].sum() / X.sum() + 1e-20)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="eval/originals", type=Path)
    ap.add_argument("--cache", default="eval/cache", type=Path, help="where .deb files are kept and unpacked")
    ap.add_argument("--seconds", default=22.0, type=float, help="clip length (default 22)")
    args = ap.parse_args(argv)
    roots = fetch_packages(args.cache)
    args.out.mkdir(parents=True, exist_ok=True)
    fs = shutil.which("fluidsynth") is not None
    lines = ["# Evaluation originals", "",
             "Made by `tools/fetch_originals.py` from Debian packages (fetched with `apt-get download`). "
             "Stereo, 44.1 kHz, 16-bit, peak -1 dBFS. Not to be committed.", "",
             "| clip | seconds | energy above 16 kHz | content | package (.deb) | files | licence |",
             "|---|---|---|---|---|---|---|"]
    print(f"{'clip':12s} {'s':>5s} {'>16k dB':>8s}  package: files  [licence]")
    for name, x, desc, pkg, files in build(roots, args.seconds, fs):
        x = finish(x, args.seconds)
        write_wav(args.out / f"{name}.wav", x)
        lic = "; ".join(LICENCES[p.strip()] for p in pkg.split("+"))
        debs = ", ".join(deb_version(roots[p.strip()]) for p in pkg.split("+"))
        hf = hf_share(x)
        print(f"{name:12s} {len(x) / SR:5.1f} {hf:8.1f}  {pkg}: {files}  [{lic}]", flush=True)
        lines.append(f"| {name} | {len(x) / SR:.1f} | {hf:.1f} dB | {desc} | {debs} | {files} | {lic} |")
    (args.out / "SOURCES.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}/*.wav and {args.out}/SOURCES.md")


if __name__ == "__main__":
    main()
