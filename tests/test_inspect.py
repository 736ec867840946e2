"""Seeing inside the stream: ``Mp3File.frames``, ``mp3restore.inspect`` and the
``frames`` / ``dump`` / ``export`` / ``plot`` commands and ``info``'s bandwidth section.

Expectations come from content known in advance: signals made here and encoded
with ``lameenc`` (a pure tone, clicks), and the fixtures' sidecar JSON.
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import warnings
import wave
from pathlib import Path

import numpy as np
import pytest

import mp3restore
from conftest import FIXTURES, VECTORS, fixture_params, vector_files
from mp3restore.cli import main
from mp3restore.inspect import (band_edges_hz, band_energies, band_of_line, highest_lines, line_hz,
                                measure_bandwidth)
from mp3restore.tables.bands import SFB_LONG, SFB_SHORT

SR = 44100


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def lame_encode(x, sr=SR, bitrate=128):
    """float signal (n,) or (n, ch), full scale 1.0 -> MP3 bytes made by lameenc (quality 2)."""
    lameenc = pytest.importorskip("lameenc")
    x = np.asarray(x, np.float64)
    ch = 1 if x.ndim == 1 else x.shape[1]
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
    enc = lameenc.Encoder()
    enc.set_bit_rate(bitrate)
    enc.set_in_sample_rate(sr)
    enc.set_channels(ch)
    enc.set_quality(2)
    return bytes(enc.encode(pcm.tobytes()) + enc.flush())


def tone(freq, seconds=1.0, amp=0.5, sr=SR):
    """A sine with 30 ms raised-cosine fades (no onset transient, so long blocks throughout)."""
    t = np.arange(int(seconds * sr)) / sr
    x = amp * np.sin(2 * np.pi * freq * t)
    n = int(0.03 * sr)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    x[:n] *= ramp
    x[-n:] *= ramp[::-1]
    return x


def clicks(seconds=1.5, sr=SR):
    """Quiet low tone plus sharp loud clicks every 0.3 s: LAME must switch to short blocks."""
    rng = np.random.default_rng(7)
    n = int(seconds * sr)
    x = 0.01 * np.sin(2 * np.pi * 220 * np.arange(n) / sr)
    for pos in range(int(0.15 * sr), n - 2000, int(0.3 * sr)):
        burst = rng.standard_normal(300) * np.exp(-np.arange(300) / 40.0)
        x[pos:pos + 300] += 0.9 * burst / np.abs(burst).max()
    return np.stack([x, np.roll(x, 5)], axis=1)


@pytest.fixture(scope="module")
def tone_mp3(tmp_path_factory):
    p = tmp_path_factory.mktemp("tone") / "tone3k.mp3"
    p.write_bytes(lame_encode(tone(3000.0)))
    return p


@pytest.fixture(scope="module")
def clicks_mp3(tmp_path_factory):
    p = tmp_path_factory.mktemp("clicks") / "clicks.mp3"
    p.write_bytes(lame_encode(clicks()))
    return p


def fixture(name) -> Path:
    p = FIXTURES / name
    if not p.exists():
        pytest.skip(f"fixtures/{name} missing (run tools/make_fixtures.py)")
    return p


def meta(name) -> dict:
    return json.loads(fixture(name).with_suffix(".json").read_text())


def run(argv, capsys):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_error_line(err, *needles):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mp3restore: error: "), err
    for n in needles:
        assert n in lines[0], err


def naive_highest(c, g, ch):
    """Highest non-zero line on the long scale, written plainly from the documented layout."""
    x = c.mdct[g, ch]
    if c.block_type[g, ch] != 2:
        nz = np.flatnonzero(x)
        return int(nz[-1]) if len(nz) else -1
    best = -1
    if c.mixed_block[g, ch]:
        nz = np.flatnonzero(x[:36])
        best = int(nz[-1]) if len(nz) else -1
    w = c.short_windows(g, ch)
    lo = 12 if c.mixed_block[g, ch] else 0
    for j in range(lo, 192):
        if np.any(w[:, j] != 0):
            best = max(best, 3 * j + 1)
    return best


# ---------------------------------------------------------------------------
# Band edges and the frequency scale
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("r,sr", list(enumerate((44100, 48000, 32000, 22050, 24000, 16000, 11025, 12000, 8000))))
def test_band_edges_hz(r, sr):
    e = band_edges_hz(sr)
    s = band_edges_hz(sr, short=True)
    assert e.shape == (23,) and s.shape == (14,)
    np.testing.assert_allclose(e, np.array(SFB_LONG[r]) * sr / 1152)
    np.testing.assert_allclose(s, np.array(SFB_SHORT[r]) * sr / 384)
    assert e[0] == 0 and s[0] == 0 and e[-1] == pytest.approx(sr / 2) and s[-1] == pytest.approx(sr / 2)
    assert np.all(np.diff(e) > 0) and np.all(np.diff(s) > 0)
    # line centres lie inside their bands
    k = np.arange(576)
    b = band_of_line(sr, k)
    hz = line_hz(sr)
    assert np.all((e[b] <= hz) & (hz < e[b + 1]))
    assert line_hz(sr, short=True)[5] == pytest.approx(5.5 * sr / 384)


def test_band_edges_hz_accepts_coefficients_and_rejects_bad_rates():
    c = mp3restore.read_coefficients(fixture("stereo_joint_cbr64_22050.mp3"), frames=slice(0, 2))
    np.testing.assert_array_equal(band_edges_hz(c), band_edges_hz(22050))
    with pytest.raises(ValueError):
        band_edges_hz(44000)


# ---------------------------------------------------------------------------
# Mp3File.frames and the views
# ---------------------------------------------------------------------------

def test_tone_lands_in_expected_lines_and_band(tone_mp3):
    """A 3 kHz tone peaks at the line whose centre is within one line width of
    3000 Hz, in the scalefactor band whose edges hold 3000 Hz."""
    f = mp3restore.open(tone_mp3)
    assert f.info.mode == "mono" and f.samplerate == SR
    width = SR / 1152
    edges = band_edges_hz(SR)
    band = int(np.searchsorted(edges, 3000.0, side="right") - 1)
    assert band == 12  # lines 74..89 at 44.1 kHz: 2832.7 .. 3445.3 Hz
    checked = 0
    biggest = max(float(np.abs(c.mdct).max()) for fv in f.frames() for g in fv.granules for c in g)
    for fv in f.frames():
        for g in fv.granules:
            c = g[0]
            if c.block_type != 0 or np.abs(c.mdct).max() < 0.05 * biggest:
                continue  # fades
            k = int(np.argmax(np.abs(c.mdct)))
            assert abs((k + 0.5) * width - 3000.0) <= width, (fv.index, g.granule, k)
            assert band_of_line(SR, k) == band
            energies = [b["energy"] for b in c.bands()]
            assert int(np.argmax(energies)) == band
            checked += 1
    assert checked >= 60  # ~1 s: 38 frames x 2 granules, minus the fades
    # the same through the coefficients API
    coefs = mp3restore.read_coefficients(tone_mp3)
    assert coefs.mdct.shape == (2 * f.info.frames, 1, 576)
    long_loud = (coefs.block_type[:, 0] == 0) & (np.abs(coefs.mdct[:, 0]).max(axis=1) >= 0.05 * biggest)
    peaks = np.argmax(np.abs(coefs.mdct[long_loud, 0]), axis=1)
    assert set(peaks.tolist()) <= {77, 78}


def test_frames_match_read_coefficients_across_chunks():
    path = fixture("stereo_joint_cbr128_44100.mp3")
    c = mp3restore.read_coefficients(path)
    f = mp3restore.open(path)
    views = list(f.frames(chunk_frames=7))  # chunk boundaries inside the stream
    assert [v.index for v in views] == list(range(f.info.frames))
    np.testing.assert_array_equal([v.offset for v in views], c.frame_offset)
    np.testing.assert_array_equal([v.header for v in views], c.frame_header)
    np.testing.assert_array_equal([v.main_data_begin for v in views], c.main_data_begin)
    np.testing.assert_array_equal([v.first_granule for v in views], c.frame_granule[:-1])
    hl = highest_lines(c.mdct, c.block_type, c.mixed_block)
    for v in views:
        for g in v.granules:
            assert g.index == v.first_granule + g.granule
            for ch in g:
                i, k = g.index, ch.channel
                np.testing.assert_array_equal(ch.mdct, c.mdct[i, k])
                np.testing.assert_array_equal(ch.scalefactors, c.scalefactors[i, k])
                assert ch.block_type == c.block_type[i, k]
                assert ch.global_gain == c.global_gain[i, k]
                assert ch.big_values == c.big_values[i, k]
                assert ch.part2_3_length == c.part2_3_length[i, k]
                assert ch.count1 == c.count1[i, k]
                assert ch.last_nonzero == c.last_nonzero[i, k]
                assert ch.table_select == tuple(c.table_select[i, k])
                assert ch.subblock_gain == tuple(c.subblock_gain[i, k])
                assert ch.highest_line == hl[i, k]
    # a slice decodes alone (the reservoir is read back) and gives the same views
    part = list(f.frames(10, 13))
    assert [v.index for v in part] == [10, 11, 12]
    for a, b in zip(part, views[10:13]):
        np.testing.assert_array_equal(a.granules[1][1].mdct, b.granules[1][1].mdct)
    assert [v.index for v in f.frames(-2)] == [f.info.frames - 2, f.info.frames - 1]


def test_views_are_frozen_readonly_and_print_on_one_line():
    f = mp3restore.open(fixture("stereo_joint_cbr128_44100.mp3"))
    v = next(iter(f.frames(3, 4)))
    for obj in (v, v.granules[0], v.granules[0][1]):
        r = repr(obj)
        assert "\n" not in r and len(r) < 400, r
    assert repr(v).startswith("<frame 3 @") and "MPEG-1" in repr(v) and "joint" in repr(v)
    assert "granule 6 (frame 3 gr 0)" in repr(v.granules[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.index = 5
    with pytest.raises(ValueError):
        v.granules[0][0].mdct[0] = 1.0
    assert v.granules[0][0].mdct.dtype == np.float32 and v.granules[0][0].mdct.shape == (576,)
    assert v.crc is False and v.crc_ok is None and v.status == 0 and v.status_names == []


@pytest.mark.parametrize("name,ngr", [
    ("mono_cbr128_44100.mp3", 2),           # forced mono (lame -m m)
    ("stereo_cbr128_44100.mp3", 2),         # simple stereo (-m s)
    ("stereo_forced_ms_cbr128_44100.mp3", 2),
    ("dual_cbr128_44100.mp3", 2),
    ("stereo_joint_cbr64_22050.mp3", 1),    # MPEG-2 LSF
    ("mono_cbr24_12000.mp3", 1),            # MPEG-2.5
])
def test_fixture_modes_and_shapes(name, ngr):
    m = meta(name)
    path = fixture(name)
    f = mp3restore.open(path)
    views = list(f.frames())
    n = m["stats"]["frames"]
    C = m["channels"]
    assert len(views) == n == f.info.frames
    for v in views:
        assert v.mode == m["mode"]
        assert v.version == m["mpeg_version"]
        assert v.samplerate == m["samplerate"]
        assert v.bitrate == m["bitrate_kbps"]
        assert len(v.granules) == ngr
        assert all(len(g) == C for g in v.granules)
        if m["mode"] == "joint" and "forced_ms" in name:
            assert v.ms_stereo and v.stereo_tools == "ms"
    c = mp3restore.read_coefficients(path)
    G = n * ngr
    assert c.mdct.shape == (G, C, 576) and c.mdct.dtype == np.float32
    assert c.scalefactors.shape == (G, C, 39)
    assert c.block_type.shape == (G, C) and c.table_select.shape == (G, C, 3)
    assert c.frame_offset.shape == (n,) and c.frame_granule.shape == (n + 1,)
    # block types agree with the sidecar's statistics (granule-channels)
    counts = {str(k): int(np.sum(c.block_type == k)) for k in range(4)}
    assert counts == {k: m["stats"]["block_types"].get(k, 0) for k in "0123"}


def test_crc_frames_report_crc_ok():
    f = mp3restore.open(fixture("mono_cbr96_44100_crc.mp3"))
    views = list(f.frames(0, 5))
    assert all(v.crc and v.crc_ok is True for v in views)


def test_highest_lines_match_a_plain_loop():
    """Long, short and mixed blocks (the conformance streams l3-si_block / l3-he_mode have mixed ones)."""
    paths = [fixture("stereo_joint_cbr128_44100.mp3"), fixture("mono_cbr40_16000.mp3")]
    paths += [VECTORS / n for n in ("l3-si_block.bit", "l3-he_mode.bit") if (VECTORS / n).exists()]
    kinds = set()
    for p in paths:
        c = mp3restore.read_coefficients(p)
        hl = highest_lines(c.mdct, c.block_type, c.mixed_block)
        for g in range(c.granules):
            for ch in range(c.channels):
                assert hl[g, ch] == naive_highest(c, g, ch), (p.name, g, ch)
                kinds.add((int(c.block_type[g, ch]), int(c.mixed_block[g, ch])))
        # band energies keep the total energy of each granule, whatever the block type
        e = band_energies(c)
        assert e.shape == (c.granules, c.channels, 22)
        np.testing.assert_allclose(e.sum(axis=-1), np.square(c.mdct.astype(np.float64)).sum(axis=-1),
                                   rtol=1e-12, atol=1e-30)
    assert (2, 0) in kinds and (0, 0) in kinds


def test_clicks_give_short_blocks_and_frames_json_reports_them(clicks_mp3, capsys):
    c = mp3restore.read_coefficients(clicks_mp3)
    short = {(int(g), int(ch)) for g, ch in zip(*np.nonzero(c.block_type == 2))}
    assert short, "LAME coded no short block for sharp clicks"
    assert np.any(c.block_type == 1) and np.any(c.block_type == 3)  # start and stop windows around them
    rc, out, err = run(["frames", clicks_mp3, "--json"], capsys)
    assert rc == 0, err
    rows = json.loads(out)
    assert len(rows) == mp3restore.info(clicks_mp3).frames
    assert len(out.strip().splitlines()) == len(rows) + 2  # "[", one object per line, "]"
    reported = {(g["index"], ch["channel"]) for r in rows for g in r["granules"] for ch in g["channels"]
                if ch["block_type"] == 2}
    assert reported == short
    # and the text table shows them in the block-type column
    rc, out, err = run(["frames", clicks_mp3], capsys)
    assert rc == 0, err
    body = out.splitlines()[2:]
    assert len(body) == len(rows)
    frame_with_short = min(g // 2 for g, _ in short)
    cells = body[frame_with_short].split("|")[1:]
    assert any(cell.split()[0] == "2" for cell in cells), body[frame_with_short]


# ---------------------------------------------------------------------------
# Bandwidth
# ---------------------------------------------------------------------------

def test_bandwidth_64kbps_fixture():
    path = fixture("stereo_joint_cbr64_44100.mp3")
    lowpass = meta("stereo_joint_cbr64_44100.mp3")  # sidecar: LAME lowpass ~11 kHz
    assert "11 kHz" in lowpass["description"]
    bw = measure_bandwidth(mp3restore.read_coefficients(path))
    assert 10000 <= bw["p90_hz"] <= 12000, bw
    assert bw["p10_hz"] <= bw["p50_hz"] <= bw["p90_hz"] <= bw["max_hz"]
    assert bw["max_hz"] <= 12000
    assert bw["max_sfb"] == band_of_line(44100, bw["max_line"])
    assert bw["max_hz"] == pytest.approx((bw["max_line"] + 0.5) * 44100 / 1152, abs=0.05)
    secs = math.ceil(mp3restore.info(path).samples_decoded / 44100)
    assert len(bw["per_second_max_hz"]) == len(bw["per_second_p50_hz"]) == secs
    assert max(bw["per_second_max_hz"]) == bw["max_hz"]
    # decoding chunk by chunk from the file gives the same numbers
    assert measure_bandwidth(path, chunk_frames=5) == bw
    assert measure_bandwidth(mp3restore.open(path)) == bw


def test_bandwidth_320kbps_fixture():
    bw = measure_bandwidth(fixture("stereo_joint_cbr320_44100.mp3"))
    assert bw["p90_hz"] > 18000, bw


def test_bandwidth_of_silence_and_of_a_tone(tone_mp3):
    bw = measure_bandwidth(fixture("silence_stereo_joint_cbr128_44100.mp3"))
    assert bw["max_line"] is None and bw["p90_hz"] is None and bw["silent_granules"] == bw["granules"]
    assert set(bw["per_second_max_hz"]) == {None}
    bw = measure_bandwidth(tone_mp3)
    assert bw["p50_hz"] >= (77 + 0.5) * SR / 1152  # the tone's line is coded in (nearly) every granule


def test_info_bandwidth_json_and_text(capsys):
    path = fixture("stereo_joint_cbr64_44100.mp3")
    rc, out, err = run(["info", path, "--json", "--quick"], capsys)
    assert rc == 0, err
    plain = json.loads(out)
    assert "bandwidth" not in plain  # with --quick nothing is decoded and the keys stay as they were
    rc, out, err = run(["info", path, "--json"], capsys)
    assert rc == 0, err
    d = json.loads(out)
    bw = d.pop("bandwidth")
    plan = d.pop("restoration")
    assert d == plain
    assert bw == json.loads(json.dumps(measure_bandwidth(path)))
    assert 10000 <= bw["p90_hz"] <= 12000 and d["lowpass"] == 11000
    assert plan["highband"] and plan["target_hz"] == 20000 and 9000 < plan["cutoff_hz"] <= 11000
    rc, out, err = run(["info", path], capsys)
    assert rc == 0, err
    assert out.startswith(run(["info", path, "--quick"], capsys)[1])
    assert "bandwidth:" in out and "p10 / p50 / p90" in out and "10.37" in out and "restoration:" in out


# ---------------------------------------------------------------------------
# frames / dump
# ---------------------------------------------------------------------------

def test_frames_range(capsys):
    path = fixture("stereo_joint_cbr128_44100.mp3")
    s = mp3restore.open(path)._stream
    rc, out, err = run(["frames", path, "--range", "2:5", "--json"], capsys)
    assert rc == 0, err
    rows = json.loads(out)
    assert [r["index"] for r in rows] == [2, 3, 4]
    assert [r["offset"] for r in rows] == [int(s.offsets[s.first + i]) for i in (2, 3, 4)]
    keys = {"index", "offset", "size", "version", "bitrate", "samplerate", "mode", "mode_extension", "padding",
            "crc", "crc_ok", "main_data_begin", "status", "first_granule", "granules"}
    assert all(set(r) == keys for r in rows)
    ch = rows[0]["granules"][0]["channels"][0]
    assert set(ch) == {"channel", "block_type", "mixed_block", "global_gain", "big_values", "part2_3_length",
                       "last_nonzero", "highest_line"}
    rc, out, err = run(["frames", path, "--range", "2:5"], capsys)
    assert rc == 0, err
    lines = out.rstrip("\n").splitlines()
    assert len(lines) == 2 + 3
    assert [int(ln.split()[0]) for ln in lines[2:]] == [2, 3, 4]
    assert "gr1 ch1" in lines[0] and lines[1].split()[:3] == ["index", "offset", "size"]
    # open ends and a single frame
    assert len(json.loads(run(["frames", path, "--range", "75:", "--json"], capsys)[1])) == 3
    assert [r["index"] for r in json.loads(run(["frames", path, "--range", "7", "--json"], capsys)[1])] == [7]
    assert json.loads(run(["frames", path, "--range", "500:600", "--json"], capsys)[1]) == []


def test_frames_bad_range_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["frames", str(fixture("stereo_joint_cbr128_44100.mp3")), "--range", "a:b"])
    assert e.value.code == 2
    assert "invalid frame range" in capsys.readouterr().err


def _dump(path, frame, capsys, *extra):
    rc, out, err = run(["dump", path, "--frame", frame, "--json", *extra], capsys)
    assert rc == 0, err
    return json.loads(out)


def _check_bands(ch, mdct, short_windows):
    """Widths add up to 576; energies and non-zero counts agree with the coefficients."""
    assert sum(b["width"] for b in ch["bands"]) == 576
    for b in ch["bands"]:
        lines = (mdct if b["window"] is None else short_windows[b["window"]])[b["start"]:b["end"]]
        assert b["width"] == b["end"] - b["start"] == len(lines)
        assert b["nonzero"] == np.count_nonzero(lines)
        e = float(np.sum(np.square(lines.astype(np.float64))))
        if e == 0:
            assert b["energy_db"] is None
        else:
            assert b["energy_db"] == pytest.approx(10 * math.log10(e), abs=1e-3)


def test_dump_json_long_and_short_blocks(capsys):
    path = fixture("stereo_joint_cbr128_44100.mp3")
    c = mp3restore.read_coefficients(path)
    long_frame = next(f for f in range(len(c.frame_offset))
                      if np.all(c.block_type[c.frame_granule[f]:c.frame_granule[f + 1]] == 0))
    short_g, short_c = map(int, np.argwhere(c.block_type == 2)[0])
    short_frame = int(np.searchsorted(c.frame_granule, short_g, side="right") - 1)
    for frame in (long_frame, short_frame):
        d = _dump(path, frame, capsys)
        assert d["frame"]["index"] == frame and d["frame"]["offset"] == int(c.frame_offset[frame])
        assert len(d["granules"]) == 2
        for g in d["granules"]:
            assert len(g["channels"]) == 2
            for ch in g["channels"]:
                i, k = g["index"], ch["channel"]
                assert ch["scalefactors"] == c.scalefactors[i, k].tolist()
                assert ch["block_type"] == c.block_type[i, k] and ch["global_gain"] == c.global_gain[i, k]
                assert ch["table_select"] == c.table_select[i, k].tolist()
                n_bands = 22 if ch["block_type"] != 2 else 39
                assert len(ch["bands"]) == n_bands
                _check_bands(ch, c.mdct[i, k], c.short_windows(i, k))
    # --granule / --channel select, --mdct adds the lines
    d = _dump(path, short_frame, capsys, "--granule", short_g - int(c.frame_granule[short_frame]),
              "--channel", short_c, "--mdct")
    assert len(d["granules"]) == 1 and len(d["granules"][0]["channels"]) == 1
    ch = d["granules"][0]["channels"][0]
    assert ch["block_type"] == 2 and ch["bands"][0]["window"] == 0
    np.testing.assert_array_equal(np.array(ch["mdct"], np.float32), c.mdct[short_g, short_c])


def test_dump_mixed_blocks_cover_576_lines(capsys):
    path = VECTORS / "l3-si_block.bit"
    if not path.exists():
        pytest.skip(f"conformance vectors not found at {VECTORS}")
    c = mp3restore.read_coefficients(path)
    g = int(np.argwhere((c.block_type[:, 0] == 2) & (c.mixed_block[:, 0] == 1))[0][0])
    frame = int(np.searchsorted(c.frame_granule, g, side="right") - 1)
    d = _dump(path, frame, capsys)
    ch = next(x for gr in d["granules"] if gr["index"] == g for x in gr["channels"])
    assert ch["mixed_block"] == 1
    assert [b["window"] for b in ch["bands"][:8]] == [None] * 8  # long bands below line 36 (MPEG-1)
    assert ch["bands"][7]["end"] == 36 and ch["bands"][8]["band"] == 3
    _check_bands(ch, c.mdct[g, 0], c.short_windows(g, 0))


def test_dump_bits_agree_with_the_side_info(capsys):
    path = fixture("mono_cbr96_44100_crc.mp3")
    d = _dump(path, 4, capsys, "--bits")
    bits = {b["name"]: b for b in d["bits"]}
    assert bits["sync"]["value"] == 0x7FF and bits["sync"]["bits"] == "0b" + "1" * 11
    assert bits["protection_bit"]["value"] == 0 and "crc_check" in bits
    assert d["frame"]["crc"] is True and d["frame"]["crc_ok"] is True
    assert bits["main_data_begin"]["value"] == d["frame"]["main_data_begin"]
    assert bits["main_data_begin"]["offset"] == 48 and bits["main_data_begin"]["width"] == 9
    for g in d["granules"]:
        ch = g["channels"][0]
        p = f"gr{g['granule']}.ch0."
        for name in ("part2_3_length", "big_values", "global_gain", "scalefac_compress", "scalefac_scale",
                     "preflag", "count1table_select"):
            assert bits[p + name]["value"] == ch[name], name
        assert bits[p + "window_switching_flag"]["value"] == ch["window_switching"]
        assert int(bits[p + "global_gain"]["bits"], 2) == ch["global_gain"]
    assert bits["ch0.scfsi"]["value"] == d["granules"][1]["channels"][0]["scfsi"]
    # the text form: one line per field, with the bits and the value
    rc, out, err = run(["dump", path, "--frame", 4, "--bits", "--granule", 1], capsys)
    assert rc == 0, err
    line = next(ln for ln in out.splitlines() if "] main_data_begin" in ln)
    v = d["frame"]["main_data_begin"]
    assert line.split("=")[1].strip() == f"0b{v:09b} ({v})"
    assert "gr0.ch0.part2_3_length" not in out and "gr1.ch0.part2_3_length" in out


def test_dump_text(capsys):
    path = fixture("stereo_joint_cbr64_22050.mp3")
    rc, out, err = run(["dump", path, "--frame", 0], capsys)
    assert rc == 0, err
    assert out.startswith("frame 0 of ")
    assert "MPEG-2 Layer III" in out and "granule 0 (stream granule 0), channel 1" in out
    assert "energy_dB" in out and "scalefactors:" in out


@pytest.mark.parametrize("argv,needle", [
    (["--frame", "9999"], "frame 9999 out of range"),
    (["--frame", "-1"], "frame -1 out of range"),
    (["--frame", "0", "--granule", "1"], "no granule 1"),  # LSF: one granule per frame
    (["--frame", "0", "--channel", "2"], "no channel 2"),
])
def test_dump_errors(argv, needle, capsys):
    rc, out, err = run(["dump", fixture("stereo_joint_cbr64_22050.mp3"), *argv], capsys)
    assert rc == 1 and out == ""
    assert_error_line(err, needle)


def test_frames_and_dump_input_errors(tmp_path, capsys):
    txt = tmp_path / "notes.txt"
    txt.write_text("hello\n")
    for argv in (["frames", txt], ["dump", txt, "--frame", "0"], ["export", txt, tmp_path / "x.npz"]):
        rc, out, err = run(argv, capsys)
        assert rc == 1 and out == ""
        assert_error_line(err, "notes.txt", "not MPEG audio")
    rc, out, err = run(["frames", tmp_path / "missing.mp3"], capsys)
    assert rc == 1
    assert_error_line(err, "no such file")


# ---------------------------------------------------------------------------
# export / synthesize
# ---------------------------------------------------------------------------

def test_export_round_trip(tmp_path, capsys):
    src = fixture("stereo_joint_cbr128_44100_crc.mp3")
    out = tmp_path / "coefs.npz"
    rc, _, err = run(["export", src, out], capsys)
    assert rc == 0, err
    loaded = mp3restore.load_coefficients(out)
    direct = mp3restore.read_coefficients(src)
    for f in dataclasses.fields(direct):
        a, b = getattr(direct, f.name), getattr(loaded, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape, f.name
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            assert a == b, f.name
    pcm, sr = mp3restore.synthesize(loaded)
    ref, sr2 = mp3restore.read(src, restore=False)
    assert sr == sr2 and pcm.dtype == ref.dtype and pcm.shape == ref.shape
    assert np.array_equal(pcm, ref)
    # no overwrite without -y, and no temporary files left behind
    before = out.read_bytes()
    rc, _, err = run(["export", src, out], capsys)
    assert rc == 1
    assert_error_line(err, "already exists", "-y")
    assert out.read_bytes() == before
    rc, _, err = run(["export", src, out, "-y"], capsys)
    assert rc == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coefs.npz"]
    # default name: FILE with .npz, next to it
    mp3 = tmp_path / "song.mp3"
    mp3.write_bytes(src.read_bytes())
    rc, _, err = run(["export", mp3], capsys)
    assert rc == 0, err
    assert (tmp_path / "song.npz").exists()


@pytest.mark.parametrize("mp3,meta_", fixture_params())
def test_synthesize_equals_plain_read_fixtures(mp3, meta_):
    pcm, sr = mp3restore.synthesize(mp3restore.read_coefficients(mp3))
    ref, sr2 = mp3restore.read(mp3, restore=False)
    assert sr == sr2 == meta_["samplerate"]
    assert pcm.shape == ref.shape and np.array_equal(pcm, ref)


def _layer3_vectors():
    """The conformance streams (with ``extra/``) that hold Layer III audio frames.

    Layer I/II streams and those with no audio frame at all are left out here,
    at collection, rather than skipped one by one."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)
        for b, _ in vector_files(include_extra=True):
            try:
                from mp3restore.stream import open_stream

                open_stream(b)
            except mp3restore.Mp3RestoreError:
                continue
            except Exception:  # the decoder itself is broken: keep the stream, the test will say so
                pass
            out.append(pytest.param(b, id=b.name))
    return out


