"""Every numba kernel of the decoder against the slow references of ``naive.py``.

The references are written from the formulas of ISO/IEC 11172-3 / 13818-3;
inputs are random (fixed seeds) or constructed so that each rule of the
standard is exercised (region boundaries, count1 handling, intensity
positions, window shapes, ...).  Real frames of ``fixtures/*.mp3`` are also
parsed by both sides.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import mp3restore
import naive
from mp3restore import frames as fr
from mp3restore.huffman import huffman_decode, lookup_tables, region_bounds
from mp3restore.hybrid import antialias, hybrid_granule, imdct_long, imdct_short
from mp3restore.polyphase import synth_granule
from mp3restore.requantize import reorder, requantize
from mp3restore.scalefactors import read_scalefactors_lsf, read_scalefactors_mpeg1
from mp3restore.sideinfo import (BIG_VALUES, BLOCK_TYPE, COUNT1TABLE_SELECT, FIELD_NAMES, GLOBAL_GAIN,
                                 MIXED_BLOCK, N_FIELDS, PART2_3_LENGTH, PREFLAG, REGION0_COUNT,
                                 REGION1_COUNT, SCALEFAC_COMPRESS, SCALEFAC_SCALE, SCFSI, SUBBLOCK_GAIN,
                                 TABLE_SELECT, WINDOW_SWITCHING, read_side_info)
from mp3restore.stereo import stereo
from mp3restore.tables import bands
from mp3restore.tables.huffman_data import PAIR_TABLES, QUAD_TABLES
from mp3restore.tables.synth_window import D

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SFB_LONG = np.array(bands.SFB_LONG, np.int64)  # as decoder.FrameDecoder passes them
SFB_SHORT = np.array(bands.SFB_SHORT, np.int64)
LUT, ROOTS, WIDTHS, LINBITS = lookup_tables()
NAIVE_HUFF = naive.NaiveHuffman(PAIR_TABLES, QUAD_TABLES)
PAIR_TABLE_IDS = [t for t in range(1, 32) if t not in (4, 14)]


def bits_to_buf(bits: str, pad_bytes: int = 8) -> np.ndarray:
    """Bit string -> uint8 array (zero-filled to a byte, plus ``pad_bytes`` zeros)."""
    n = (len(bits) + 7) // 8
    bits = bits + "0" * (8 * n - len(bits))
    out = np.zeros(n + pad_bytes, np.uint8)
    for k in range(n):
        out[k] = int(bits[8 * k:8 * k + 8], 2)
    return out


def rand_bits(rng, n):
    return "".join("1" if b else "0" for b in rng.integers(0, 2, n))


def g_row(f: dict) -> np.ndarray:
    """A kernel side-info row (int32[N_FIELDS]) from a naive field dict."""
    g = np.zeros(N_FIELDS, np.int32)
    g[PART2_3_LENGTH] = f.get("part2_3_length", 0)
    g[BIG_VALUES] = f.get("big_values", 0)
    g[GLOBAL_GAIN] = f.get("global_gain", 0)
    g[SCALEFAC_COMPRESS] = f.get("scalefac_compress", 0)
    g[WINDOW_SWITCHING] = f.get("window_switching", 0)
    g[BLOCK_TYPE] = f.get("block_type", 0)
    g[MIXED_BLOCK] = f.get("mixed_block", 0)
    ts = list(f.get("table_select", [0, 0, 0])) + [0]
    for i in range(3):
        g[TABLE_SELECT + i] = ts[i]
    for i, v in enumerate(f.get("subblock_gain", [0, 0, 0])):
        g[SUBBLOCK_GAIN + i] = v
    g[REGION0_COUNT] = f.get("region0_count", 0)
    g[REGION1_COUNT] = f.get("region1_count", 0)
    g[PREFLAG] = f.get("preflag", 0)
    g[SCALEFAC_SCALE] = f.get("scalefac_scale", 0)
    g[COUNT1TABLE_SELECT] = f.get("count1table_select", 0)
    return g


# ===========================================================================
# Tables: the package's transcriptions vs the standard's (typed again in naive.py)
# ===========================================================================

def test_band_tables_match_standard():
    assert [list(r) for r in bands.SFB_LONG] == naive.SFB_LONG
    assert [list(r) for r in bands.SFB_SHORT] == naive.SFB_SHORT
    assert list(bands.PRETAB) == naive.PRETAB
    assert [tuple(r) for r in bands.SLEN] == naive.SLEN
    assert [[list(k) for k in t] for t in bands.LSF_NR_OF_SFB] == naive.LSF_NR_OF_SFB


def test_huffman_tables_shape_and_known_codes():
    for t in range(32):
        if naive.PAIR_SIZE[t] is None:
            assert PAIR_TABLES[t] is None
            continue
        if t == 0:
            continue
        size, lb, codes, lengths = PAIR_TABLES[t]
        assert (size, lb) == (naive.PAIR_SIZE[t], naive.PAIR_LINBITS[t]), t
        words = [format(c, "0%db" % l) for c, l in zip(codes, lengths)]
        assert len(set(words)) == size * size
        # prefix-free and complete (Kraft sum exactly 1)
        assert sum(2.0 ** -len(w) for w in words) == 1.0
        s = sorted(words)
        assert not any(s[k + 1].startswith(s[k]) for k in range(len(s) - 1)), t
    # Table B.7, table 1: (0,0) 1, (0,1) 001, (1,0) 01, (1,1) 000
    size, lb, codes, lengths = PAIR_TABLES[1]
    assert [format(c, "0%db" % l) for c, l in zip(codes, lengths)] == ["1", "001", "01", "000"]
    # count1 table A (hcod of vwxy = 0..15) and table B (4-bit complement)
    a = ["1", "0101", "0100", "00101", "0110", "000101", "00100", "000100",
         "0111", "00011", "00110", "000000", "00111", "000010", "000011", "000001"]
    assert [format(c, "0%db" % l) for c, l in zip(*QUAD_TABLES[0])] == a
    assert [format(c, "0%db" % l) for c, l in zip(*QUAD_TABLES[1])] == [format(15 - v, "04b") for v in range(16)]


def test_synthesis_window_peak():
    # Table B.3: 512 coefficients, the largest D[256] = 1.144989014
    assert len(D) == 512 and D[0] == 0.0
    assert D[256] == pytest.approx(1.144989014, abs=1e-9) and max(D) == D[256]


# ===========================================================================
# Huffman decoding
# ===========================================================================

def _run_huffman(bits, start, end, f, sr_idx):
    buf = bits_to_buf(bits)
    out = np.full(576, 12345, np.int32)
    count1, last, overrun = huffman_decode(buf, start, end, g_row(f), SFB_LONG[sr_idx], SFB_SHORT[sr_idx],
                                           sr_idx, LUT, ROOTS, WIDTHS, LINBITS, out)
    return out, int(count1), int(last), bool(overrun)


def _check_huffman(bits, start, end, f, sr_idx, expect_ix=None, expect_count1=None):
    ref_ix, ref_c1, ref_last, ref_over = NAIVE_HUFF.decode(bits, start, end, f, sr_idx)
    if expect_ix is not None:  # the naive decoder itself must invert the encoder
        assert ref_ix == list(expect_ix)
    if expect_count1 is not None:
        assert ref_c1 == expect_count1
    out, c1, last, over = _run_huffman(bits, start, end, f, sr_idx)
    bad = np.nonzero(out != np.array(ref_ix))[0]
    assert bad.size == 0, f"lines {bad[:10]}: kernel {out[bad[:10]]} naive {np.array(ref_ix)[bad[:10]]}"
    assert (c1, last, over) == (ref_c1, ref_last, ref_over)
    return ref_ix, ref_c1


def _rand_value(rng, t):
    """A random |value| codable by pair table t (escapes with linbits for 16..31)."""
    size, lb = naive.PAIR_SIZE[t], naive.PAIR_LINBITS[t]
    r = rng.random()
    if lb and r < 0.15:
        return 15 + int(rng.integers(0, 2 ** lb))
    if r < 0.4:
        return 0
    return int(rng.integers(0, min(size, 16)))


@pytest.mark.parametrize("t", PAIR_TABLE_IDS)
def test_huffman_every_codeword(t):
    """Every (x, y) of pair table t once, with random signs and linbits, then count1 quadruples."""
    rng = np.random.default_rng(100 + t)
    size, lb = naive.PAIR_SIZE[t], naive.PAIR_LINBITS[t]
    pairs = [(x, y) for x in range(size) for y in range(size)]
    order = rng.permutation(len(pairs))
    ix = np.zeros(576, np.int64)
    for n, k in enumerate(order):
        for j, v in enumerate(pairs[k]):
            if lb and v == 15:
                v += int(rng.integers(0, 2 ** lb))
            ix[2 * n + j] = v * (-1 if rng.random() < 0.5 else 1)
    bv = len(pairs)
    n_quads = (576 - 2 * bv) // 4
    ix[2 * bv:2 * bv + 4 * n_quads] = rng.integers(-1, 2, 4 * n_quads)
    f = dict(big_values=bv, table_select=[t, t, t], region0_count=15, region1_count=7,
             count1table_select=int(t % 2), window_switching=0)
    bits = naive.encode_granule(PAIR_TABLES, QUAD_TABLES, f, 0, ix, n_quads)
    start = int(rng.integers(0, 8))
    bits = rand_bits(rng, start) + bits + rand_bits(rng, 30)
    end = len(bits) - 30
    _check_huffman(bits, start, end, f, 0, expect_ix=ix, expect_count1=n_quads)


def _random_granule(rng, sr_idx, ws=None):
    f = dict(count1table_select=int(rng.integers(0, 2)))
    ws = rng.random() < 0.35 if ws is None else ws
    f["window_switching"] = int(ws)
    tables = [0, 0, 0] + PAIR_TABLE_IDS
    if ws:
        f["block_type"] = int(rng.integers(1, 4))
        f["mixed_block"] = int(f["block_type"] == 2 and rng.random() < 0.4)
        f["table_select"] = [int(rng.choice(tables)), int(rng.choice(tables)), 0]
    else:
        f["table_select"] = [int(rng.choice(tables)) for _ in range(3)]
        f["region0_count"] = int(rng.integers(0, 16))
        f["region1_count"] = int(rng.integers(0, 8))
    f["big_values"] = int(rng.integers(0, 289))
    r1, r2 = naive.region_bounds(f, sr_idx)
    ix = np.zeros(576, np.int64)
    for i in range(0, 2 * f["big_values"], 2):
        t = f["table_select"][0 if i < r1 else (1 if i < r2 else 2)]
        if t:
            for j in range(2):
                ix[i + j] = _rand_value(rng, t) * (-1 if rng.random() < 0.5 else 1)
    max_q = (576 - 2 * f["big_values"]) // 4
    n_quads = int(rng.integers(0, max_q + 1)) if rng.random() < 0.8 else 0
    p_one = rng.random()
    q = rng.random(4 * n_quads) < p_one
    ix[2 * f["big_values"]:2 * f["big_values"] + 4 * n_quads] = q * np.where(rng.random(4 * n_quads) < 0.5, -1, 1)
    return f, ix, n_quads


@pytest.mark.parametrize("sr_idx", range(9))
def test_huffman_random_granules(sr_idx):
    """Random side info (long blocks with region counts, window switching for MPEG-1/2),
    random tables including 0 and the linbits tables; exact part2_3_length."""
    rng = np.random.default_rng(200 + sr_idx)
    for trial in range(25):
        f, ix, n_quads = _random_granule(rng, sr_idx, ws=False if sr_idx >= 6 else None)
        body = naive.encode_granule(PAIR_TABLES, QUAD_TABLES, f, sr_idx, ix, n_quads)
        start = int(rng.integers(0, 64))
        bits = rand_bits(rng, start) + body + rand_bits(rng, 40)
        _check_huffman(bits, start, start + len(body), f, sr_idx, expect_ix=ix, expect_count1=n_quads)


def test_huffman_count1_overrun_discarded():
    """A count1 quadruple that needs bits past part2_3_length is dropped (and the
    earlier ones kept), for both count1 tables."""
    rng = np.random.default_rng(300)
    checked = 0
    for trial in range(60):
        f, ix, n_quads = _random_granule(rng, 0, ws=False)
        if n_quads < 2:
            continue
        # make the last quadruple carry at least one sign bit, so it is > 1 bit long
        last = 2 * f["big_values"] + 4 * (n_quads - 1)
        ix[last] = 1
        body = naive.encode_granule(PAIR_TABLES, QUAD_TABLES, f, 0, ix, n_quads)
        tail = naive.quad_code(QUAD_TABLES, f["count1table_select"], [int(v) for v in ix[last:last + 4]])
        cut = int(rng.integers(1, len(tail)))  # end falls inside the last quadruple
        end = len(body) - cut
        bits = body + rand_bits(rng, 40)
        expect = ix.copy()
        expect[last:last + 4] = 0
        ref_ix, c1 = _check_huffman(bits, 0, end, f, 0)
        assert c1 == n_quads - 1 and ref_ix == list(expect)
        checked += 1
    assert checked > 20


def test_huffman_count1_stops_at_576_and_stuffing():
    """big_values + count1 fill all 576 lines; bits left before part2_3_length
    (stuffing) are not decoded; and extra junk bits inside part2_3_length are
    decoded as quadruples up to line 576 exactly as the naive reader does."""
    rng = np.random.default_rng(301)
    for trial in range(20):
        f, ix, _ = _random_granule(rng, int(rng.integers(0, 3)), ws=False)
        f["big_values"] = int(rng.integers(0, 100)) * 2  # 4 | 2*bv
        ix[2 * f["big_values"]:] = 0
        # re-draw big_values lines with the new count
        r1, r2 = naive.region_bounds(f, 0)
        for i in range(2 * f["big_values"]):
            t = f["table_select"][0 if i < r1 else (1 if i < r2 else 2)]
            ix[i] = _rand_value(rng, t) * (1 if rng.random() < 0.5 else -1) if t else 0
        n_quads = (576 - 2 * f["big_values"]) // 4
        ix[2 * f["big_values"]:] = rng.integers(-1, 2, 576 - 2 * f["big_values"])
        body = naive.encode_granule(PAIR_TABLES, QUAD_TABLES, f, 0, ix, n_quads)
        extra = int(rng.integers(1, 50))
        bits = body + rand_bits(rng, extra + 40)
        ref_ix, c1 = _check_huffman(bits, 0, len(body) + extra, f, 0, expect_ix=ix)
        assert c1 == n_quads
    # junk inside part2_3_length after fewer quadruples: both decode it the same way
    for trial in range(40):
        f, ix, n_quads = _random_granule(rng, 0, ws=False)
        body = naive.encode_granule(PAIR_TABLES, QUAD_TABLES, f, 0, ix, n_quads)
        extra = int(rng.integers(1, 60))
        bits = body + rand_bits(rng, extra + 40)
        _check_huffman(bits, 0, len(body) + extra, f, 0)


def test_huffman_big_values_overrun_flag():
    rng = np.random.default_rng(302)
    seen = 0
    for trial in range(40):
        f, ix, _ = _random_granule(rng, 0, ws=False)
        if not any(ix[:2 * f["big_values"]]):
            continue
        body = naive.encode_granule(PAIR_TABLES, QUAD_TABLES, f, 0, ix, 0)
        end = int(rng.integers(0, len(body)))  # part2_3_length too short for big_values
        ref = NAIVE_HUFF.decode(body + "0" * 40, 0, end, f, 0)
        assert ref[3]
        _check_huffman(body + rand_bits(rng, 40), 0, end, f, 0)
        seen += 1
    assert seen > 20


def test_region_bounds():
    """region_bounds vs 2.4.2.7 for every region0/region1 count (long blocks) and the
    implicit regions of window switching (MPEG-1 and MPEG-2), cut at 2*big_values."""
    for sr_idx in range(9):
        for r0 in range(16):
            for r1 in range(8):
                for bv in (0, 1, 17, 100, 200, 288):
                    f = dict(window_switching=0, region0_count=r0, region1_count=r1, big_values=bv)
                    got = tuple(int(v) for v in region_bounds(g_row(f), SFB_LONG[sr_idx], SFB_SHORT[sr_idx], sr_idx))
                    assert got == naive.region_bounds(f, sr_idx), (sr_idx, r0, r1, bv)
    for sr_idx in range(6):
        for bt in (1, 2, 3):
            for mixed in ((0, 1) if bt == 2 else (0,)):
                for bv in (0, 5, 18, 27, 40, 288):
                    f = dict(window_switching=1, block_type=bt, mixed_block=mixed, big_values=bv)
                    g = g_row(f)
                    g[REGION0_COUNT] = 8 if (bt == 2 and not mixed) else 7
                    g[REGION1_COUNT] = 36
                    got = tuple(int(v) for v in region_bounds(g, SFB_LONG[sr_idx], SFB_SHORT[sr_idx], sr_idx))
                    assert got == naive.region_bounds(f, sr_idx), (sr_idx, bt, mixed, bv)


# ===========================================================================
# Requantization and reordering
# ===========================================================================

def _random_ix(rng, nlines):
    ix = np.zeros(576, np.int32)
    k = rng.random(nlines)
    vals = np.where(k < 0.3, 0, np.where(k < 0.9, rng.integers(1, 16, nlines), rng.integers(16, 8207, nlines)))
    ix[:nlines] = vals * np.where(rng.random(nlines) < 0.5, -1, 1)
    return ix


def _requant_case(rng, sr_idx, kind):
    f = dict(global_gain=int(rng.integers(0, 256)), scalefac_scale=int(rng.integers(0, 2)),
             preflag=int(rng.integers(0, 2)), subblock_gain=[int(v) for v in rng.integers(0, 8, 3)],
             window_switching=int(kind != "long"), block_type=2 if kind != "long" else 0,
             mixed_block=int(kind == "mixed"))
    if kind == "long" and rng.random() < 0.3:
        f["window_switching"], f["block_type"] = 1, int(rng.choice([1, 3]))
    sf = np.zeros(39, np.int32)
    sf_long = [0] * 22
    sf_short = [[0, 0, 0] for _ in range(13)]
    if kind == "long":
        for b in range(21):
            sf_long[b] = sf[b] = int(rng.integers(0, 16))
    elif kind == "short":
        for s in range(12):
            for w in range(3):
                sf_short[s][w] = sf[3 * s + w] = int(rng.integers(0, 16))
    else:
        nl = naive.n_long_mixed(sr_idx)
        for b in range(nl):
            sf_long[b] = sf[b] = int(rng.integers(0, 16))
        for s in range(3, 12):
            for w in range(3):
                sf_short[s][w] = sf[nl + (s - 3) * 3 + w] = int(rng.integers(0, 16))
    return f, sf, sf_long, sf_short


@pytest.mark.parametrize("kind", ["long", "short", "mixed"])
def test_requantize(kind):
    rng = np.random.default_rng({"long": 400, "short": 401, "mixed": 402}[kind])
    srs = range(8) if kind == "mixed" else range(9)  # 8 kHz mixed blocks: no standard
    for sr_idx in srs:
        for trial in range(4):
            f, sf, sf_long, sf_short = _requant_case(rng, sr_idx, kind)
            nlines = 576 if trial == 0 else int(rng.integers(0, 577))
            ix = _random_ix(rng, nlines)
            xr = np.full(576, np.nan)
            requantize(ix, nlines, g_row(f), sf, SFB_LONG[sr_idx], SFB_SHORT[sr_idx], sr_idx, xr)
            ref = naive.requantize(ix, f, sf_long, sf_short, sr_idx)
            np.testing.assert_allclose(xr, ref, rtol=1e-12, atol=0,
                                       err_msg=f"sr_idx={sr_idx} nlines={nlines} f={f}")


@pytest.mark.parametrize("kind", ["long", "short", "mixed"])
def test_reorder(kind):
    rng = np.random.default_rng(410)
    for sr_idx in range(8 if kind == "mixed" else 9):
        f = dict(window_switching=int(kind != "long"), block_type=2 if kind != "long" else 0,
                 mixed_block=int(kind == "mixed"))
        xr = rng.standard_normal(576)
        out = np.full(576, np.nan, np.float32)
        reorder(g_row(f), xr, SFB_SHORT[sr_idx], out)
        ref = naive.reorder(xr, kind != "long", kind == "mixed", sr_idx)
        np.testing.assert_array_equal(out, ref.astype(np.float32))


# ===========================================================================
# Stereo
# ===========================================================================

def _stereo_input(rng, top_right):
    xr = rng.standard_normal((2, 576))
    xr[1, top_right:] = 0.0
    if top_right:
        xr[1, top_right - 1] = 0.5  # the highest non-zero right line is top_right - 1
    xr[0, int(rng.integers(0, 577)):] = 0.0
    return xr


def _nz(x):
    k = np.nonzero(x)[0]
    return int(k[-1]) + 1 if k.size else 0


@pytest.mark.parametrize("lsf", [False, True])
def test_stereo_long(lsf):
    """Long blocks: mid/side, intensity (MPEG-1 tan rule / LSF io rule), illegal
    positions, intensity starting in the band above the right channel's last
    non-zero line, band 21 taking band 20's position."""
    rng = np.random.default_rng(500 + lsf)
    srs = range(3, 9) if lsf else range(3)
    for sr_idx in srs:
        for trial in range(30):
            mode_ext = int(rng.integers(0, 4))
            top = int(rng.choice([0, int(rng.integers(1, 577)), int(rng.choice(naive.SFB_LONG[sr_idx][1:]))]))
            xr = _stereo_input(rng, top)
            sfc = int(rng.integers(0, 512))
            if lsf:
                # band -> partition of the 13818-3 table for long blocks
                slen, tab, _, iscale = naive.lsf_slen(sfc, True)
                parts = naive.LSF_NR_OF_SFB[tab][0]
                illegal = []
                for p in range(4):
                    illegal += [2 ** slen[p] - 1] * parts[p]
                illegal += [-1] * (39 - len(illegal))
                pos = [int(rng.integers(0, m + 1)) if m >= 0 else 0 for m in illegal]
            else:
                iscale = 0
                illegal = [7] * 21 + [-1] * 18
                pos = [int(rng.integers(0, 8)) for _ in range(21)] + [0] * 18
            sf1 = np.array(pos, np.int32)
            is_max = np.array(illegal, np.int32)
            g1 = g_row(dict(scalefac_compress=sfc if lsf else int(rng.integers(0, 16))))
            ref_l, ref_r = naive.stereo_long(xr[0], xr[1], mode_ext & 2, mode_ext & 1, lsf, pos, illegal,
                                             sfc & 1 if lsf else 0, sr_idx)
            got = xr.copy()
            stereo(got, g1, sf1, is_max, mode_ext, lsf, SFB_LONG[sr_idx], SFB_SHORT[sr_idx], sr_idx,
                   _nz(xr[0]), _nz(xr[1]))
            np.testing.assert_allclose(got[0], ref_l, rtol=1e-13, atol=1e-15, err_msg=f"L sr={sr_idx} t={trial}")
            np.testing.assert_allclose(got[1], ref_r, rtol=1e-13, atol=1e-15, err_msg=f"R sr={sr_idx} t={trial}")


