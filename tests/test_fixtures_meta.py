"""Checks of the fixture files themselves (not of the decoder).

Each fixture must be small, have a complete sidecar JSON, and the JSON must
agree with the bytes (first frame header after the tags, tag byte ranges) and
with mpg123's output length.  Also a few sanity checks of the conftest helpers.
"""
from __future__ import annotations

import hashlib
import subprocess

import numpy as np
import pytest

from conftest import (FIXTURES, fixture_files, fixture_params, load_tool, mpg123_float, need_tool,
                      read_reference_pcm, score_pcm, to_int16, vector_length_ok)

REQUIRED_KEYS = {
    "description": str,
    "source_signal": dict,
    "encoder": dict,
    "lame_version": (str, type(None)),  # None: another encoder (FFmpeg's libshine)
    "samplerate": int,
    "channels": int,
    "mode": str,
    "mpeg_version": str,
    "bitrate_mode": str,
    "crc": bool,
    "xing_tag": bool,
    "tags": list,
    "input_samples": int,
    "expected": dict,
}

PARAMS = fixture_params()

# Minimal, independent Layer III header tables.
SAMPLERATES = {"1": (44100, 48000, 32000), "2": (22050, 24000, 16000), "2.5": (11025, 12000, 8000)}
BITRATES = {"1": (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
            "2": (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
MODES = ("stereo", "joint", "dual", "mono")


def parse_header(b: bytes, pos: int) -> dict | None:
    """Layer III frame header at pos, or None."""
    if pos + 4 > len(b) or b[pos] != 0xFF or (b[pos + 1] & 0xE0) != 0xE0:
        return None
    vbits, layer = (b[pos + 1] >> 3) & 3, (b[pos + 1] >> 1) & 3
    bri, sri = b[pos + 2] >> 4, (b[pos + 2] >> 2) & 3
    if vbits == 1 or layer != 1 or bri == 15 or sri == 3:
        return None
    version = {3: "1", 2: "2", 0: "2.5"}[vbits]
    h = {"version": version, "crc": not (b[pos + 1] & 1), "bitrate_index": bri,
         "samplerate": SAMPLERATES[version][sri], "padding": (b[pos + 2] >> 1) & 1,
         "mode": MODES[b[pos + 3] >> 6]}
    h["kbps"] = BITRATES["1" if version == "1" else "2"][bri]
    return h


def frame_len(h: dict, free_kbps: int | None) -> int:
    kbps = h["kbps"] or free_kbps
    return (144 if h["version"] == "1" else 72) * kbps * 1000 // h["samplerate"] + h["padding"]


def first_frame(b: bytes, free_kbps: int | None) -> tuple[int, dict]:
    """Offset and header of the first frame after a leading ID3v2 tag and any
    junk: the first header whose successor (at the computed length) is a
    header of the same version/rate."""
    pos = 0
    if b[:3] == b"ID3":
        pos = 10 + ((b[6] << 21) | (b[7] << 14) | (b[8] << 7) | b[9]) + (10 if b[5] & 0x10 else 0)
    while pos < len(b) - 4:
        h = parse_header(b, pos)
        if h is not None and (h["kbps"] or free_kbps):
            nxt = parse_header(b, pos + frame_len(h, free_kbps))
            if nxt and (nxt["version"], nxt["samplerate"]) == (h["version"], h["samplerate"]):
                return pos, h
        pos += 1
    raise AssertionError("no frame found")


def has_xing(b: bytes, pos: int, h: dict) -> bool:
    mono = h["mode"] == "mono"
    side = (17 if mono else 32) if h["version"] == "1" else (9 if mono else 17)
    return any(b[o:o + 4] in (b"Xing", b"Info") for o in (pos + 4 + side, pos + 6 + side))


def test_fixture_set_present_and_small():
    files = fixture_files()
    assert len(files) >= 25, "run: python tools/make_fixtures.py"
    total = sum(p.stat().st_size for p, _ in files)
    assert total < 1_500_000, f"fixtures total {total} bytes"
    assert (FIXTURES / "README.md").exists()
    # the set covers what it claims to cover
    metas = [m for _, m in files]
    assert {m["mpeg_version"] for m in metas} == {"1", "2", "2.5"}
    assert {m["mode"] for m in metas} == {"mono", "stereo", "joint", "dual"}
    assert {m["bitrate_mode"] for m in metas} == {"cbr", "vbr", "abr", "free"}
    assert {m["samplerate"] for m in metas} >= {44100, 48000, 32000, 22050, 24000, 16000, 11025, 12000, 8000}
    assert any(m["crc"] for m in metas) and any(not m["xing_tag"] for m in metas)
    assert any(m["encoder"].get("tool") == "lameenc" for m in metas)
    assert any(m["encoder"].get("tool") == "ffmpeg" for m in metas)  # an encoder other than LAME


@pytest.mark.parametrize("mp3,meta", PARAMS)
def test_size(mp3, meta):
    size = mp3.stat().st_size
    assert size < 1_000_000
    assert size == meta["layout"]["file_size"]


@pytest.mark.parametrize("mp3,meta", PARAMS)
def test_json_keys(mp3, meta):
    for key, typ in REQUIRED_KEYS.items():
        assert key in meta, key
        assert isinstance(meta[key], typ), (key, type(meta[key]))
    assert meta["mode"] in MODES
    assert meta["mpeg_version"] in ("1", "2", "2.5")
    assert meta["bitrate_mode"] in ("cbr", "vbr", "abr", "free")
    assert meta["channels"] == (1 if meta["mode"] == "mono" else 2)
    assert "seed" in meta["source_signal"]
    assert "samples_gapless" in meta["expected"]
    sg = meta["expected"]["samples_gapless"]
    assert sg is None or (isinstance(sg, int) and sg >= 0)
    assert meta["input_samples"] > 0
    if meta["encoder"]["tool"] in ("lame", "lameenc"):
        assert meta["lame_version"] and meta["lame_version"] != "unknown"
    else:
        assert meta["encoder"]["tool"] == "ffmpeg" and meta["lame_version"] is None


@pytest.mark.parametrize("mp3,meta", PARAMS)
def test_first_header_matches_json(mp3, meta):
    b = mp3.read_bytes()
    free = meta.get("bitrate_kbps") if meta["bitrate_mode"] == "free" else None
    pos, h = first_frame(b, free)
    assert pos == meta["layout"]["audio_start"]
    assert h["version"] == meta["mpeg_version"]
    assert h["samplerate"] == meta["samplerate"]
    assert h["mode"] == meta["mode"]
    assert h["crc"] == meta["crc"]
    assert has_xing(b, pos, h) == meta["xing_tag"]
    if meta["bitrate_mode"] == "free":
        assert h["bitrate_index"] == 0
    elif meta["bitrate_mode"] == "cbr":
        assert h["kbps"] == meta["bitrate_kbps"]


@pytest.mark.parametrize("mp3,meta", PARAMS)
def test_tag_ranges(mp3, meta):
    """Tags (and junk) sit where the JSON says; with the audio they tile the file."""
    b = mp3.read_bytes()
    lay = meta["layout"]
    ranges = [(lay["audio_start"], lay["audio_end"], "audio")]
    for t in meta["tags"]:
        o, n, kind = t["offset"], t["size"], t["type"]
        blob = b[o:o + n]
        assert len(blob) == n
        if kind.startswith("id3v2.4_footer"):
            assert blob[:3] == b"ID3" and blob[-10:-7] == b"3DI" and blob[5] & 0x10
            assert blob[3:10] == blob[-7:]
        elif kind.startswith("id3v2"):
            assert blob[:3] == b"ID3" and t["position"] == "start"
        elif kind == "id3v1":
            assert blob[:3] == b"TAG" and n == 128 and o + n == len(b)
        elif kind == "apev2":
            assert blob[:8] == b"APETAGEX" and blob[-32:-24] == b"APETAGEX"
            assert int.from_bytes(blob[-20:-16], "little") == n - 32  # size excludes the header
        elif kind == "lyrics3v2":
            assert blob.startswith(b"LYRICSBEGIN") and blob.endswith(b"LYRICS200")
            assert int(blob[-15:-9]) == n - 15
            assert b[o + n:o + n + 3] == b"TAG"  # must be followed by ID3v1
        elif kind == "junk":
            assert 0xFF not in blob
        else:
            raise AssertionError(f"unknown tag type {kind}")
        ranges.append((o, o + n, kind))
    ranges.sort()
    assert ranges[0][0] == 0 and ranges[-1][1] == len(b)
    for (a0, a1, _), (b0, b1, _) in zip(ranges, ranges[1:]):
        assert a1 == b0, ranges


@pytest.mark.parametrize("mp3,meta", PARAMS)
def test_mpg123_sample_count(mp3, meta):
    exe = need_tool("mpg123")
    expected = meta["expected"]["samples_gapless"]
    if expected is None:
        pytest.skip("no mpg123 reference length recorded")
    out = subprocess.run([exe, "-q", "-e", "f32", "-s", str(mp3)], capture_output=True, check=True).stdout
    assert len(out) % (4 * meta["channels"]) == 0
    assert len(out) // (4 * meta["channels"]) == expected
    # gapless information: with a LAME tag mpg123 trims its delay + 529 at the start and
    # padding - 529 at the end (LAME's tag: to the input length); without one it outputs
    # every frame
    full = meta["expected"]["samples_full"]
    if meta["xing_tag"]:
        t = meta["lame_tag"]
        assert expected == full - (t["encoder_delay"] + 529) - max(0, t["padding"] - 529)
        if meta["encoder"]["tool"] != "ffmpeg":  # FFmpeg's tag on libshine files: delay and padding 0
            assert expected == meta["input_samples"]
    else:
        assert expected == full


@pytest.mark.parametrize("mp3,meta", PARAMS)
def test_mpg123_float_native_format(mp3, meta):
    need_tool("mpg123")
    pcm, sr = mpg123_float(mp3)
    assert pcm.dtype == np.float32
    assert sr == meta["samplerate"]
    assert pcm.shape == (meta["expected"]["samples_gapless"], meta["channels"])
    if meta["source_signal"]["kind"] == "silence":
        assert np.max(np.abs(pcm)) < 1e-3
    elif meta["input_samples"] > 10000:
        assert 0.1 < np.max(np.abs(pcm)) <= 1.0


@pytest.mark.parametrize("mp3,meta", PARAMS)
def test_source_signal_reproducible(mp3, meta):
    """Rerunning the generator gives the same encoder input (fixed seeds)."""
    gen = load_tool("make_fixtures")
    src = meta["source_signal"]
    if src["kind"] == "silence":
        x = np.zeros((src["samples"], src["channels"]))
    else:
        x = gen.music_signal(src["samplerate"], src["samples"], src["seed"], src["channels"])
    assert hashlib.sha256(gen.to_int16(x).tobytes()).hexdigest() == src["sha256_int16"]


# ---------------------------------------------------------------------------
# conftest helpers
# ---------------------------------------------------------------------------

def test_score_pcm_rule():
    rng = np.random.default_rng(0)
    ref = rng.integers(-20000, 20000, 2304, dtype=np.int16)
    ours = ref.astype(np.float64) / 32768.0
    assert score_pcm(ours.reshape(-1, 2), ref) == (99.0, 0)
    off = ours.copy()
    off[::2] += 1 / 32768.0  # every other value 1 LSB off: MSE = 0.5
    psnr, maxd = score_pcm(off, ref)
    assert maxd == 1
    assert psnr == pytest.approx(10 * np.log10(32767.0 ** 2 / 0.5))
    # MSE divides by the values we produced, comparing only the common part
    psnr_long, _ = score_pcm(np.concatenate([off, np.zeros(2304)]), ref)
    assert psnr_long == pytest.approx(10 * np.log10(32767.0 ** 2 / 0.25))
    assert to_int16(np.array([1.0, -1.0, 2.0]).astype(np.float32)).tolist() == [32767, -32768, 32767]
    assert vector_length_ok(2304 * 3, 2304 * 2, 2304) and not vector_length_ok(100, 0, 2304)


def test_read_reference_pcm_mixed_channels(tmp_path):
    mono = np.arange(1152, dtype=np.int16)
    stereo = -np.arange(2304, dtype=np.int16)
    p = tmp_path / "x.pcm"
    np.concatenate([mono, stereo, mono]).astype("<i2").tofile(p)
    assert len(read_reference_pcm(p)) == 1152 * 4
    frames = read_reference_pcm(p, [1, 2, 1, 2])  # reference one frame short: fine
    assert [f.shape for f in frames] == [(1152, 1), (1152, 2), (1152, 1)]
    assert np.array_equal(frames[1].reshape(-1), stereo)
    with pytest.raises(ValueError):
        read_reference_pcm(p, [2, 1, 2])  # partial last frame
    with pytest.raises(ValueError):
        read_reference_pcm(p, [1, 2])  # values left over
    assert [f.shape for f in read_reference_pcm(p, [(2, 576)] * 4)] == [(576, 2)] * 4


def test_shipped_warmup_coefficients_are_the_fixture_excerpt():
    """``mp3restore/data/warmup.npz`` (what the first run's helper compiles on) is what
    ``tools/make_fixtures.py`` makes from its source fixture, in the current format,
    and restoration acts on it (so the helper compiles the restoration kernels)."""
    import mp3restore
    from mp3restore._warm import WARMUP
    from mp3restore.coefficients import load_coefficients

    make = load_tool("make_fixtures")
    shipped = load_coefficients(WARMUP)
    fresh = mp3restore.read_coefficients(FIXTURES / f"{make.WARMUP_SOURCE}.mp3", frames=(0, make.WARMUP_FRAMES))
    for name in ("mdct", "side_info", "scalefactors", "frame_header", "frame_granule"):
        np.testing.assert_array_equal(getattr(shipped, name), getattr(fresh, name))
    assert (shipped.block_type == 2).any()  # the short-block path too
    assert not np.array_equal(mp3restore.restore_coefficients(shipped).mdct, shipped.mdct)
    assert WARMUP.stat().st_size < 64 * 1024