VECTOR_PARAMS = _layer3_vectors()


@pytest.mark.skipif(not VECTOR_PARAMS, reason=f"conformance vectors not found at {VECTORS}")
@pytest.mark.parametrize("bit", VECTOR_PARAMS)
def test_synthesize_equals_plain_read_vectors(bit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)  # CRC mismatches of damaged vectors
        try:
            coefs = mp3restore.read_coefficients(bit)
        except mp3restore.Mp3RestoreError:
            pytest.skip("not a decodable Layer III stream (Layer I/II, or no audio frames)")
        pcm, sr = mp3restore.synthesize(coefs)
        ref, sr2 = mp3restore.read(bit, restore=False)
    assert sr == sr2
    assert pcm.shape == ref.shape and np.array_equal(pcm, ref)


@pytest.mark.skipif(not VECTORS.is_dir(), reason=f"conformance vectors not found at {VECTORS}")
def test_layer3_vectors_are_collected():
    assert len(VECTOR_PARAMS) >= 20, [p.id for p in VECTOR_PARAMS]


# ---------------------------------------------------------------------------
# plot
# ---------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    from matplotlib.image import imread

    img = imread(str(path))
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert not np.all(img == img[0, 0]), "blank image"
    assert len(np.unique(img.reshape(-1, img.shape[-1]), axis=0)) > 50  # more than a frame and a line