@pytest.mark.parametrize("lsf", [False, True])
def test_stereo_short(lsf):
    """Pure short blocks: intensity decided window by window, sfb 12 takes sfb 11's position."""
    rng = np.random.default_rng(510 + lsf)
    srs = range(3, 8) if lsf else range(3)
    for sr_idx in srs:
        S = naive.SFB_SHORT[sr_idx]
        for trial in range(20):
            mode_ext = int(rng.choice([1, 3]))
            xr = rng.standard_normal((2, 576))
            for w in range(3):  # right channel: zero above a random band per window
                top = int(rng.integers(0, 14))
                for s in range(top, 13):
                    width = S[s + 1] - S[s]
                    lo = 3 * S[s] + w * width
                    xr[1, lo:lo + width] = 0.0
            sfc = int(rng.integers(0, 512)) if lsf else int(rng.integers(0, 16))
            if lsf:
                slen, tab, _, _ = naive.lsf_slen(sfc, True)
                parts = naive.LSF_NR_OF_SFB[tab][1]
                flat = []
                for p in range(4):
                    flat += [2 ** slen[p] - 1] * parts[p]
            else:
                flat = [7] * 36
            pos_flat = [int(rng.integers(0, m + 1)) for m in flat]
            illegal = [[flat[3 * s + w] for w in range(3)] for s in range(12)]
            pos = [[pos_flat[3 * s + w] for w in range(3)] for s in range(12)]
            sf1 = np.array(pos_flat + [0] * 3, np.int32)
            is_max = np.array(flat + [-1] * 3, np.int32)
            g1 = g_row(dict(scalefac_compress=sfc, window_switching=1, block_type=2))
            ref_l, ref_r = naive.stereo_short(xr[0], xr[1], mode_ext & 2, lsf, pos, illegal,
                                              sfc & 1 if lsf else 0, sr_idx)
            got = xr.copy()
            stereo(got, g1, sf1, is_max, mode_ext, lsf, SFB_LONG[sr_idx], SFB_SHORT[sr_idx], sr_idx,
                   _nz(xr[0]), _nz(xr[1]))
            np.testing.assert_allclose(got[0], ref_l, rtol=1e-13, atol=1e-15, err_msg=f"L sr={sr_idx} t={trial}")
            np.testing.assert_allclose(got[1], ref_r, rtol=1e-13, atol=1e-15, err_msg=f"R sr={sr_idx} t={trial}")


