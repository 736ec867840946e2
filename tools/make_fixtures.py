#!/usr/bin/env python3
"""Generate the project's MP3 test fixtures (``fixtures/*.mp3`` + sidecar ``*.json``).

Usage::

    python tools/make_fixtures.py [--out fixtures] [--only NAME ...]

Every fixture is made here from a synthetic signal (numpy, fixed seeds), encoded
with the Debian ``lame`` CLI (one with the ``lameenc`` package, two with
libshine through the Debian ``ffmpeg``), optionally
wrapped in tags / junk that this script writes byte by byte, and described by a
sidecar ``NAME.json``.  ``fixtures/README.md`` is written too.

Source WAVs only ever live in a temporary directory.

Sidecar keys (see ``REQUIRED_KEYS`` in ``tests/test_fixtures_meta.py``):

``description``       what the file is for
``source_signal``     how the encoder input was generated (kind, seed, rate,
                      channels, samples, sha256 of the int16 PCM)
``encoder``           the lame or ffmpeg command line (``IN.wav``/``OUT.mp3``
                      placeholders) or the lameenc settings, plus post-processing
                      steps
``lame_version``      version of the LAME library that encoded it (null for
                      the libshine files)
``samplerate``        sampling rate of the MP3 (after LAME's resampling)
``channels``          channels of the MP3 (1 or 2)
``mode``              header channel mode of the frames: mono/stereo/joint/dual
``mpeg_version``      "1", "2" or "2.5"
``bitrate_mode``      cbr/vbr/abr/free
``bitrate_kbps``      nominal bitrate (CBR/ABR/free) or null (VBR)
``crc``               frames carry a CRC-16
``xing_tag``          first frame is a Xing/Info + LAME tag frame
``tags``              list of {"type", "position", "offset", "size"} (byte
                      ranges of non-audio data in the file; "junk" included)
``layout``            {"file_size", "audio_start", "audio_end"}: byte range of
                      the MPEG frames (audio_start is the first frame, which is
                      the Xing/Info frame when xing_tag is true)
``input_samples``     samples per channel fed to the encoder after LAME's own
                      resampling (from the LAME tag: frames*spf - delay -
                      padding; for untagged files from the input length, or
                      from a twin encode with the tag when LAME resamples)
``lame_tag``          {"encoder_delay", "padding"} from the LAME tag, or null
``stats``             from this script's own walk over the frames: "frames"
                      (audio frames, Xing frame excluded), "samples_per_frame",
                      "block_types" ({"0".."3": granule-channel count}),
                      "mixed_blocks", "mode_extension" (joint frames:
                      {"ms": n, "is": n} counts of frames using each tool)
``expected``          {"samples_gapless": mpg123's output length per channel
                      (mpg123 is gapless by default: it trims by the LAME tag
                      when there is one, and outputs frames*spf otherwise),
                      "samples_full": frames*spf (every audio frame decoded,
                      nothing trimmed), "mpg123_version"}
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------
# Signals
# ---------------------------------------------------------------------------

PENTATONIC = np.array([0, 2, 4, 7, 9, 12, 14, 16, 19, 21, 24], dtype=float)


def _pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Gaussian noise with a 1/f power spectrum (FFT shaping), unit RMS."""
    nfft = 1 << int(np.ceil(np.log2(max(n, 2))))
    spec = rng.standard_normal(nfft // 2 + 1) + 1j * rng.standard_normal(nfft // 2 + 1)
    f = np.arange(nfft // 2 + 1, dtype=float)
    f[0] = 1.0
    spec /= np.sqrt(f)
    spec[0] = 0.0
    x = np.fft.irfft(spec, nfft)[:n]
    return x / (np.sqrt(np.mean(x * x)) + 1e-12)


def music_signal(sr: int, n: int, seed: int, channels: int = 2) -> np.ndarray:
    """Deterministic "music-like" test signal, float64 (n, channels), peak 0.8.

    * 2 voices of decaying notes (pentatonic, roots A2 and A3, up to two octaves
      above), each note with 6
      harmonics (1/k^1.3), 5.5 Hz vibrato (0.4 % depth), 8 ms attack, exponential
      decay; each voice has its own stereo pan;
    * pink noise at about -32 dB re. the notes, partly common to both channels
      (correlation ~0.6);
    * 3 clicks (noise bursts, 0.3 ms rise, 3 ms decay, much louder than their
      surroundings) so that LAME switches to short blocks; the right channel
      hears them 7 samples later.

    Channels differ (pans, noise, click delay) but are strongly correlated.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    dur = n / sr
    out = np.zeros((n, 2))
    for voice in range(2):
        pan = 0.25 + 0.5 * voice + rng.uniform(-0.15, 0.15)  # 0 = left, 1 = right
        gains = np.array([np.cos(pan * np.pi / 2), np.sin(pan * np.pi / 2)])
        pos = rng.uniform(0.0, 0.1)
        base = 110.0 * (2.0 if voice else 1.0)
        while pos < dur:
            length = rng.uniform(0.25, 0.6)
            f0 = base * 2 ** (rng.choice(PENTATONIC) / 12)
            i0 = int(pos * sr)
            i1 = min(n, int((pos + length + 0.4) * sr))  # let it ring a bit
            if i1 > i0:
                tt = t[i0:i1] - pos
                vib = 1 + 0.004 * np.sin(2 * np.pi * 5.5 * tt + rng.uniform(0, 2 * np.pi))
                phase = 2 * np.pi * f0 * np.cumsum(vib) / sr
                env = np.minimum(1.0, tt / 0.008) * np.exp(-tt / rng.uniform(0.15, 0.4))
                note = np.zeros_like(tt)
                for k in range(1, 7):
                    if k * f0 * 1.01 < sr / 2 * 0.9:
                        note += np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k ** 1.3
                note *= env * rng.uniform(0.5, 1.0)
                out[i0:i1] += note[:, None] * gains[None, :]
            pos += length
    common = _pink_noise(rng, n)
    for c in range(2):
        out[:, c] += 0.025 * (0.8 * common + 0.6 * _pink_noise(rng, n))
    # clicks / transients
    level = np.max(np.abs(out)) + 1e-9
    for k in range(3):
        pos = int(n * (0.22 + 0.28 * k + rng.uniform(-0.03, 0.03)))
        m = int(0.012 * sr)
        tt = np.arange(m) / sr
        burst = rng.standard_normal(m) * np.minimum(1.0, tt / 0.0003) * np.exp(-tt / 0.003)
        burst *= 2.5 * level / np.max(np.abs(burst))
        for c, delay in ((0, 0), (1, 7)):
            a, b = pos + delay, min(n, pos + delay + m)
            if a < n:
                out[a:b, c] += burst[: b - a] * (1.0 if c == 0 else 0.85)
    peak = np.max(np.abs(out))
    if peak > 0:
        out *= 0.8 / peak
    if channels == 1:
        out = out.mean(axis=1, keepdims=True)
        out *= 0.8 / max(np.max(np.abs(out)), 1e-12)
    return out


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


# ---------------------------------------------------------------------------
# Tags and junk written by this script
# ---------------------------------------------------------------------------

def syncsafe(n: int) -> bytes:
    assert n < (1 << 28)
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def id3v1_tag(title: str, artist: str, album: str = "", year: str = "",
              comment: str = "", track: int = 0, genre: int = 255) -> bytes:
    def f(s: str, n: int) -> bytes:
        return s.encode("latin-1")[:n].ljust(n, b"\0")
    body = (b"TAG" + f(title, 30) + f(artist, 30) + f(album, 30) + f(year, 4)
            + f(comment, 28) + b"\0" + bytes([track]) + bytes([genre]))
    assert len(body) == 128
    return body


def apev2_tag(items: dict[str, str]) -> bytes:
    """APEv2 tag with header and footer (APEv2 spec, version 2000).

    header/footer (32 bytes each): "APETAGEX", version=2000, tag size (items +
    footer, header excluded), item count, flags, 8 reserved zero bytes.
    Flags: bit31 = tag contains a header, bit29 = this is the header.
    Item: value size (u32 LE), item flags (u32 LE, 0 = UTF-8 text), key
    (ASCII 0x20..0x7E, 2..255 chars) + NUL, value (UTF-8, no NUL).
    """
    blobs = []
    for key, value in items.items():
        k = key.encode("ascii")
        assert 2 <= len(k) <= 255 and all(0x20 <= ch <= 0x7E for ch in k)
        v = value.encode("utf-8")
        blobs.append(struct.pack("<II", len(v), 0) + k + b"\0" + v)
    blobs.sort(key=len)  # spec recommends ascending size
    body = b"".join(blobs)
    size = len(body) + 32

    def hf(flags: int) -> bytes:
        return b"APETAGEX" + struct.pack("<IIII", 2000, size, len(items), flags) + b"\0" * 8

    return hf(0xA0000000) + body + hf(0x80000000)


def lyrics3v2_tag(fields: dict[str, str]) -> bytes:
    """Lyrics3 v2.00 tag (must be followed by an ID3v1 tag).

    "LYRICSBEGIN", then fields (3-char id, 5-digit decimal size, data), then a
    6-digit decimal size of everything from "LYRICSBEGIN" to the last field,
    then "LYRICS200".  No byte may be 0xFF.
    """
    body = b"LYRICSBEGIN"
    for fid, data in fields.items():
        d = data.encode("latin-1")
        assert len(fid) == 3 and len(d) <= 99999
        body += fid.encode("ascii") + b"%05d" % len(d) + d
    tag = body + b"%06d" % len(body) + b"LYRICS200"
    assert b"\xff" not in tag
    return tag


def id3v24_frame(fid: str, text: str) -> bytes:
    data = b"\x03" + text.encode("utf-8")  # encoding 3 = UTF-8
    return fid.encode("ascii") + syncsafe(len(data)) + b"\0\0" + data


def id3v24_appended_tag(frames: list[tuple[str, str]]) -> bytes:
    """ID3v2.4 tag with a footer (flag 0x10), meant to be appended to the file.

    Header "ID3" 04 00 flags size(syncsafe, excludes header and footer), frames,
    footer "3DI" 04 00 flags size (same).  No padding (not allowed with a footer).
    """
    body = b"".join(id3v24_frame(f, t) for f, t in frames)
    hdr = b"ID3\x04\x00\x10" + syncsafe(len(body))
    ftr = b"3DI\x04\x00\x10" + syncsafe(len(body))
    return hdr + body + ftr


def junk_bytes(n: int, seed: int) -> bytes:
    """n bytes of garbage that cannot contain an MPEG sync (no 0xFF at all)
    nor anything resembling a tag signature."""
    rng = np.random.default_rng(seed)
    while True:
        b = bytes(rng.integers(0, 255, n, dtype=np.uint8))  # 0..254
        if not any(sig in b for sig in (b"ID3", b"TAG", b"APETAGEX", b"LYRICS", b"Xing", b"Info", b"3DI")):
            return b


# ---------------------------------------------------------------------------
# MPEG frame parsing (independent minimal parser, used to check and describe)
# ---------------------------------------------------------------------------

BITRATES = {  # Layer III, kbps
    "1": [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    "2": [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
}
BITRATES["2.5"] = BITRATES["2"]
SAMPLERATES = {"1": [44100, 48000, 32000], "2": [22050, 24000, 16000], "2.5": [11025, 12000, 8000]}
MODES = ["stereo", "joint", "dual", "mono"]


@dataclass
class Header:
    version: str
    crc: bool
    bitrate_index: int
    samplerate: int
    padding: int
    mode: str
    mode_ext: int

    @property
    def channels(self) -> int:
        return 1 if self.mode == "mono" else 2

    @property
    def spf(self) -> int:
        return 1152 if self.version == "1" else 576

    @property
    def side_info_len(self) -> int:
        if self.version == "1":
            return 17 if self.channels == 1 else 32
        return 9 if self.channels == 1 else 17

    def frame_len(self, free_kbps: int | None = None) -> int:
        kbps = BITRATES[self.version][self.bitrate_index] if self.bitrate_index else free_kbps
        if not kbps:
            raise ValueError("free format frame needs a bitrate")
        coef = 144 if self.version == "1" else 72
        return coef * kbps * 1000 // self.samplerate + self.padding


def parse_header(b: bytes, pos: int) -> Header | None:
    if pos + 4 > len(b):
        return None
    h = int.from_bytes(b[pos:pos + 4], "big")
    if (h >> 21) & 0x7FF != 0x7FF:
        return None
    vbits = (h >> 19) & 3
    layer = (h >> 17) & 3
    bri = (h >> 12) & 15
    sri = (h >> 10) & 3
    if vbits == 1 or layer != 1 or bri == 15 or sri == 3:  # layer bits 01 = Layer III
        return None
    version = {3: "1", 2: "2", 0: "2.5"}[vbits]
    return Header(version, not ((h >> 16) & 1), bri, SAMPLERATES[version][sri],
                  (h >> 9) & 1, MODES[(h >> 6) & 3], (h >> 4) & 3)


class BitReader:
    def __init__(self, data: bytes):
        self.v = int.from_bytes(data, "big")
        self.n = len(data) * 8
        self.p = 0

    def read(self, k: int) -> int:
        self.p += k
        return (self.v >> (self.n - self.p)) & ((1 << k) - 1)


def side_info_blocks(b: bytes, pos: int, h: Header) -> list[tuple[int, int]]:
    """(block_type, mixed) for every granule and channel of the frame."""
    si = b[pos + 4 + 2 * h.crc: pos + 4 + 2 * h.crc + h.side_info_len]
    r = BitReader(si)
    nch = h.channels
    if h.version == "1":
        r.read(9)
        r.read(5 if nch == 1 else 3)
        r.read(4 * nch)
        ngr = 2
    else:
        r.read(8)
        r.read(1 if nch == 1 else 2)
        ngr = 1
    out = []
    for _ in range(ngr):
        for _ in range(nch):
            r.read(12 + 9 + 8)  # part2_3_length, big_values, global_gain
            r.read(4 if h.version == "1" else 9)  # scalefac_compress
            if r.read(1):  # window_switching_flag
                bt, mixed = r.read(2), r.read(1)
                r.read(10 + 9)
            else:
                bt, mixed = 0, 0
                r.read(15 + 7)
            r.read(3 if h.version == "1" else 2)  # (preflag,) scalefac_scale, count1table
            out.append((bt, mixed))
    return out


def xing_info(b: bytes, pos: int, h: Header) -> dict | None:
    """Xing/Info header and the LAME extension in the frame at pos, if any."""
    # The tag sits right after the side info as if there were no CRC: LAME
    # writes it at 4 + side_info_len even with -p (FFmpeg and mpg123 look there
    # too); accept the CRC-shifted place as well.
    for off in (pos + 4 + h.side_info_len, pos + 6 + h.side_info_len):
        tag = b[off:off + 4]
        if tag in (b"Xing", b"Info"):
            break
    else:
        return None
    flags = int.from_bytes(b[off + 4:off + 8], "big")
    q = off + 8
    info: dict = {"kind": tag.decode(), "frames": None, "bytes": None}
    if flags & 1:
        info["frames"] = int.from_bytes(b[q:q + 4], "big")
        q += 4
    if flags & 2:
        info["bytes"] = int.from_bytes(b[q:q + 4], "big")
        q += 4
    if flags & 4:
        q += 100
    if flags & 8:
        q += 4
    enc = b[q:q + 9]
    info["encoder"] = enc.decode("latin-1").rstrip("\0 ")
    if enc.startswith(b"LAME") or enc.startswith(b"Lavc"):
        dp = int.from_bytes(b[q + 21:q + 24], "big")
        info["encoder_delay"] = dp >> 12
        info["padding"] = dp & 0xFFF
    return info


def walk_frames(b: bytes, start: int, end: int, free_kbps: int | None = None) -> dict:
    """Walk every frame from start (must be a frame) to end; all must chain."""
    pos = start
    first = parse_header(b, pos)
    if first is None:
        raise ValueError(f"no frame header at {start}")
    xing = xing_info(b, pos, first)
    frames = 0
    block_types = {str(k): 0 for k in range(4)}
    mixed = 0
    modes: dict[str, int] = {}
    ms = is_ = 0
    idx = 0
    while pos < end:
        h = parse_header(b, pos)
        if h is None:
            raise ValueError(f"lost sync at byte {pos} (frame {idx})")
        if (h.version, h.samplerate, h.crc) != (first.version, first.samplerate, first.crc):
            raise ValueError(f"header change at byte {pos}")
        n = h.frame_len(free_kbps)
        if pos + n > end:
            raise ValueError(f"frame {idx} at {pos} overruns the audio end {end}")
        if not (idx == 0 and xing is not None):
            frames += 1
            modes[h.mode] = modes.get(h.mode, 0) + 1
            if h.mode == "joint":
                ms += bool(h.mode_ext & 2)
                is_ += bool(h.mode_ext & 1)
            for bt, mx in side_info_blocks(b, pos, h):
                block_types[str(bt)] += 1
                mixed += mx
        pos += n
        idx += 1
    stats = {"frames": frames, "samples_per_frame": first.spf, "block_types": block_types,
             "mixed_blocks": mixed, "frame_modes": modes}
    if "joint" in modes:
        stats["mode_extension"] = {"ms": ms, "is": is_}
    return {"first": first, "xing": xing, "stats": stats}


# ---------------------------------------------------------------------------
# Fixture specification
# ---------------------------------------------------------------------------

@dataclass
class Spec:
    name: str
    description: str
    lame_args: list[str] | None  # None -> lameenc, or FFmpeg when ``ffmpeg`` is set
    mode: str
    mpeg_version: str
    samplerate: int
    bitrate_mode: str
    bitrate_kbps: int | None
    seed: int
    src_rate: int = 44100
    src_channels: int = 2
    duration: float = 2.0
    samples: int | None = None  # overrides duration
    signal: str = "music"  # music | silence
    crc: bool = False
    xing: bool = True
    post: list[str] = field(default_factory=list)  # post-processing steps
    lameenc: dict | None = None
    ffmpeg: list[str] | None = None  # FFmpeg output options (another encoder than LAME)

    @property
    def channels(self) -> int:
        return 1 if self.mode == "mono" else 2


TITLE = "mp3restore fixture"
ARTIST = "tools/make_fixtures.py"
ALBUM = "Synthetic test signals"

SPECS: list[Spec] = [
    # --- channel modes, MPEG-1 44.1 kHz CBR 128 ---------------------------------
    Spec("mono_cbr128_44100", "Mono (-m m), MPEG-1 44.1 kHz CBR 128 kbps, mono source.",
         ["-m", "m", "-b", "128"], "mono", "1", 44100, "cbr", 128, seed=101, src_channels=1),
    Spec("stereo_cbr128_44100", "Simple (L/R) stereo (-m s) on every frame, CBR 128 kbps.",
         ["-m", "s", "-b", "128"], "stereo", "1", 44100, "cbr", 128, seed=102),
    Spec("stereo_joint_cbr128_44100", "Joint stereo (-m j, LAME picks L/R or M/S per frame), CBR 128 kbps.",
         ["-m", "j", "-b", "128"], "joint", "1", 44100, "cbr", 128, seed=103),
    Spec("dual_cbr128_44100", "Dual channel (-m d): two independent channels, header mode 'dual', CBR 128 kbps.",
         ["-m", "d", "-b", "128"], "dual", "1", 44100, "cbr", 128, seed=104),
    Spec("stereo_forced_ms_cbr128_44100",
         "Forced mid/side (-m f): joint-stereo header with M/S on every frame, CBR 128 kbps.",
         ["-m", "f", "-b", "128"], "joint", "1", 44100, "cbr", 128, seed=105),
    # --- other MPEG-1 rates ----------------------------------------------------
    Spec("stereo_joint_cbr128_48000", "MPEG-1 48 kHz joint stereo CBR 128 kbps (48 kHz source).",
         ["-m", "j", "-b", "128"], "joint", "1", 48000, "cbr", 128, seed=106, src_rate=48000),
    Spec("stereo_joint_cbr128_32000", "MPEG-1 32 kHz joint stereo CBR 128 kbps (32 kHz source).",
         ["-m", "j", "-b", "128"], "joint", "1", 32000, "cbr", 128, seed=107, src_rate=32000),
    # --- MPEG-2 LSF ---------------------------------------------------------------
    Spec("stereo_joint_cbr64_22050", "MPEG-2 LSF 22.05 kHz joint stereo CBR 64 kbps (LAME resamples 44.1 -> 22.05).",
         ["--resample", "22.05", "-m", "j", "-b", "64"], "joint", "2", 22050, "cbr", 64, seed=201, duration=3.0),
    Spec("stereo_joint_cbr64_24000", "MPEG-2 LSF 24 kHz joint stereo CBR 64 kbps (LAME resamples 44.1 -> 24).",
         ["--resample", "24", "-m", "j", "-b", "64"], "joint", "2", 24000, "cbr", 64, seed=202, duration=3.0),
    Spec("mono_cbr40_16000", "MPEG-2 LSF 16 kHz mono CBR 40 kbps (LAME resamples 44.1 -> 16).",
         ["--resample", "16", "-m", "m", "-b", "40"], "mono", "2", 16000, "cbr", 40, seed=203,
         src_channels=1, duration=3.0),
    # --- MPEG-2.5 --------------------------------------------------------------------
    Spec("stereo_joint_cbr32_11025", "MPEG-2.5 11.025 kHz joint stereo CBR 32 kbps (LAME resamples 44.1 -> 11.025).",
         ["--resample", "11.025", "-m", "j", "-b", "32"], "joint", "2.5", 11025, "cbr", 32, seed=251,
         duration=4.0),
    Spec("mono_cbr24_12000", "MPEG-2.5 12 kHz mono CBR 24 kbps (LAME resamples 44.1 -> 12); "
         "144-byte frames are too small for the Info/LAME tag, so LAME writes none.",
         ["--resample", "12", "-m", "m", "-b", "24"], "mono", "2.5", 12000, "cbr", 24, seed=252,
         src_channels=1, duration=4.0, xing=False),
    Spec("stereo_joint_cbr16_8000", "MPEG-2.5 8 kHz joint stereo CBR 16 kbps (LAME resamples 44.1 -> 8); "
         "144-byte frames are too small for the Info/LAME tag, so LAME writes none.",
         ["--resample", "8", "-m", "j", "-b", "16"], "joint", "2.5", 8000, "cbr", 16, seed=253, duration=4.0,
         xing=False),
    # --- VBR / ABR -------------------------------------------------------------------
    Spec("stereo_joint_vbr2_44100", "VBR -V 2 (Xing + LAME tag, TOC), joint stereo 44.1 kHz.",
         ["-V", "2"], "joint", "1", 44100, "vbr", None, seed=301),
    Spec("stereo_joint_vbr5_44100", "VBR -V 5 (Xing + LAME tag, TOC), joint stereo 44.1 kHz.",
         ["-V", "5"], "joint", "1", 44100, "vbr", None, seed=302),
    Spec("stereo_joint_abr160_44100", "ABR 160 kbps (--abr 160, Xing + LAME tag), joint stereo 44.1 kHz.",
         ["--abr", "160"], "joint", "1", 44100, "abr", 160, seed=303),
    # --- CRC, free format, no tag -------------------------------------------------
    Spec("stereo_joint_cbr128_44100_crc", "CRC-protected frames (-p), joint stereo CBR 128 kbps.",
         ["-p", "-m", "j", "-b", "128"], "joint", "1", 44100, "cbr", 128, seed=401, crc=True),
    Spec("mono_cbr96_44100_crc", "CRC-protected frames (-p), mono CBR 96 kbps 44.1 kHz.",
         ["-p", "-m", "m", "-b", "96"], "mono", "1", 44100, "cbr", 96, seed=402, src_channels=1, crc=True),
    Spec("stereo_joint_free200_44100",
         "Free format (--freeformat -b 200): bitrate index 0, 200 kbps (not in the table), frames of 653/654 bytes; "
         "the first frame is an Info tag frame.",
         ["--freeformat", "-m", "j", "-b", "200"], "joint", "1", 44100, "free", 200, seed=403, duration=1.5),
    Spec("stereo_joint_cbr128_44100_noxing", "No Xing/Info/LAME tag frame (-t): no gapless info, joint CBR 128.",
         ["-t", "-m", "j", "-b", "128"], "joint", "1", 44100, "cbr", 128, seed=404, xing=False),
    # --- bandwidth extremes, degenerate inputs ------------------------------------
    Spec("stereo_joint_cbr64_44100", "64 kbps keeping 44.1 kHz (--resample 44.1 -b 64): LAME lowpass ~11 kHz.",
         ["--resample", "44.1", "-m", "j", "-b", "64"], "joint", "1", 44100, "cbr", 64, seed=501),
    Spec("stereo_joint_cbr320_44100", "320 kbps joint stereo 44.1 kHz: wideband (lowpass ~20 kHz) control.",
         ["-m", "j", "-b", "320"], "joint", "1", 44100, "cbr", 320, seed=502, duration=1.5),
    Spec("silence_stereo_joint_cbr128_44100", "Digital silence (all-zero input), joint stereo CBR 128.",
         ["-m", "j", "-b", "128"], "joint", "1", 44100, "cbr", 128, seed=503, signal="silence", duration=1.5),
    Spec("short_stereo_joint_cbr128_44100_300samples",
         "Very short input: 300 samples per channel (Info frame + 2 audio frames).",
         ["-m", "j", "-b", "128"], "joint", "1", 44100, "cbr", 128, seed=504, samples=300),
    # --- tags and junk ---------------------------------------------------------------
    Spec("stereo_joint_cbr128_44100_id3v2_id3v1",
         "ID3v2.3 tag before the first frame and ID3v1 after the last (lame --add-id3v2 --tt/--ta/...).",
         ["-m", "j", "-b", "128", "--add-id3v2", "--tt", TITLE, "--ta", ARTIST, "--tl", ALBUM,
          "--ty", "2024", "--tn", "7", "--tc", "id3v2+id3v1"],
         "joint", "1", 44100, "cbr", 128, seed=601, duration=1.5),
    Spec("stereo_joint_cbr128_44100_id3v1", "ID3v1 tag only, after the last frame (lame --id3v1-only).",
         ["-m", "j", "-b", "128", "--id3v1-only", "--tt", TITLE, "--ta", ARTIST, "--tc", "id3v1 only"],
         "joint", "1", 44100, "cbr", 128, seed=602, duration=1.5),
    Spec("stereo_joint_cbr128_44100_apev2", "APEv2 tag (header + items + footer) appended after the last frame.",
         ["-m", "j", "-b", "128"], "joint", "1", 44100, "cbr", 128, seed=603, duration=1.5, post=["apev2"]),
    Spec("stereo_joint_cbr128_44100_lyrics3v2_id3v1",
         "Lyrics3 v2.00 tag after the last frame, followed by an ID3v1 tag (as the Lyrics3 spec requires).",
         ["-m", "j", "-b", "128", "--id3v1-only", "--tt", TITLE, "--ta", ARTIST],
         "joint", "1", 44100, "cbr", 128, seed=604, duration=1.5, post=["lyrics3v2"]),
    Spec("stereo_joint_cbr128_44100_junk300",
         "300 bytes of garbage (no 0xFF byte, so no false sync) before the first frame (Info frame).",
         ["-m", "j", "-b", "128"], "joint", "1", 44100, "cbr", 128, seed=605, duration=1.5, post=["junk300"]),
    Spec("stereo_joint_cbr128_44100_id3v2footer_appended",
         "ID3v2.4 tag with footer ('3DI') appended after the last frame.",
         ["-m", "j", "-b", "128"], "joint", "1", 44100, "cbr", 128, seed=606, duration=1.5,
         post=["id3v2_appended"]),
    # --- another encoder: libshine through FFmpeg ------------------------------------
    # No lowpass (the coded band ends where each granule's bits run out), long blocks only,
    # L/R stereo; FFmpeg writes an ID3v2 tag and an Info tag ("Lavc...") whose encoder delay
    # and padding are 0, which is not libshine's delay.
    Spec("stereo_cbr64_44100_shine",
         "libshine through FFmpeg, stereo CBR 64 kbps 44.1 kHz: no lowpass, the coded band ends granule by "
         "granule; FFmpeg's ID3v2 and Info tag (delay 0, padding 0).",
         None, "stereo", "1", 44100, "cbr", 64, seed=801, ffmpeg=["-c:a", "libshine", "-b:a", "64k"]),
    Spec("mono_cbr128_48000_shine",
         "libshine through FFmpeg, mono CBR 128 kbps 48 kHz (48 kHz source): coded to about 24 kHz.",
         None, "mono", "1", 48000, "cbr", 128, seed=802, src_rate=48000, src_channels=1,
         ffmpeg=["-c:a", "libshine", "-b:a", "128k"]),
    # --- lameenc -------------------------------------------------------------------
    Spec("stereo_joint_cbr128_44100_lameenc",
         "Made with the lameenc package (its bundled LAME): joint stereo CBR 128, no Xing/LAME tag frame.",
         None, "joint", "1", 44100, "cbr", 128, seed=701, xing=False,
         lameenc={"bit_rate": 128, "in_sample_rate": 44100, "channels": 2, "quality": 2}),
]


# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------

def lame_version() -> str:
    out = subprocess.run(["lame", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version\s+(\S+)", out)
    return m.group(1) if m else out.splitlines()[0]


def lameenc_versions() -> tuple[str, str]:
    """(lameenc package version, version of the LAME it bundles)."""
    import importlib.metadata
    import lameenc
    pkg = importlib.metadata.version("lameenc")
    blob = Path(lameenc.__file__).read_bytes()
    m = re.search(rb"lame-(\d+\.\d+)/libmp3lame", blob)
    return pkg, (m.group(1).decode() if m else "unknown")


def mpg123_version() -> str:
    out = subprocess.run(["mpg123", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"mpg123\s+(\S+)", out)
    return m.group(1) if m else out.strip()


def mpg123_samples(path: Path, channels: int) -> int:
    out = subprocess.run(["mpg123", "-q", "-e", "f32", "-s", str(path)],
                         capture_output=True, check=True).stdout
    assert len(out) % (4 * channels) == 0
    return len(out) // (4 * channels)


def run_lame(args: list[str], wav: Path, mp3: Path) -> None:
    p = subprocess.run(["lame", "--quiet", *args, str(wav), str(mp3)], capture_output=True, text=True)
    if p.returncode != 0 or not mp3.exists():
        raise RuntimeError(f"lame {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")


def ffmpeg_version() -> str:
    out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    m = re.search(r"ffmpeg version (\S+)", out)
    return m.group(1) if m else out.splitlines()[0]


def run_ffmpeg(args: list[str], wav: Path, mp3: Path) -> None:
    p = subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), *args, str(mp3)], capture_output=True, text=True)
    if p.returncode != 0 or not mp3.exists():
        raise RuntimeError(f"ffmpeg {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")


def run_lameenc(settings: dict, pcm: np.ndarray) -> bytes:
    import lameenc
    e = lameenc.Encoder()
    e.set_bit_rate(settings["bit_rate"])
    e.set_in_sample_rate(settings["in_sample_rate"])
    e.set_channels(settings["channels"])
    e.set_quality(settings["quality"])
    return bytes(e.encode(np.ascontiguousarray(pcm).tobytes()) + e.flush())


def id3v2_size(b: bytes) -> int:
    if b[:3] != b"ID3":
        return 0
    sz = (b[6] << 21) | (b[7] << 14) | (b[8] << 7) | b[9]
    return 10 + sz + (10 if b[5] & 0x10 else 0)


# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------

def make_one(spec: Spec, out: Path, tmp: Path, versions: dict) -> dict:
    n = spec.samples if spec.samples is not None else int(round(spec.duration * spec.src_rate))
    if spec.signal == "silence":
        x = np.zeros((n, spec.src_channels))
    else:
        x = music_signal(spec.src_rate, n, spec.seed, spec.src_channels)
    pcm = to_int16(x)
    wav = tmp / f"{spec.name}.wav"
    sf.write(wav, pcm, spec.src_rate, subtype="PCM_16")
    sha = hashlib.sha256(pcm.tobytes()).hexdigest()
    mp3 = out / f"{spec.name}.mp3"
    raw_mp3 = tmp / f"{spec.name}.mp3"

    if spec.ffmpeg is not None:
        run_ffmpeg(spec.ffmpeg, wav, raw_mp3)
        data = raw_mp3.read_bytes()
        encoder = {"tool": "ffmpeg", "ffmpeg_version": versions["ffmpeg"],
                   "command": ["ffmpeg", "-i", "IN.wav", *spec.ffmpeg, "OUT.mp3"]}
        lame_ver = None
    elif spec.lame_args is not None:
        run_lame(spec.lame_args, wav, raw_mp3)
        data = raw_mp3.read_bytes()
        encoder = {"tool": "lame", "command": ["lame", "--quiet", *spec.lame_args, "IN.wav", "OUT.mp3"]}
        lame_ver = versions["lame"]
    else:
        data = run_lameenc(spec.lameenc, pcm)
        encoder = {"tool": "lameenc", "lameenc_version": versions["lameenc"],
                   "lame_version_note": "LAME bundled in the lameenc wheel, read from its build paths "
                                        "('lame-X/libmp3lame'); its frames' ancillary padding says 'LAME4.0'",
                   "settings": dict(spec.lameenc),
                   "calls": "Encoder(); set_bit_rate; set_in_sample_rate; set_channels; set_quality; "
                            "encode(int16 interleaved bytes) + flush()"}
        lame_ver = versions["lameenc_lame"]

    # Locate lame's own tags.
    tags = []
    start = id3v2_size(data)
    if start:
        tags.append({"type": f"id3v2.{data[3]}", "position": "start", "offset": 0, "size": start})
    end = len(data)
    if len(data) >= 128 and data[-128:-125] == b"TAG":
        end -= 128
    id3v1 = data[end:] if end < len(data) else b""

    post_steps = []
    for step in spec.post:
        if step == "apev2":
            ape = apev2_tag({"Title": TITLE, "Artist": ARTIST, "Album": ALBUM, "Year": "2024",
                             "Track": "3", "Comment": "APEv2 appended (header+items+footer) – ünïcödé"})
            assert not id3v1
            tags.append({"type": "apev2", "position": "end", "offset": len(data), "size": len(ape)})
            data += ape
            post_steps.append("append APEv2 tag (version 2000, header + 6 UTF-8 items + footer)")
        elif step == "lyrics3v2":
            assert id3v1, "Lyrics3v2 goes before an ID3v1 tag"
            lyr = lyrics3v2_tag({"IND": "10", "LYR": "First line of the lyrics\r\nSecond line",
                                 "ETT": TITLE, "EAR": ARTIST, "INF": "Lyrics3 v2.00 test tag"})
            data = data[:end] + lyr + id3v1
            tags.append({"type": "lyrics3v2", "position": "end", "offset": end, "size": len(lyr)})
            post_steps.append("insert Lyrics3 v2.00 tag (IND, LYR, ETT, EAR, INF) before lame's ID3v1 tag")
        elif step == "junk300":
            junk = junk_bytes(300, spec.seed)
            assert not start
            data = junk + data
            start, end = 300, end + 300
            tags.append({"type": "junk", "position": "start", "offset": 0, "size": 300})
            post_steps.append(f"prepend 300 bytes from numpy.default_rng({spec.seed}).integers(0, 255) "
                              "(no 0xFF, no tag signature)")
        elif step == "id3v2_appended":
            t = id3v24_appended_tag([("TIT2", TITLE), ("TPE1", ARTIST), ("TALB", ALBUM),
                                     ("TXXX", "comment\0appended ID3v2.4 tag with footer")])
            assert not id3v1
            tags.append({"type": "id3v2.4_footer", "position": "end", "offset": len(data), "size": len(t)})
            data += t
            post_steps.append("append ID3v2.4 tag with footer flag and '3DI' footer (TIT2, TPE1, TALB, TXXX)")
        else:
            raise ValueError(step)
    if id3v1:
        tags.append({"type": "id3v1", "position": "end", "offset": len(data) - 128, "size": 128})
    tags.sort(key=lambda t: t["offset"])
    if post_steps:
        encoder["post_processing"] = post_steps
    mp3.write_bytes(data)

    # Check the stream against the spec.
    walk = walk_frames(data, start, end, spec.bitrate_kbps if spec.bitrate_mode == "free" else None)
    h = walk["first"]
    got = (h.version, h.samplerate, h.mode, h.crc, walk["xing"] is not None,
           h.bitrate_index == 0)
    want = (spec.mpeg_version, spec.samplerate, spec.mode, spec.crc, spec.xing, spec.bitrate_mode == "free")
    if got != want:
        raise RuntimeError(f"{spec.name}: stream is {got}, wanted {want}")
    if spec.bitrate_mode == "cbr" and BITRATES[h.version][h.bitrate_index] != spec.bitrate_kbps:
        raise RuntimeError(f"{spec.name}: bitrate {BITRATES[h.version][h.bitrate_index]}")
    stats = walk["stats"]
    frames, spf = stats["frames"], stats["samples_per_frame"]

    # input_samples
    lame_tag = None
    xing = walk["xing"]
    if xing and "encoder_delay" in xing:
        lame_tag = {"encoder_delay": xing["encoder_delay"], "padding": xing["padding"],
                    "encoder": xing["encoder"], "xing_frames": xing["frames"]}
        if xing["frames"] is not None and xing["frames"] != frames:
            raise RuntimeError(f"{spec.name}: Xing says {xing['frames']} frames, walked {frames}")
    if spec.ffmpeg is not None:
        input_samples = n
        how = ("input length (FFmpeg's Info tag has delay 0 and padding 0 for libshine: "
               "it does not give the input length)")
    elif lame_tag:
        input_samples = frames * spf - xing["encoder_delay"] - xing["padding"]
        how = "LAME tag: frames*spf - encoder_delay - padding"
    elif spec.src_rate == spec.samplerate:
        input_samples = n
        how = "no LAME tag, no resampling: input length"
    else:
        # LAME resampled but wrote no tag (frame too small for it, or -t): encode
        # the same input again at a bitrate whose frames hold the tag.  The
        # resampled length and the frame count do not depend on the bitrate.
        twin_args = [a for a in spec.lame_args if a != "-t"]
        twin_args[twin_args.index("-b") + 1] = "64"
        twin = tmp / f"{spec.name}.twin.mp3"
        run_lame(twin_args, wav, twin)
        tb = twin.read_bytes()
        tw = walk_frames(tb, id3v2_size(tb), len(tb) - (128 if tb[-128:-125] == b"TAG" else 0))
        tx = tw["xing"]
        if not tx or "encoder_delay" not in tx or tw["stats"]["frames"] != frames:
            raise RuntimeError(f"{spec.name}: twin encode {twin_args} did not help")
        input_samples = frames * spf - tx["encoder_delay"] - tx["padding"]
        how = ("no LAME tag (LAME resampled): LAME tag of a twin encode "
               f"`lame {' '.join(twin_args)}` (same frame count)")
    if spec.src_rate == spec.samplerate and input_samples != n:
        raise RuntimeError(f"{spec.name}: LAME tag says {input_samples} samples, fed {n}")

    gapless = mpg123_samples(mp3, spec.channels)

    meta = {
        "description": spec.description,
        "source_signal": {
            "kind": spec.signal,
            "generator": ("tools/make_fixtures.py:music_signal" if spec.signal == "music" else "zeros"),
            "seed": spec.seed,
            "samplerate": spec.src_rate,
            "channels": spec.src_channels,
            "samples": n,
            "format": "int16 WAV, round(x*32767)",
            "sha256_int16": sha,
            "numpy": np.__version__,
        },
        "encoder": encoder,
        "lame_version": lame_ver,
        "samplerate": spec.samplerate,
        "channels": spec.channels,
        "mode": spec.mode,
        "mpeg_version": spec.mpeg_version,
        "bitrate_mode": spec.bitrate_mode,
        "bitrate_kbps": spec.bitrate_kbps,
        "crc": spec.crc,
        "xing_tag": spec.xing,
        "tags": tags,
        "layout": {"file_size": len(data), "audio_start": start, "audio_end": end},
        "input_samples": input_samples,
        "input_samples_source": how,
        "lame_tag": lame_tag,
        "stats": stats,
        "expected": {
            "samples_gapless": gapless,
            "samples_full": frames * spf,
            "mpg123_version": versions["mpg123"],
            "how": "mpg123 -q -e f32 -s FILE | wc -c / 4 / channels (gapless by default)",
        },
    }
    (out / f"{spec.name}.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return meta


README_HEAD = """# Test fixtures

Generated by `python tools/make_fixtures.py` (do not edit by hand; rerun the script).
Each `NAME.mp3` has a sidecar `NAME.json` (keys documented at the top of the script).
Sources are synthetic (numpy, fixed seeds; `source_signal` in each JSON):{signal_doc}

Encoders: Debian `lame` {lame} (CLI), `lameenc` {lameenc_pkg} (bundles LAME {lameenc_lame}),
libshine through Debian's `ffmpeg` {ffmpeg} (files named `*_shine`).
Expected lengths: `mpg123` {mpg123} (gapless by default: trims by the LAME tag when present).

Columns: *in* = `input_samples` (per channel, after LAME's resampling), *mpg123* =
`expected.samples_gapless`, *frames* = audio frames (Xing frame excluded),
*blocks* = granule-channels with block type 0/1/2/3.

"""


README_NOTES = """
## Notes

* LAME never codes intensity stereo nor mixed blocks (`stats.mode_extension.is`
  and `stats.mixed_blocks` are 0 everywhere): the conformance vectors
  (`../shared/vectors`, e.g. `l3-he_mode`, `l3-si_block`) cover those.
* Files without a LAME tag (`xing_tag` false: `-t`, lameenc, and LSF/2.5 frames
  of 144 bytes, too small for the tag) carry no gapless information: mpg123
  then outputs every frame: `samples_gapless == samples_full` = frames x spf =
  576 (LAME's encoder delay) + `input_samples` + padding.  In a full decode the
  input starts 576 + 529 (decoder delay) = 1105 samples in; gapless decoders
  trim `encoder_delay + 529` at the start and `padding - 529` at the end.
* With `-p` LAME puts the Info tag at 4 + side-info length, as if there were no
  CRC (where FFmpeg and mpg123 look for it).
* LAME's ID3v2.3 text frames are UTF-16 with a `FF FE` BOM: a false (Layer I)
  sync inside the tag, so the tag must be skipped by its size.
* FFmpeg's Info tag on the libshine files says encoder delay 0 and padding 0,
  so gapless decoders (mpg123, mp3restore) trim only the decoder's 529 samples
  at the start and nothing at the end: `samples_gapless` = frames x spf - 529,
  not `input_samples`.
* mpg123 warns about the APEv2 file (the Info tag's byte count no longer matches
  the file) and resyncs over the Lyrics3 tag; both still decode to the right length.
"""


def write_readme(out: Path, metas: dict[str, dict], versions: dict) -> None:
    import inspect
    doc = "\n\n" + inspect.cleandoc(music_signal.__doc__) + "\n\nSilence is all zeros."
    lines = [README_HEAD.format(signal_doc=doc, **versions)]
    lines.append("| file | bytes | rate | ch | mode | MPEG | bitrate | CRC | Xing | tags | in | mpg123 | frames | blocks | what |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    total = 0
    for name, m in sorted(metas.items()):
        size = m["layout"]["file_size"]
        total += size
        br = m["bitrate_mode"] + (f" {m['bitrate_kbps']}" if m["bitrate_kbps"] else "")
        bt = m["stats"]["block_types"]
        lines.append(
            f"| `{name}.mp3` | {size} | {m['samplerate']} | {m['channels']} | {m['mode']} | {m['mpeg_version']} "
            f"| {br} | {'yes' if m['crc'] else ''} | {'yes' if m['xing_tag'] else ''} "
            f"| {', '.join(t['type'] for t in m['tags'])} | {m['input_samples']} "
            f"| {m['expected']['samples_gapless']} | {m['stats']['frames']} "
            f"| {bt['0']}/{bt['1']}/{bt['2']}/{bt['3']} | {m['description']} |")
    lines.append("")
    lines.append(f"{len(metas)} files, {total} bytes of MP3.")
    lines.append(README_NOTES)
    (out / "README.md").write_text("\n".join(lines) + "\n")


WARMUP_SOURCE = "stereo_joint_cbr64_44100"  # its first WARMUP_FRAMES frames: short blocks, restored
WARMUP_FRAMES = 12


def write_warmup(fixtures: Path, dest: Path = REPO / "mp3restore" / "data" / "warmup.npz") -> None:
    """The coefficients the first run's helper process compiles synthesis and
    restoration on (``mp3restore/_warm.py``)."""
    sys.path.insert(0, str(REPO))
    import mp3restore

    c = mp3restore.read_coefficients(fixtures / f"{WARMUP_SOURCE}.mp3", frames=(0, WARMUP_FRAMES))
    c.save(dest)
    print(f"{dest}: frames 0..{WARMUP_FRAMES} of {WARMUP_SOURCE}.mp3")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO / "fixtures"), help="output folder (default: fixtures/)")
    ap.add_argument("--only", nargs="*", help="only these fixture names (the README lists every fixture in --out)")
    args = ap.parse_args(argv)
    for tool in ("lame", "mpg123", "ffmpeg"):
        if not shutil.which(tool):
            print(f"error: {tool} not on PATH", file=sys.stderr)
            return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pkg, bundled = lameenc_versions()
    versions = {"lame": lame_version(), "lameenc": pkg, "lameenc_pkg": pkg, "lameenc_lame": bundled,
                "mpg123": mpg123_version(), "ffmpeg": ffmpeg_version()}
    specs = [s for s in SPECS if not args.only or s.name in args.only]
    metas = {}
    with tempfile.TemporaryDirectory(prefix="mp3restore-fixtures-") as td:
        for spec in specs:
            m = make_one(spec, out, Path(td), versions)
            metas[spec.name] = m
            print(f"{spec.name + '.mp3':55s} {m['layout']['file_size']:7d} B  in={m['input_samples']:6d} "
                  f"mpg123={m['expected']['samples_gapless']:6d}  blocks={m['stats']['block_types']}")
    built = set(metas)
    # the README lists every fixture in the folder, those made before with --only NAME included
    for spec in SPECS:
        side = out / f"{spec.name}.json"
        if spec.name not in metas and side.exists():
            metas[spec.name] = json.loads(side.read_text())
    write_readme(out, metas, versions)
    total = sum(m["layout"]["file_size"] for m in metas.values())
    print(f"{len(metas)} fixtures, {total} bytes -> {out}")
    if WARMUP_SOURCE in built and out.resolve() == (REPO / "fixtures").resolve():
        write_warmup(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