@pytest.fixture(scope="module")
def ref_pair(tmp_path_factory):
    """An original 16-bit WAV and its MP3 (lameenc 64 kbps: LAME low-passes it)."""
    d = tmp_path_factory.mktemp("ref")
    rng = np.random.default_rng(3)
    n = SR
    x = 0.2 * rng.standard_normal(n) + 0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / SR)
    x = np.clip(x, -0.99, 0.99)
    stereo = np.stack([x, 0.8 * x], axis=1)
    wav = d / "original.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(np.round(stereo * 32767).astype("<i2").tobytes())
    mp3 = d / "coded.mp3"
    mp3.write_bytes(lame_encode(stereo, bitrate=64))
    return wav, mp3


@pytest.mark.parametrize("kind", ["psd", "spectrogram", "bands"])
def test_plot_writes_a_png(kind, tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="plotting needs matplotlib (pip install mp3restore[plot])")
    out = tmp_path / f"{kind}.png"
    rc, _, err = run(["plot", fixture("stereo_joint_cbr64_44100.mp3"), "--kind", kind, "-o", out], capsys)
    assert rc == 0, err
    _check_png(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # written atomically: no leftovers
    rc, _, err = run(["plot", fixture("stereo_joint_cbr64_44100.mp3"), "--kind", kind, "-o", out], capsys)
    assert rc == 1
    assert_error_line(err, "already exists")


def test_plot_psd_with_reference(ref_pair, tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib", reason="plotting needs matplotlib (pip install mp3restore[plot])")
    wav, mp3 = ref_pair
    out = tmp_path / "psd.png"
    rc, _, err = run(["plot", mp3, "--ref", wav, "-o", out], capsys)
    assert rc == 0, err
    _check_png(out)
    # without soundfile the reference is read with the wave module
    from mp3restore.plot import read_reference

    a, sr_a = read_reference(wav)
    monkeypatch.setitem(sys.modules, "soundfile", None)
    b, sr_b = read_reference(wav)
    assert sr_a == sr_b == SR and a.shape == b.shape == (SR, 2)
    np.testing.assert_allclose(a, b, atol=1e-7)
    rc, _, err = run(["plot", mp3, "--ref", wav, "-o", tmp_path / "psd2.png"], capsys)
    assert rc == 0, err
    _check_png(tmp_path / "psd2.png")


def test_plot_default_name_and_bad_reference(ref_pair, tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="plotting needs matplotlib (pip install mp3restore[plot])")
    _, mp3 = ref_pair
    song = tmp_path / "song.mp3"
    song.write_bytes(mp3.read_bytes())
    rc, _, err = run(["plot", song, "--kind", "bands"], capsys)
    assert rc == 0, err
    _check_png(tmp_path / "song.bands.png")
    rc, _, err = run(["plot", song, "--ref", tmp_path / "nothing.wav", "-o", tmp_path / "x.png"], capsys)
    assert rc == 1
    assert_error_line(err, "nothing.wav", "no such file")
    assert not (tmp_path / "x.png").exists()


def test_plot_without_matplotlib(tmp_path, capsys, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = tmp_path / "x.png"
    rc, stdout, err = run(["plot", fixture("stereo_joint_cbr64_44100.mp3"), "-o", out], capsys)
    assert rc == 1 and stdout == ""
    assert err.strip() == "mp3restore: error: plotting needs matplotlib: pip install mp3restore[plot]"
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# Command line registry and help
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("cmd,words", [
    ("frames", ["--range", "--json", "block type"]),
    ("dump", ["--frame", "--granule", "--channel", "--bits", "energy"]),
    ("export", ["npz", "-y"]),
    ("plot", ["--kind", "--ref", "matplotlib"]),
    ("info", ["--quick", "restoration"]),
])
def test_help(cmd, words, capsys):
    from mp3restore import cli

    assert cmd in cli.COMMANDS
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for w in words:
        assert w in text, w