@pytest.mark.parametrize("lsf", [False, True])
def test_stereo_mixed(lsf):
    """Mixed blocks: short windows decide alone; the long part takes intensity
    only when no window has a non-zero short line."""
    rng = np.random.default_rng(520 + lsf)
    for sr_idx in (range(3, 8) if lsf else range(3)):
        S = naive.SFB_SHORT[sr_idx]
        nl = naive.n_long_mixed(sr_idx)
        for trial in range(20):
            mode_ext = int(rng.choice([1, 3]))
            xr = rng.standard_normal((2, 576))
            quiet_short = rng.random() < 0.4
            for w in range(3):
                top = 3 if quiet_short else int(rng.integers(3, 14))
                for s_ in range(top, 13):
                    width = S[s_ + 1] - S[s_]
                    lo = 3 * S[s_] + w * width
                    xr[1, lo:lo + width] = 0.0
            if quiet_short:
                xr[1, int(rng.integers(0, 3 * S[3] + 1)):3 * S[3]] = 0.0
            sfc = int(rng.integers(0, 512)) if lsf else int(rng.integers(0, 16))
            if lsf:
                slen, tab, _, _ = naive.lsf_slen(sfc, True)
                parts = naive.LSF_NR_OF_SFB[tab][2]
                flat = []
                for p in range(4):
                    flat += [2 ** slen[p] - 1] * parts[p]
            else:
                flat = [7] * (nl + 27)
            pos_flat = [int(rng.integers(0, m + 1)) for m in flat]
            sf_long = pos_flat[:nl] + [0] * (22 - nl)
            il_long = flat[:nl] + [-1] * (22 - nl)
            sf_short = [[0, 0, 0] for _ in range(13)]
            il_short = [[-1, -1, -1] for _ in range(13)]
            for s_ in range(3, 12):
                for w in range(3):
                    sf_short[s_][w] = pos_flat[nl + (s_ - 3) * 3 + w]
                    il_short[s_][w] = flat[nl + (s_ - 3) * 3 + w]
            sf1 = np.array(pos_flat + [0] * (39 - len(flat)), np.int32)
            is_max = np.array(flat + [-1] * (39 - len(flat)), np.int32)
            g1 = g_row(dict(scalefac_compress=sfc, window_switching=1, block_type=2, mixed_block=1))
            ref_l, ref_r = naive.stereo_mixed(xr[0], xr[1], mode_ext & 2, lsf, sf_long, il_long, sf_short,
                                              il_short, sfc & 1 if lsf else 0, sr_idx)
            got = xr.copy()
            stereo(got, g1, sf1, is_max, mode_ext, lsf, SFB_LONG[sr_idx], SFB_SHORT[sr_idx], sr_idx,
                   _nz(xr[0]), _nz(xr[1]))
            np.testing.assert_allclose(got[0], ref_l, rtol=1e-13, atol=1e-15, err_msg=f"L sr={sr_idx} t={trial}")
            np.testing.assert_allclose(got[1], ref_r, rtol=1e-13, atol=1e-15, err_msg=f"R sr={sr_idx} t={trial}")


