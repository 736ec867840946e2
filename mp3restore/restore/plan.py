"""Restoration, sub-step 1: decide per stream what to restore.

* the **cutoff** (line index, long-block scale): the LAME tag's lowpass when
  there is one, else the 90th percentile of the highest non-zero line over the
  non-silent long-block granules of a lookahead (the first seconds; when they
  show no encoder cliff, also of windows spread over the rest of the stream,
  :func:`plan_stream`, so a silent or quiet intro does not decide for the whole);
* the **target**: ``bandwidth`` (default 20 kHz) or Nyquist, whichever is lower;
* whether the spectrum ends in an **encoder cliff**: only when the measured
  coded band reaches at least ``CLIFF_RATIO`` of the lowpass an encoder uses at
  this bit rate.  A stream whose content stops far below that (a source that
  was band-limited before encoding, dull content) is left alone, and a stream
  whose coded band already reaches the target (320 kbps, V0) is not touched at
  all, so it decodes bit-identically with and without restoration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._jit import njit
from .lines import is_zero, last_nonzero_below

# LAME 3.100's lowpass (Hz) by total bit rate for stereo at 44.1/48 kHz
# (restoration-notes.md, "What MP3 encoders remove"); other encoders are close.
# Below 32 kbps and at 40/56 kbps: where LAME's coded band ends on white noise
# (lameenc, 44.1 kHz stereo in: 8 kbps 2.0 kHz, 16 kbps 3.6 kHz, 24 kbps 3.9 kHz,
# all at 8 kHz; 40 kbps 7.0 kHz, 56 kbps 9.8 kHz).  Without them an 8 kbps
# stream's 2 kHz cliff was taken for content ending below 32 kbps' 5.5 kHz.
_LOWPASS_BY_KBPS = np.array([
    (8, 2000), (16, 3600), (24, 3900), (32, 5500), (40, 7000), (48, 7600), (56, 9800), (64, 11000),
    (80, 13500), (96, 15100), (112, 15600), (128, 17000), (160, 17500), (192, 18600), (224, 19400),
    (256, 19700), (320, 20500),
], dtype=np.float64)
CLIFF_RATIO = 0.8
# a stream whose band just below the cutoff (0.8..0.95 of it) is this far below
# the band a little lower (0.45..0.65) has a cliff *inside* its coded band: the
# content ended there and what looks like the cutoff is the encoder coding faint
# noise above a source that was band-limited before encoding (music falls maybe
# 5-15 dB over that distance)
INNER_CLIFF_DB = -30.0
DEFAULT_BANDWIDTH = 20000.0
# below this fraction of the encoder's lowpass its filter passes the signal unchanged
# (LAME's transition band spans about the top 3 %): a line zeroed there was quantized to zero
PASSBAND = 0.95


def expected_lowpass(kbps, channels):
    """Lowpass (Hz) an encoder is expected to use at ``kbps`` total (mono counts double)."""
    k = kbps * (1.6 if channels == 1 else 1.0)
    return float(np.interp(k, _LOWPASS_BY_KBPS[:, 0], _LOWPASS_BY_KBPS[:, 1]))


def hz_to_line(hz, samplerate):
    """Long-block MDCT line whose band starts at ``hz`` (line k covers k..k+1 x sr/1152)."""
    return min(576, max(0, math.floor(hz * 1152.0 / samplerate)))


@dataclass(frozen=True)
class Plan:
    """What restoration does to a stream (``mp3restore info`` reports it)."""

    cutoff_hz: float  # where the coded band ends (stream level)
    target_hz: float
    cutoff_line: int
    target_line: int
    measured_hz: float  # p90 of the highest non-zero frequency in the lookahead
    expected_hz: float  # lowpass an encoder uses at this bit rate
    highband: bool  # regenerate above the cutoff
    holes: bool  # fill spectral holes inside the coded band
    reason: str
    holes_found: int = 0  # zeroed bands between non-zero neighbours in the lookahead (long blocks)
    lookahead_granules: int = 0  # granules measured (the lookahead and any sampled windows)
    # below this line (and the cutoff) a granule's zeroed lines were quantized to zero, not
    # filtered: PASSBAND x the encoder's lowpass (the LAME tag's, else expected at the bit rate)
    passband_line: int = 0
    # "restore", or why not: "wideband", "band-limited" (content ends below the encoder's
    # lowpass), "silent" (too little non-silent audio to tell)
    verdict: str = "restore"
    sampled_windows: int = 0  # windows measured beyond the lookahead (see sample_ranges)

    def as_dict(self):
        return dict(self.__dict__)


@njit
def lookahead_stats(mdct, tops, sfb_long, last, band_nz, bands):
    """Per granule and channel of ``mdct[G, C, 576]``: one past the highest
    non-zero line (``last[G, C]``) and, with ``bands``, whether each long band
    has a non-zero line (``band_nz[G, C, 22]``).  ``tops[G]``: no line at or
    above it is non-zero (576: no bound)."""
    for g in range(mdct.shape[0]):
        for c in range(mdct.shape[1]):
            x = mdct[g, c]
            kl = last_nonzero_below(x, tops[g])
            last[g, c] = kl
            if not bands:
                continue
            for b in range(22):
                band_nz[g, c, b] = sfb_long[b] < kl and not is_zero(x, sfb_long[b], min(kl, sfb_long[b + 1]))


def measured_cutoff_line(last, block_type):
    """p90 of the highest non-zero line of non-silent long-block granules, or -1."""
    v = np.sort(last[(block_type != 2) & (last > 0)])
    n = len(v)
    if n < 8:
        return -1
    # np.percentile(v, 90) (linear), without its ~0.1 ms of overhead per call
    pos = (n - 1) * 0.9
    i = int(pos)
    t = pos - i
    a = float(v[i])
    b = float(v[min(i + 1, n - 1)])
    return int(a + (b - a) * t if t < 0.5 else b - (b - a) * (1.0 - t))


@njit
def long_line_power(mdct, block_type, a, b, out):
    """``out[k - a]``: mean over the long-block granule-channels of ``mdct[G, C, 576]``
    of line ``k``'s power, ``k`` in ``a..b``; returns how many there were."""
    out[:] = 0.0
    n = 0
    for g in range(mdct.shape[0]):
        for c in range(mdct.shape[1]):
            if block_type[g, c] == 2:
                continue
            n += 1
            x = mdct[g, c, a:b]
            for k in range(b - a):
                v = np.float64(x[k])
                out[k] += v * v
    if n:
        out /= n
    return n


def inner_drop_db(mdct, block_type, cutoff_line):
    """Mean power per line just below the cutoff relative to a little lower (long blocks, lookahead)."""
    if cutoff_line < 20:
        return 0.0
    a = int(0.45 * cutoff_line)
    b = int(0.95 * cutoff_line)
    p = np.empty(b - a)
    if long_line_power(mdct, block_type, a, b, p) == 0:
        return 0.0
    top = p[int(0.8 * cutoff_line) - a:].mean()
    below = p[:int(0.65 * cutoff_line) - a].mean()
    if below <= 0.0:
        return -200.0
    return float(10 * np.log10(max(top, 1e-30) / below))


@njit
def count_holes(band_nz, block_type):
    """Zeroed long bands with non-zero bands on both sides (within two), below the last non-zero line."""
    n = 0
    for g in range(band_nz.shape[0]):
        for c in range(band_nz.shape[1]):
            if block_type[g, c] == 2:
                continue
            e = band_nz[g, c]
            for b in range(1, 21):
                if not e[b] and (e[b - 1] or (b >= 2 and e[b - 2])) and (e[b + 1] or (b <= 19 and e[b + 2])):
                    n += 1
    return n


LOOKAHEAD_FRAMES = 128  # frames whose coefficients decide the plan (a decode's first chunk)
SAMPLE_WINDOWS = 8  # when they are inconclusive: windows spread over the rest of the stream
SAMPLE_FRAMES = 16  # frames per window


def sample_ranges(first, nframes):
    """Frame ranges ``[(a, b), ...]`` of the windows :func:`plan_stream` measures
    beyond the lookahead ``first .. first + LOOKAHEAD_FRAMES``: ``SAMPLE_WINDOWS``
    windows of ``SAMPLE_FRAMES`` frames centred on evenly spaced points of the
    rest, or the whole rest when it is shorter than those together."""
    start = first + LOOKAHEAD_FRAMES
    rest = nframes - start
    if rest <= 0:
        return []
    if rest <= SAMPLE_WINDOWS * SAMPLE_FRAMES:
        return [(start, nframes)]
    out = []
    for i in range(SAMPLE_WINDOWS):
        a = start + rest * (2 * i + 1) // (2 * SAMPLE_WINDOWS) - SAMPLE_FRAMES // 2
        out.append((a, a + SAMPLE_FRAMES))
    return out