def test_stereo_intensity_factors():
    """The two intensity rules on a constant input, position by position."""
    for p in range(7):  # MPEG-1: is_ratio = tan(p pi / 12); L = x r/(1+r), R = x/(1+r)
        xr = np.zeros((2, 576))
        xr[0, :] = 1.0
        sf1 = np.full(39, p, np.int32)
        is_max = np.full(39, 7, np.int32)
        stereo(xr, g_row({}), sf1, is_max, 1, False, SFB_LONG[0], SFB_SHORT[0], 0, 576, 0)
        r = math.tan(p * math.pi / 12)
        kl, kr = (1.0, 0.0) if p == 6 else (r / (1 + r), 1 / (1 + r))
        assert np.allclose(xr[0], kl, rtol=1e-14, atol=1e-15) and np.allclose(xr[1], kr, rtol=1e-14, atol=1e-15)
    for iscale, io in ((0, 2 ** -0.25), (1, 2 ** -0.5)):  # LSF: 13818-3 2.4.3.2
        for p in range(31):
            xr = np.zeros((2, 576))
            xr[0, :] = 1.0
            sf1 = np.full(39, p, np.int32)
            is_max = np.full(39, 31, np.int32)
            stereo(xr, g_row(dict(scalefac_compress=iscale)), sf1, is_max, 1, True, SFB_LONG[3],
                   SFB_SHORT[3], 3, 576, 0)
            kl, kr = (1.0, 1.0) if p == 0 else ((io ** ((p + 1) // 2), 1.0) if p % 2 else (1.0, io ** (p // 2)))
            assert np.allclose(xr[0], kl, rtol=1e-14) and np.allclose(xr[1], kr, rtol=1e-14), (iscale, p)


# ===========================================================================
# Hybrid filterbank
# ===========================================================================

def test_antialias():
    rng = np.random.default_rng(600)
    for mixed in (False, True):
        x = rng.standard_normal(576)
        got = x.copy()
        antialias(got, 32, mixed)
        np.testing.assert_allclose(got, naive.antialias(x, 2 if mixed else 32), rtol=1e-14, atol=1e-15)


def test_imdct_blocks():
    rng = np.random.default_rng(601)
    x = rng.standard_normal(576)
    out = np.zeros(36)
    for bt in (0, 1, 3):
        for sb in (0, 7, 31):
            imdct_long(x, 18 * sb, bt, out)
            np.testing.assert_allclose(out, naive.imdct_block(x[18 * sb:18 * sb + 18], bt), rtol=1e-11, atol=1e-12)
    for sb in (0, 13, 31):
        imdct_short(x, 18 * sb, out)
        np.testing.assert_allclose(out, naive.imdct_block(x[18 * sb:18 * sb + 18], 2), rtol=1e-11, atol=1e-12)


def test_hybrid_granules_with_overlap():
    """A sequence of granules (block types 0, 1, 2, 2 mixed, 3, 0, ...) with partial
    spectra: alias reduction, IMDCT, overlap-add across granules, frequency inversion."""
    rng = np.random.default_rng(602)
    seq = [(0, 0), (1, 0), (2, 0), (2, 1), (3, 0), (0, 0), (2, 1), (2, 0), (3, 0), (0, 0), (1, 1), (2, 1),
           (3, 1), (0, 0)]
    overlap = np.zeros(576)
    ref_overlap = np.zeros(576)
    x, y, out36 = np.zeros(576), np.zeros(576), np.zeros(36)
    for n, (bt, mixed) in enumerate(seq):
        src = rng.standard_normal(576).astype(np.float32)
        src[int(rng.choice([0, 1, 17, 18, 35, 100, 300, 575, 576])):] = 0.0
        hybrid_granule(src, bt, mixed, overlap, x, y, out36)
        ref_y, ref_overlap = naive.hybrid(src.astype(np.float64), bt, mixed, ref_overlap)
        scale = max(1.0, np.abs(ref_y).max())
        np.testing.assert_allclose(y, ref_y, rtol=0, atol=1e-12 * scale, err_msg=f"granule {n} bt={bt}")
        np.testing.assert_allclose(overlap, ref_overlap, rtol=0, atol=1e-12 * scale)


# ===========================================================================
# Polyphase synthesis
# ===========================================================================

@pytest.mark.parametrize("stride,offset", [(1, 0), (2, 1)])
def test_synthesis_vs_standard_flowchart(stride, offset):
    rng = np.random.default_rng(700 + stride)
    ring = np.zeros((16, 64))
    newest = 0
    ref = naive.Synthesis(D)
    s = np.zeros(32)
    for g in range(3):
        y = rng.standard_normal(576) * 0.1
        buf = np.full(576 * stride, np.nan)
        newest = synth_granule(y, ring, newest, buf, offset, stride, s)
        got = buf[offset::stride]
        exp = ref.granule(y)
        np.testing.assert_allclose(got, exp, rtol=1e-9, atol=1e-9 * np.abs(exp).max())
        if stride == 2:
            assert np.isnan(buf[1 - offset::stride]).all()  # other channel untouched


# ===========================================================================
# Side information
# ===========================================================================

def _check_side_info(data, bitpos, lsf, nch):
    mdb, scfsi, grs, nbits = naive.parse_side_info(data, bitpos, lsf, nch)
    buf = np.zeros(len(data) + 8, np.uint8)
    buf[:len(data)] = np.frombuffer(bytes(data), np.uint8)
    gi = np.full((2, 2, N_FIELDS), -99, np.int32)
    got_mdb, ok = read_side_info(buf, bitpos, lsf, nch, gi, 0)
    assert got_mdb == mdb
    expect_ok = True
    for gr, chs in enumerate(grs):
        for ch, d in enumerate(chs):
            e = dict(d)
            if d["big_values"] > 288:
                expect_ok = False
                e["big_values"] = 288
            if d["window_switching"]:
                if d["block_type"] == 0:
                    expect_ok = False
                e["table_select"] = d["table_select"] + [0]
                e["region0_count"] = 8 if (d["block_type"] == 2 and not d["mixed_block"]) else 7
                e["region1_count"] = 36
            else:
                e.update(block_type=0, mixed_block=0, subblock_gain=[0, 0, 0])
            if lsf:
                e["preflag"] = 0
            exp = g_row(e)
            if not lsf:
                exp[SCFSI] = scfsi[ch] if gr == 1 else 0
            n = SCFSI + 1 if not lsf else SCFSI
            got = gi[gr, ch, :n]
            bad = [FIELD_NAMES[k] for k in range(n) if got[k] != exp[k]]
            assert not bad, f"gr {gr} ch {ch}: {[(b, got[FIELD_NAMES.index(b)], exp[FIELD_NAMES.index(b)]) for b in bad]}"
    assert bool(ok) == expect_ok
    return grs


@pytest.mark.parametrize("lsf", [False, True])
@pytest.mark.parametrize("nch", [1, 2])
def test_side_info_random(lsf, nch):
    rng = np.random.default_rng(800 + 2 * lsf + nch)
    for trial in range(60):
        data = rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
        _check_side_info(data, int(rng.integers(0, 16)), lsf, nch)


# ===========================================================================
# Scalefactors
# ===========================================================================

def test_scalefactors_mpeg1_random():
    rng = np.random.default_rng(900)
    for trial in range(300):
        data = rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
        buf = np.zeros(48, np.uint8)
        buf[:40] = np.frombuffer(data, np.uint8)
        sfc = int(rng.integers(0, 16))
        ws = int(rng.random() < 0.5)
        bt = int(rng.integers(1, 4)) if ws else 0
        mixed = int(bt == 2 and rng.random() < 0.5)
        gr = int(rng.integers(0, 2))
        scfsi = int(rng.integers(0, 16))
        sf_gr0 = rng.integers(0, 16, 39).astype(np.int32)
        bitpos = int(rng.integers(0, 20))
        long, short, nbits = naive.parse_scalefactors_mpeg1(data, bitpos, sfc, ws, bt, mixed, gr, scfsi,
                                                            [int(v) for v in sf_gr0])
        exp = naive.sf_layout(long, short, 0)
        n_sent = len(long) + len(short)
        g = g_row(dict(scalefac_compress=sfc, window_switching=ws, block_type=bt, mixed_block=mixed))
        g[SCFSI] = scfsi
        sf = np.full(39, -5, np.int32)
        is_max = np.full(39, -5, np.int32)
        pos = read_scalefactors_mpeg1(buf, bitpos, g, gr, sf, sf_gr0, is_max)
        assert pos - bitpos == nbits
        assert list(sf) == exp, (sfc, ws, bt, mixed, gr, scfsi)
        assert list(is_max) == [7] * n_sent + [-1] * (39 - n_sent)


def test_scalefactors_lsf_random():
    rng = np.random.default_rng(901)
    for trial in range(400):
        data = rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
        buf = np.zeros(48, np.uint8)
        buf[:40] = np.frombuffer(data, np.uint8)
        sfc = int(rng.integers(0, 512))
        ws = int(rng.random() < 0.5)
        bt = int(rng.integers(1, 4)) if ws else 0
        mixed = int(bt == 2 and rng.random() < 0.5)
        ir = bool(rng.random() < 0.5)
        bitpos = int(rng.integers(0, 20))
        vals, illegal, preflag, nbits = naive.parse_scalefactors_lsf(data, bitpos, sfc, ws, bt, mixed, ir)
        g = g_row(dict(scalefac_compress=sfc, window_switching=ws, block_type=bt, mixed_block=mixed,
                       preflag=1 - (sfc >= 500)))
        sf = np.full(39, -5, np.int32)
        is_max = np.full(39, -5, np.int32)
        pos = read_scalefactors_lsf(buf, bitpos, g, ir, sf, is_max)
        assert pos - bitpos == nbits
        n = len(vals)
        assert list(sf) == vals + [0] * (39 - n), (sfc, ws, bt, mixed, ir)
        assert list(is_max) == illegal + [-1] * (39 - n)
        assert g[PREFLAG] == preflag


# ===========================================================================
# Frame headers and frame scanning
# ===========================================================================

def _all_headers():
    for version in (0, 1, 2):
        for sr in range(3):
            for br in range(1, 15):
                for pad in (0, 1):
                    for mode in range(4):
                        yield naive.make_header(version, sr, br, pad, mode, (br + pad) % 4, crc=bool(br % 2))


def test_header_helpers():
    for hb in _all_headers():
        h = int.from_bytes(hb, "big")
        p = naive.parse_header(hb)
        assert p is not None and fr.hdr_valid(h)
        got = dict(version=fr.hdr_version(h), lsf=bool(fr.hdr_lsf(h)), sr_idx=fr.hdr_sr_index(h),
                   bitrate=fr.hdr_bitrate(h), crc=bool(fr.hdr_crc(h)), mode=fr.hdr_mode(h),
                   mode_ext=fr.hdr_mode_ext(h), channels=fr.hdr_channels(h), frame_size=fr.hdr_frame_size(h, 0),
                   granules=fr.hdr_granules(h), side_info_size=fr.hdr_side_info_size(h))
        for k, v in got.items():
            assert v == p[k], (hex(h), k, v, p[k])
        assert fr.SAMPLE_RATES[fr.hdr_sr_index(h)] == p["samplerate"]
    rng = np.random.default_rng(1000)
    for v in rng.integers(0, 2 ** 32, 20000, dtype=np.uint64):
        v = int(v) | (0x7FF << 21) if rng.random() < 0.9 else int(v)
        assert bool(fr.hdr_valid(v)) == (naive.parse_header(v.to_bytes(4, "big")) is not None), hex(v)


def _junk(rng, n):
    b = rng.integers(0, 255, n, dtype=np.uint8)  # no 0xFF: cannot hold a sync word
    return b.tobytes()


def _frame(rng, version, sr, br, pad, mode):
    hb = naive.make_header(version, sr, br, pad, mode)
    size = naive.parse_header(hb)["frame_size"]
    return hb + rng.integers(0, 256, size - 4, dtype=np.uint8).tobytes()


def _scan(data):
    buf = np.zeros(len(data) + 8, np.uint8)
    buf[:len(data)] = np.frombuffer(data, np.uint8)
    cap = len(data) // fr.MIN_FRAME + 1
    offsets, headers, sizes = (np.zeros(cap, np.int64) for _ in range(3))
    n, skipped, truncated, other = fr.scan_frames(buf, 0, len(data), offsets, headers, sizes)
    return int(n), int(skipped), int(truncated), offsets[:n], headers[:n], sizes[:n]


@pytest.mark.parametrize("version,sr,br", [(0, 0, 9), (0, 2, 14), (1, 0, 8), (2, 2, 2)])
def test_scan_frames_synthetic(version, sr, br):
    rng = np.random.default_rng(1100 + 10 * version + sr)
    j1, j2 = int(rng.integers(0, 500)), int(rng.integers(3, 200))
    frames = [_frame(rng, version, sr, br, int(rng.integers(0, 2)), int(rng.integers(0, 4))) for _ in range(12)]
    data = _junk(rng, j1) + b"".join(frames) + _junk(rng, j2)
    n, skipped, truncated, offs, hdrs, sizes = _scan(data)
    assert n == len(frames)
    exp_off = np.cumsum([j1] + [len(f) for f in frames[:-1]])
    assert list(offs) == list(exp_off)
    assert list(sizes) == [len(f) for f in frames]
    assert list(hdrs) == [int.from_bytes(f[:4], "big") for f in frames]
    assert j1 + j2 - 3 <= skipped <= j1 + j2 and truncated == 0
    # a stray header in the junk whose "next frame" is not a header is skipped
    fake = frames[0][:4] + _junk(rng, 60)
    n2, skipped2, *_ , offs2, _, _ = _scan(_junk(rng, 10) + fake + b"".join(frames))
    assert n2 == len(frames) and offs2[0] == 10 + len(fake)
    # the data ends inside the last frame
    n3, _, truncated3, *_ = _scan(_junk(rng, j1) + b"".join(frames)[:-5])
    assert n3 == len(frames) - 1 and truncated3 == 1


def test_scan_frames_free_format():
    """Free format (bitrate index 0): the frame size is found from the next header;
    padded frames are one byte longer."""
    rng = np.random.default_rng(1200)
    free = 517
    frames = []
    for k in range(8):
        pad = int(k % 3 == 1)
        hb = naive.make_header(0, 0, 0, pad, 1)
        frames.append(hb + rng.integers(0, 255, free + pad - 4, dtype=np.uint8).tobytes())
    h = int.from_bytes(frames[0][:4], "big")
    assert fr.hdr_frame_size(h, free) == free and fr.hdr_bitrate(h) == 0
    data = _junk(rng, 33) + b"".join(frames)
    n, skipped, truncated, offs, hdrs, sizes = _scan(data)
    assert n == len(frames) and truncated == 0
    assert list(sizes) == [len(f) for f in frames]
    assert list(offs) == list(33 + np.cumsum([0] + [len(f) for f in frames[:-1]]))


def _fixture_params():
    out = []
    for p in sorted(FIXTURES.glob("*.mp3")):
        meta = json.loads(p.with_suffix(".json").read_text())
        if meta.get("bitrate_mode") != "free":
            out.append(pytest.param(p, meta, id=p.stem))
    return out


@pytest.mark.parametrize("mp3,meta", _fixture_params())
def test_scan_frames_fixtures(mp3, meta):
    """scan_frames over a whole file's audio range vs the naive frame walk."""
    data = mp3.read_bytes()
    a, b = meta["layout"]["audio_start"], meta["layout"]["audio_end"]
    walk = naive.walk_frames(data[:b], a, 10 ** 6)
    buf = np.zeros(len(data) + 8, np.uint8)
    buf[:len(data)] = np.frombuffer(data, np.uint8)
    cap = (b - a) // fr.MIN_FRAME + 1
    offsets, headers, sizes = (np.zeros(cap, np.int64) for _ in range(3))
    n, skipped, truncated, other = fr.scan_frames(buf, a, b, offsets, headers, sizes)
    assert n == len(walk) and skipped == 0 and truncated == 0
    assert list(offsets[:n]) == [o for o, _ in walk]
    assert list(sizes[:n]) == [h["frame_size"] for _, h in walk]
    assert walk[-1][0] + walk[-1][1]["frame_size"] == b


# ===========================================================================
# Real frames of the fixtures: every kernel of the frame decode, and decode_frames
# ===========================================================================

REAL = ["stereo_joint_cbr128_44100", "mono_cbr96_44100_crc", "stereo_joint_cbr128_44100_crc",
        "stereo_cbr128_44100", "stereo_forced_ms_cbr128_44100", "mono_cbr40_16000", "stereo_joint_cbr64_22050",
        "stereo_joint_cbr16_8000", "mono_cbr24_12000", "stereo_joint_vbr2_44100", "stereo_joint_cbr128_48000",
        "stereo_joint_cbr128_32000"]
N_REAL_FRAMES = 12


def _kernel_row(d):
    """What read_side_info makes of the naive fields (implicit values filled in)."""
    e = dict(d)
    if d["window_switching"]:
        e["table_select"] = d["table_select"] + [0]
        e["region0_count"] = 8 if (d["block_type"] == 2 and not d["mixed_block"]) else 7
        e["region1_count"] = 36
    return g_row(e)


@pytest.mark.parametrize("name", [n for n in REAL if (FIXTURES / (n + ".mp3")).exists()])
def test_real_frames(name):
    """The first frames of a real file, walked with the naive header parser and
    decoded by naive.decode_frames (bit reservoir gathered by hand).  Side info,
    scalefactors and Huffman kernels are run on the same main data; then the
    whole ``decode_frames`` kernel must give the naive MDCT lines, side info
    and scalefactors."""
    from mp3restore.decoder import decode_frames
    data = (FIXTURES / (name + ".mp3")).read_bytes()
    meta = json.loads((FIXTURES / (name + ".json")).read_text())
    frames = naive.walk_frames(data, meta["layout"]["audio_start"], N_REAL_FRAMES)
    assert len(frames) == N_REAL_FRAMES
    ref = naive.decode_frames(data, frames, NAIVE_HUFF)
    n_gr = 0
    for (off, _), fr_ in zip(frames, ref):
        hdr = fr_["hdr"]
        si = off + 4 + (2 if hdr["crc"] else 0)
        _check_side_info(data[si:si + hdr["side_info_size"]], 0, hdr["lsf"], hdr["channels"])
        if fr_["muted"]:
            continue
        md = fr_["md"]
        mdbuf = np.zeros(len(md) + 16, np.uint8)
        mdbuf[:len(md)] = np.frombuffer(md, np.uint8)
        sr_idx = hdr["sr_idx"]
        sf_gr0 = [None, None]
        intensity = hdr["mode"] == 1 and bool(hdr["mode_ext"] & 1)
        for gr, chs in enumerate(fr_["gr"]):
            for ch, d in enumerate(chs):
                g = _kernel_row(d)
                sf = np.zeros(39, np.int32)
                is_max = np.zeros(39, np.int32)
                p2 = d["part2_start"]
                if hdr["lsf"]:
                    p = read_scalefactors_lsf(mdbuf, p2, g, intensity and ch == 1, sf, is_max)
                    assert g[PREFLAG] == d["preflag"]
                else:
                    _, scfsi, _, _ = naive.parse_side_info(data[si:si + hdr["side_info_size"]], 0, False,
                                                           hdr["channels"])
                    g[SCFSI] = scfsi[ch] if gr == 1 else 0
                    p = read_scalefactors_mpeg1(mdbuf, p2, g, gr, sf,
                                                sf_gr0[ch] if gr else np.zeros(39, np.int32), is_max)
                    sf_gr0[ch] = sf.copy()
                assert p - p2 == d["part2_length"]
                assert list(sf) == d["sf39"] and list(is_max) == d["is_max39"]
                assert not d["overrun"]
                out = np.zeros(576, np.int32)
                c1, last, over = huffman_decode(mdbuf, p, p2 + d["part2_3_length"], g, SFB_LONG[sr_idx],
                                                SFB_SHORT[sr_idx], sr_idx, LUT, ROOTS, WIDTHS, LINBITS, out)
                assert list(out) == d["ix"]
                assert (c1, last, bool(over)) == (d["count1"], d["last"], d["overrun"])
                n_gr += 1
    assert n_gr > 0

    # the whole frame decoder on the same frames
    nch = frames[0][1]["channels"]
    buf = np.zeros(len(data) + 64, np.uint8)
    buf[:len(data)] = np.frombuffer(data, np.uint8)
    offsets = np.array([o for o, _ in frames], np.int64)
    sizes = np.array([h["frame_size"] for _, h in frames], np.int64)
    headers = np.array([int.from_bytes(data[o:o + 4], "big") for o, _ in frames], np.int64)
    gr_start = np.concatenate([[0], np.cumsum([h["granules"] for _, h in frames])]).astype(np.int64)
    G = int(gr_start[-1])
    mdct = np.full((G, nch, 576), np.nan, np.float32)
    gi = np.zeros((G, nch, N_FIELDS), np.int32)
    sf_out = np.zeros((G, nch, 39), np.int16)
    status = np.zeros(len(frames), np.int32)
    mdb = np.zeros(len(frames), np.int32)
    decode_frames(buf, offsets, sizes, headers, gr_start, 0, len(frames), nch, LUT, ROOTS, WIDTHS, LINBITS,
                  SFB_LONG, SFB_SHORT, mdct, gi, sf_out, status, mdb)
    from mp3restore.sideinfo import COUNT1, LAST_NONZERO, PART2_LENGTH
    for f, fr_ in enumerate(ref):
        assert mdb[f] == fr_["mdb"]
        assert bool(status[f] & 2) == fr_["muted"]  # ST_RESERVOIR
        if not fr_["muted"]:
            assert status[f] == 0, (f, status[f])
        for gr in range(len(fr_["gr"])):
            row = gr_start[f] + gr
            for ch in range(nch):
                exp = fr_["mdct"][gr][ch]
                np.testing.assert_allclose(mdct[row, ch], exp.astype(np.float32), rtol=2e-6,
                                           atol=1e-30, err_msg=f"{name} frame {f} gr {gr} ch {ch}")
                if fr_["muted"]:
                    continue
                d = fr_["gr"][gr][ch]
                assert (gi[row, ch, COUNT1], gi[row, ch, LAST_NONZERO], gi[row, ch, PART2_LENGTH]) == (
                    d["count1"], d["last"], d["part2_length"])
                assert list(sf_out[row, ch]) == d["sf39"]


@pytest.mark.parametrize("name", ["mono_cbr96_44100_crc", "stereo_joint_cbr128_44100_crc"])
def test_crc_kernel(name):
    """count_crc_errors vs CRC-16 of 2.4.3.1 over header bytes 2..3 and the side info;
    then one side-info bit flipped in two frames."""
    from mp3restore.decoder import count_crc_errors
    data = bytearray((FIXTURES / (name + ".mp3")).read_bytes())
    frames = naive.walk_frames(bytes(data), 0, 40)
    offsets = np.array([o for o, _ in frames], np.int64)
    headers = np.array([int.from_bytes(data[o:o + 4], "big") for o, _ in frames], np.int64)

    def naive_bad(d):
        n = 0
        for o, h in frames:
            crc = naive.crc16(bytes(d[o + 2:o + 4]) + bytes(d[o + 6:o + 6 + h["side_info_size"]]))
            n += crc != int.from_bytes(d[o + 4:o + 6], "big")
        return n

    def kernel_bad(d):
        buf = np.zeros(len(d) + 16, np.uint8)
        buf[:len(d)] = np.frombuffer(bytes(d), np.uint8)
        return int(count_crc_errors(buf, offsets, headers))

    assert all(h["crc"] for _, h in frames)
    assert kernel_bad(data) == naive_bad(data)
    data[frames[3][0] + 6 + 5] ^= 0x10
    data[frames[7][0] + 6] ^= 0x01
    assert kernel_bad(data) == naive_bad(data) >= 2


def test_channel_1_starts_at_channel_0s_part2_3_length_boundary():
    """``lame --abr 56`` (24 kHz joint stereo, fixtures/regressions), frame 127: channel 0's
    count1 quadruples end exactly on its part2_3_length boundary (bit 342) and channel 1
    (no scalefactor bits, 11 bits of count1 quadruples) starts there.  The whole decode
    must equal the naive reference parser's for that frame.  mpg123 1.31 reads channel 1
    eight bits early there (lines 0-2 instead of 5 and 10: -86 dBFS in one frame);
    dr_mp3 agrees with this decoder."""
    path = FIXTURES / "regressions" / "lame_abr56_24000.mp3"
    data = path.read_bytes()
    c = mp3restore.read_coefficients(path)
    frames = naive.walk_frames(data, int(c.frame_offset[0]), 128)
    ref = naive.decode_frames(data, frames, NAIVE_HUFF)
    d0, d1 = ref[127]["gr"][0]
    assert d0["part2_start"] + d0["part2_3_length"] == d1["part2_start"] and not d0["overrun"]
    assert d1["part2_length"] == 0 and d1["count1"] > 0
    g = int(c.frame_granule[127])
    for ch in range(2):
        np.testing.assert_allclose(c.mdct[g, ch], ref[127]["mdct"][0][ch], rtol=1e-5, atol=1e-9)


def test_granule_channels_and_joint_match_numpy():
    """Per-granule coded channels and joint-stereo mode extension, against numpy on headers of
    every mode (mono, stereo, joint stereo with each extension, dual channel) and 1 or 2 granules
    per frame."""
    from mp3restore.decoder import granule_channels, granule_joint

    rng = np.random.default_rng(5)
    headers = (rng.integers(0, 4, 50) << 6 | rng.integers(0, 4, 50) << 4 | 0xFFFB0000).astype(np.int64)
    gr_start = np.concatenate(([0], np.cumsum(rng.integers(1, 3, 50)))).astype(np.int64)
    for a, b in ((0, 50), (7, 8), (10, 31), (5, 5)):
        h = headers[a:b].astype(np.int64)
        rep = np.diff(gr_start[a:b + 1])
        np.testing.assert_array_equal(granule_channels(headers, gr_start, a, b),
                                      np.repeat(np.where((h >> 6) & 3 == 3, 1, 2), rep))
        np.testing.assert_array_equal(granule_joint(headers, gr_start, a, b),
                                      np.repeat(np.where((h >> 6) & 3 == 1, (h >> 4) & 3, 0), rep))