def plan_stream(info, lookahead, block_type, first, nframes, window, *, bandwidth=None, find_holes=False,
                tops=None):
    """The plan of a whole stream of frames ``first .. nframes``.

    From the lookahead's coefficients (``lookahead[G, C, 576]``, ``block_type[G,
    C]``: frames ``first .. first + LOOKAHEAD_FRAMES``) when they show an encoder
    cliff or a wideband stream.  When they show no cliff because of their content
    (silent, or ending below the encoder's lowpass: a quiet intro, a solo
    instrument), the windows of :func:`sample_ranges` are measured with them,
    ``window(a, b)`` returning ``(mdct, block_type)`` of frames ``a .. b``: the
    decision is the stream's, not its first seconds'.  It depends on the stream
    alone, so every decode of it (serial, threaded, in blocks, or
    ``restore_coefficients``) makes the same.  ``tops``: the lookahead's
    :func:`~.lines.bounded_tops` when it comes straight from the decoder (the
    search for each granule's highest line starts there), else None."""
    plan = make_plan(info, lookahead, block_type, bandwidth=bandwidth, find_holes=find_holes, tops=tops)
    ranges = sample_ranges(first, nframes)
    if plan.verdict not in ("silent", "band-limited") or not ranges:
        return plan
    parts = [window(a, b) for a, b in ranges]
    mdct = np.concatenate([lookahead] + [p[0] for p in parts])
    bt = np.concatenate([np.asarray(block_type, np.int32)] + [np.asarray(p[1], np.int32) for p in parts])
    return make_plan(info, mdct, bt, bandwidth=bandwidth, find_holes=find_holes, windows=len(ranges))


def make_plan(info, mdct, block_type, *, bandwidth=None, find_holes=True, windows=0, tops=None):
    """Decide the restoration of a stream from its info and a sample of its coefficients
    (``mdct[G, C, 576]``, ``block_type[G, C]``: the lookahead, and ``windows`` windows
    sampled further on, see :func:`plan_stream`).

    ``find_holes=False`` leaves ``holes_found`` at 0 (what ``mp3restore info``
    reports; a decode does not need it, and it is a third of the plan's time).  ``tops``
    int64[G] or None: as for :func:`plan_stream`."""
    sr = info.samplerate
    target = float(min(bandwidth or DEFAULT_BANDWIDTH, sr / 2.0))
    target_line = hz_to_line(target, sr)
    expected = float(info.lowpass) if info.lowpass else expected_lowpass(info.bitrate, info.channels)
    from ..tables.bands import SAMPLE_RATES, SFB_LONG

    G, C = mdct.shape[:2]
    block_type = np.ascontiguousarray(block_type, np.int32)  # [G, C]
    last = np.zeros((G, C), np.int64)
    band_nz = np.zeros((G if find_holes else 0, C, 22), np.bool_)  # written only with find_holes
    if tops is None:
        tops = np.full(G, 576, np.int64)
    if G:
        lookahead_stats(mdct, tops, np.array(SFB_LONG[SAMPLE_RATES.index(sr)], np.int64), last, band_nz,
                        find_holes)
    m = measured_cutoff_line(last, block_type) if G else -1
    measured = (m * sr / 1152.0) if m > 0 else 0.0
    if info.lowpass:
        cutoff = min(float(info.lowpass), measured + 2 * sr / 1152.0) if m > 0 else float(info.lowpass)
    else:
        cutoff = measured
    cutoff_line = hz_to_line(cutoff, sr) if cutoff > 0 else 0

    holes_found = count_holes(band_nz, block_type) if find_holes else 0

    def plan(verdict, reason):
        go = verdict == "restore"
        return Plan(cutoff, target, cutoff_line, target_line, measured, expected, go, go, reason,
                    holes_found if go else 0, len(mdct), min(cutoff_line, hz_to_line(PASSBAND * expected, sr)),
                    verdict, windows)

    if m < 0:
        return plan("silent", "too little non-silent audio to measure the coded band")
    if (info.lowpass and info.lowpass >= target) or cutoff_line >= target_line - 18:
        return plan("wideband", "the coded band already reaches the target bandwidth (wideband stream)")
    if measured < CLIFF_RATIO * min(expected, target):
        return plan("band-limited", f"content ends at {measured:.0f} Hz, well below the {expected:.0f} Hz an "
                                    "encoder keeps at this bit rate: band-limited at the source, left alone")
    drop = inner_drop_db(mdct, block_type, cutoff_line)
    if drop < INNER_CLIFF_DB:
        return plan("band-limited", f"the spectrum falls {-drop:.0f} dB inside the coded band: the content "
                                    "ended below the cutoff (band-limited at the source), left alone")
    edge = ("the LAME tag's lowpass" if info.lowpass and cutoff == float(info.lowpass)
            else "the coded band's edge (90th percentile of the granules' highest line)")
    return plan("restore", f"encoder cliff at {cutoff:.0f} Hz, {edge}: regenerate up to {target:.0f} Hz")
