"""Seeing inside the stream: frame views, band edges, band energies, bandwidth.

* :meth:`mp3restore.Mp3File.frames` yields one :class:`FrameView` per audio
  frame (header fields, side information, scalefactors and MDCT lines of each
  granule and channel), decoding a chunk of frames at a time so that memory
  does not grow with the stream.
* :func:`band_edges_hz` / :func:`line_hz`: the frequency scale of the lines
  and scalefactor bands.
* :func:`highest_lines`, :func:`band_energies`, :func:`measure_bandwidth`:
  vectorised measurements on :class:`~mp3restore.coefficients.Coefficients`
  (or directly on a file, decoded chunk by chunk).

Frequency scale
---------------
Long blocks: line ``k`` (0..575) is centred at ``(k + 0.5) * sr / 1152`` Hz and
long band ``b`` covers lines ``SFB_LONG[r][b] <= k < SFB_LONG[r][b + 1]``, i.e.
``[e_b, e_{b+1}) * sr / 1152`` Hz.  Short blocks: line ``j`` (0..191) of a
window is centred at ``(j + 0.5) * sr / 384`` Hz, which is the centre of long
line ``3 j + 1``: that is how short (and the short part of mixed) blocks are
put on the long-block scale ("long-equivalent line") by :func:`highest_lines`
and :func:`band_energies`.

Frame numbering
---------------
Frame indices count audio frames as :func:`mp3restore.read_coefficients` does:
the Xing/Info/VBRI tag frame and the leading frames whose bit-reservoir data is
not in the file (which produce no audio) are not counted.  ``first_granule`` is
the index of the frame's first granule in ``Coefficients.mdct``; granule ``g``
starts at sample ``g * 576`` of the full decode (``gapless=False``).

JSON output of the command line (stable field names)
----------------------------------------------------
Numbers are JSON numbers, absent values ``null``; an energy of 0 (``-inf`` dB)
is ``null``.

``mp3restore info FILE --json --bandwidth``: the keys of
:class:`~mp3restore.stream.StreamInfo` (unchanged) plus ``"bandwidth"``, the
dict of :func:`measure_bandwidth`:

* ``granules`` (int): granules measured; ``silent_granules`` (int): granules
  in which every line of every channel is zero (left out of the percentiles);
* ``max_line`` (int|null): highest long-equivalent line (0..575) that is ever
  non-zero; ``max_sfb`` (int|null): the long scalefactor band (0..21) holding
  it; ``max_hz`` (float|null): the centre frequency of ``max_line``;
* ``p10_hz``, ``p50_hz``, ``p90_hz`` (float|null): percentiles over the
  non-silent granules of the granule's highest non-zero frequency (the maximum
  over its channels);
* ``per_second_max_hz``, ``per_second_p50_hz`` (list of float|null): the same
  per-granule frequency, maximum and median over each second of the full
  decode (second ``s`` holds the granules starting in ``[s, s + 1)`` s of the
  full decode, ``gapless=False``; for coefficients of a frame range, counted
  from the second holding the first granule; ``null`` for a silent second).

The measurements use the band table and line scale of the stream's sample rate
(that of its first audio frame); the frame views use each frame's own rate.

``mp3restore frames FILE --json``: one JSON list, one object per frame (and one
per line of output), in stream order::

    {"index", "offset", "size", "version", "bitrate", "samplerate", "mode",
     "mode_extension", "padding", "crc", "crc_ok", "main_data_begin", "status",
     "first_granule",
     "granules": [{"granule", "index",
                   "channels": [{"channel", "block_type", "mixed_block",
                                 "global_gain", "big_values", "part2_3_length",
                                 "last_nonzero", "highest_line"}]}]}

* ``index``: frame index (see above); ``offset`` / ``size``: bytes in the input;
* ``version``: ``"1"``, ``"2"`` or ``"2.5"``; ``bitrate``: kbit/s from the
  header (0 for free format); ``samplerate``: Hz; ``mode``: ``"stereo"``,
  ``"joint"``, ``"dual"`` or ``"mono"``; ``mode_extension``: the header's 2
  bits (joint stereo: 2 = mid/side, 1 = intensity); ``padding``: 0/1;
* ``crc``: the frame carries a CRC; ``crc_ok``: it matches (``null`` without CRC);
* ``main_data_begin``: bytes of bit reservoir; ``status``: list of problems
  found while decoding, among ``"crc"`` (mismatch, still decoded),
  ``"reservoir"`` (reservoir data missing: muted), ``"side_info"`` (forbidden
  values: muted), ``"overrun"`` (Huffman data ran past its end); ``[]`` when fine;
* ``first_granule``: index of the frame's first granule in ``Coefficients``;
* ``granules[].granule``: 0 or 1 within the frame; ``granules[].index``: granule
  index in the stream; ``channels``: the channels coded in the frame (one for a
  mono frame);
* ``block_type``: 0 long, 1 start, 2 short, 3 stop; ``mixed_block``: 0/1;
  ``last_nonzero``: side-info count of Huffman lines up to the last non-zero
  one (before stereo processing); ``highest_line``: highest non-zero line of
  the MDCT after stereo processing, long-equivalent (-1 when all zero).

``mp3restore dump FILE --frame N --json``: one object::

    {"frame": {... the frame fields above, without "granules", plus
               "header" (int, the 32-bit header), "private", "copyright",
               "original", "emphasis", "status_bits" (int)},
     "granules": [{"granule", "index",
                   "channels": [{"channel", <side info>, "highest_line",
                                 "scalefactors": [39 ints],
                                 "bands": [{"band", "window", "start", "end",
                                            "width", "scalefactor", "nonzero",
                                            "energy_db"}],
                                 "mdct": [576 floats]  (only with --mdct)}]}],
     "bits": [{"name", "offset", "width", "bits", "value"}]  (only with --bits)}

* side info (ints): ``part2_3_length``, ``big_values``, ``global_gain``,
  ``scalefac_compress``, ``window_switching``, ``block_type``,
  ``mixed_block``, ``table_select`` (list of 3), ``subblock_gain`` (list of
  3), ``region0_count``, ``region1_count``, ``preflag``, ``scalefac_scale``,
  ``count1table_select``, ``scfsi`` (4 bits as an int; MPEG-1 granule 1 only,
  else 0), ``count1`` (quadruples decoded), ``last_nonzero``, ``part2_length``
  (bits of scalefactors);
* ``scalefactors``: the stored array (long ``[sfb]``; short ``[sfb * 3 + window]``;
  mixed: long bands below line 36 then short sfb 3..);
* ``bands``: one entry per scalefactor band, and per window for short bands, in
  the order of the scalefactors; ``window`` is ``null`` for long bands;
  ``start``/``end``: lines ``[start, end)`` (long: 0..576; short: within the
  window, 0..192); ``width = end - start`` (the widths of a granule add up to
  576); ``scalefactor``: the band's value (``null`` for the last band, which
  has none); ``nonzero``: non-zero lines; ``energy_db``: ``10 log10`` of the
  sum of the squared MDCT lines, ``null`` when 0;
* ``bits``: the header, CRC and side information as read with ``bitstring``:
  ``name`` (e.g. ``"gr0.ch1.part2_3_length"``), ``offset`` (bit offset in the
  frame), ``width`` (bits), ``bits`` (``"0b..."``), ``value`` (int).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import sideinfo as si
from .frames import BITRATES_LSF, BITRATES_MPEG1
from .tables.bands import SAMPLE_RATES, SFB_LONG, SFB_SHORT

__all__ = [
    "FrameView", "GranuleView", "ChannelView", "band_edges_hz", "line_hz", "band_of_line",
    "highest_lines", "band_energies", "measure_bandwidth", "iter_frames", "header_fields",
]

MODE_NAMES = ("stereo", "joint", "dual", "mono")
BLOCK_NAMES = ("long", "start", "short", "stop")
STATUS_NAMES = ((1, "crc"), (2, "reservoir"), (4, "side_info"), (8, "overrun"), (16, "lost"))
_VERSIONS = {3: ("1", 0), 2: ("2", 1), 0: ("2.5", 2)}

# Long-equivalent line of each of the 576 stored positions (see the module docstring).
_POS = np.arange(576)
_EQ_LONG = _POS
_EQ_SHORT = 3 * ((_POS // 18) * 6 + _POS % 6) + 1
_EQ_MIXED = np.where(_POS < 36, _POS, _EQ_SHORT)


# ---------------------------------------------------------------------------
# Frequency scale
# ---------------------------------------------------------------------------

def _samplerate(sr) -> int:
    sr = int(getattr(sr, "samplerate", sr))
    if sr not in SAMPLE_RATES:
        raise ValueError(f"not a Layer III sample rate: {sr}")
    return sr


def _sr_index(sr) -> int:
    return SAMPLE_RATES.index(_samplerate(sr))


def band_edges_hz(samplerate, short=False) -> np.ndarray:
    """Scalefactor band edges in Hz (float64: 23 edges for 22 long bands, 14 for 13 short ones).

    ``samplerate`` is an int or anything with a ``samplerate`` attribute (a
    :class:`~mp3restore.coefficients.Coefficients`, an ``Mp3File``).  Band
    ``b`` spans ``[edges[b], edges[b + 1])``: line edge ``e`` is at
    ``e * sr / 1152`` Hz (long) or ``e * sr / 384`` Hz (short).
    """
    sr = _samplerate(samplerate)
    r = SAMPLE_RATES.index(sr)
    if short:
        return np.array(SFB_SHORT[r], np.float64) * sr / 384.0
    return np.array(SFB_LONG[r], np.float64) * sr / 1152.0


def line_hz(samplerate, short=False) -> np.ndarray:
    """Centre frequency of each line: 576 long lines ``(k + 0.5) sr / 1152``, or 192 short ``(j + 0.5) sr / 384``."""
    sr = _samplerate(samplerate)
    if short:
        return (np.arange(192) + 0.5) * sr / 384.0
    return (np.arange(576) + 0.5) * sr / 1152.0


def band_of_line(samplerate, line, short=False):
    """Scalefactor band index holding ``line`` (int or array; long lines 0..575, short 0..191)."""
    r = _sr_index(samplerate)
    edges = np.array(SFB_SHORT[r] if short else SFB_LONG[r])
    b = np.searchsorted(edges, np.asarray(line), side="right") - 1
    return b if np.ndim(b) else int(b)


def _n_long_mixed(sr_idx):
    """Long scalefactor bands in a mixed block (those below line 36), as :func:`mp3restore.scalefactors.n_long_mixed`."""
    if sr_idx < 3:
        return 8
    if sr_idx == 8:
        return 3
    return 6


# ---------------------------------------------------------------------------
# Vectorised measurements
# ---------------------------------------------------------------------------

def highest_lines(mdct, block_type, mixed_block) -> np.ndarray:
    """Highest non-zero line of each granule and channel, on the long-block scale.

    Parameters
    ----------
    mdct : float32 [shape=(G, C, 576)]  (``Coefficients.mdct`` layout)
    block_type, mixed_block : int [shape=(G, C)]

    Returns
    -------
    int64 [shape=(G, C)]: the line ``k`` (0..575; for short blocks ``3 j + 1``
    of short line ``j``), -1 where every line is zero.
    """
    nz = np.asarray(mdct) != 0
    bt = np.asarray(block_type)
    mx = np.asarray(mixed_block)
    out = np.where(nz.any(axis=-1), 575 - np.argmax(nz[..., ::-1], axis=-1), -1).astype(np.int64)
    short = bt == 2
    if short.any():
        eq = np.where((mx[short] != 0)[:, None], _EQ_MIXED, _EQ_SHORT)
        out[short] = np.where(nz[short], eq, -1).max(axis=-1)
    return out


def _band_matrices(sr_idx):
    """0/1 matrices (576, 22) mapping stored positions to long bands, for long / short / mixed blocks."""
    edges = np.array(SFB_LONG[sr_idx])
    mats = []
    for eq in (_EQ_LONG, _EQ_SHORT, _EQ_MIXED):
        band = np.searchsorted(edges, eq, side="right") - 1
        m = np.zeros((576, 22), np.float64)
        m[_POS, band] = 1.0
        mats.append(m)
    return mats


def _band_energies(mdct, bt, mx, sr_idx):
    m_long, m_short, m_mixed = _band_matrices(sr_idx)
    sq = np.square(np.asarray(mdct, np.float64))
    kind = np.where(bt == 2, np.where(mx != 0, 2, 1), 0)
    out = np.empty(sq.shape[:-1] + (22,), np.float64)
    for k, m in enumerate((m_long, m_short, m_mixed)):
        sel = kind == k
        if sel.any():
            out[sel] = sq[sel] @ m
    return out


def band_energies(source, *, chunk_frames=256) -> np.ndarray:
    """Energy (sum of squared MDCT lines) per long scalefactor band: float64 (G, C, 22).

    Short blocks are summed over their three windows, each short line counted
    in the long band of its long-equivalent line (so every granule is on the
    same frequency scale).  ``source`` is a ``Coefficients`` object or a file /
    ``Mp3File`` (decoded ``chunk_frames`` at a time).
    """
    if hasattr(source, "mdct"):
        c = source
        sr_idx = _sr_index(c.samplerate)
        G = c.mdct.shape[0]
        out = np.empty(c.mdct.shape[:2] + (22,), np.float64)
        step = 2 * chunk_frames  # bounded temporaries (float64 squares) on long streams
        for a in range(0, G, step):
            b = min(G, a + step)
            out[a:b] = _band_energies(c.mdct[a:b], c.block_type[a:b], c.mixed_block[a:b], sr_idx)
        return out
    _, _, energies = _scan(_as_stream(source), energies=True, chunk_frames=chunk_frames)
    return energies


def _as_stream(source):
    from .stream import Stream, open_stream

    if isinstance(source, Stream):
        return source
    if hasattr(source, "_stream"):  # Mp3File
        return source._stream
    return open_stream(source)


def _chunks(stream, f0, f1, chunk_frames):
    """Decode frames ``f0..f1`` (stream indices) ``chunk_frames`` at a time: yield
    ``(a, b, mdct, gi, sf, status, mdb)`` (views of reused buffers)."""
    from .decoder import FrameDecoder

    if f1 <= f0:
        return
    dec = FrameDecoder(stream, max(1, min(chunk_frames, f1 - f0)))
    for a in range(f0, f1, chunk_frames):
        b = min(f1, a + chunk_frames)
        _, mdct, gi, sf, status, mdb = dec.decode(a, b)
        yield a, b, mdct, gi, sf, status, mdb


def _scan(stream, *, energies=False, chunk_frames=256):
    """One pass over a stream: ``(highest_lines (G, C), samplerate, band energies (G, C, 22) or None)``."""
    G = stream.ngranules
    C = stream.channels
    sr_idx = _sr_index(stream.samplerate)
    hl = np.full((G, C), -1, np.int64)
    en = np.zeros((G, C, 22), np.float64) if energies else None
    for a, b, mdct, gi, _sf, _st, _mdb in _chunks(stream, stream.first, stream.nframes, chunk_frames):
        g0, g1 = int(stream.gr_start[a]), int(stream.gr_start[b])
        bt = gi[:, :, si.BLOCK_TYPE]
        mx = gi[:, :, si.MIXED_BLOCK]
        hl[g0:g1] = highest_lines(mdct, bt, mx)
        if energies:
            en[g0:g1] = _band_energies(mdct, bt, mx, sr_idx)
    return hl, stream.samplerate, en


def _hz(x):
    return None if x is None or not np.isfinite(x) else round(float(x), 1)


def summarize_bandwidth(lines, samplerate, first_sample=0) -> dict:
    """The :func:`measure_bandwidth` dict from per-granule highest lines (G, C) or (G,)."""
    sr = _samplerate(samplerate)
    lines = np.asarray(lines)
    line = lines.max(axis=1) if lines.ndim == 2 else lines
    G = len(line)
    active = line >= 0
    hz = np.where(active, (line + 0.5) * sr / 1152.0, np.nan)
    out = {"granules": int(G), "silent_granules": int(G - active.sum()),
           "max_line": None, "max_sfb": None, "max_hz": None,
           "p10_hz": None, "p50_hz": None, "p90_hz": None,
           "per_second_max_hz": [], "per_second_p50_hz": []}
    if active.any():
        top = int(line.max())
        out["max_line"] = top
        out["max_sfb"] = band_of_line(sr, top)
        out["max_hz"] = _hz((top + 0.5) * sr / 1152.0)
        p10, p50, p90 = np.percentile(hz[active], [10, 50, 90])
        out["p10_hz"], out["p50_hz"], out["p90_hz"] = _hz(p10), _hz(p50), _hz(p90)
    if G:
        sec = (int(first_sample) + np.arange(G, dtype=np.int64) * 576) // sr
        sec -= sec[0]
        nsec = int(sec[-1]) + 1
        best = np.full(nsec, -1, np.int64)
        np.maximum.at(best, sec, line)
        out["per_second_max_hz"] = [None if v < 0 else _hz((v + 0.5) * sr / 1152.0) for v in best]
        bounds = np.searchsorted(sec, np.arange(nsec + 1))  # sec is sorted: slices per second
        med = []
        for s in range(nsec):
            h = hz[bounds[s]:bounds[s + 1]]
            h = h[np.isfinite(h)]
            med.append(_hz(np.median(h)) if len(h) else None)
        out["per_second_p50_hz"] = med
    return out


def measure_bandwidth(source, *, chunk_frames=256) -> dict:
    """Effective bandwidth of a stream, measured from its MDCT coefficients.

    ``source``: a :class:`~mp3restore.coefficients.Coefficients` object, or a
    file / ``Mp3File`` (then decoded ``chunk_frames`` at a time, memory bounded).
    Short blocks are put on the long-block frequency scale (short line ``j`` ->
    long line ``3 j + 1``).  Returns a dict whose keys are described in the
    module docstring (``max_line``, ``max_sfb``, ``max_hz``, ``p10_hz``,
    ``p50_hz``, ``p90_hz``, ``per_second_max_hz``, ``per_second_p50_hz``,
    ``granules``, ``silent_granules``).
    """
    if hasattr(source, "mdct"):
        hl = highest_lines(source.mdct, source.block_type, source.mixed_block)
        return summarize_bandwidth(hl, source.samplerate, source.first_sample)
    stream = _as_stream(source)
    hl, sr, _ = _scan(stream, chunk_frames=chunk_frames)
    return summarize_bandwidth(hl, sr, 0)


# ---------------------------------------------------------------------------
# Frame views
# ---------------------------------------------------------------------------

def header_fields(h) -> dict:
    """The fields of a 32-bit Layer III frame header, by name."""
    h = int(h)
    version, vi = _VERSIONS.get((h >> 19) & 3, ("reserved", 0))
    sr_bits = (h >> 10) & 3
    br_idx = (h >> 12) & 15
    return {
        "version": version,
        "bitrate": int((BITRATES_MPEG1 if version == "1" else BITRATES_LSF)[br_idx]),
        "samplerate": SAMPLE_RATES[vi * 3 + sr_bits] if sr_bits < 3 else 0,
        "padding": (h >> 9) & 1,
        "private": (h >> 8) & 1,
        "mode": MODE_NAMES[(h >> 6) & 3],
        "mode_extension": (h >> 4) & 3,
        "copyright": (h >> 3) & 1,
        "original": (h >> 2) & 1,
        "emphasis": h & 3,
        "crc": ((h >> 16) & 1) == 0,
    }


def _readonly(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def _fmt_hz(k, sr):
    return f"{(k + 0.5) * sr / 1152 / 1000:.1f}k" if k >= 0 else "-"


@dataclass(frozen=True, eq=False)
class ChannelView:
    """Side information, scalefactors and MDCT lines of one granule of one channel.

    ``mdct`` (float32 (576,), read-only) is in the layout of
    ``Coefficients.mdct`` (short blocks subband-major; :meth:`short_windows`
    gives them as (3, 192)).  ``scalefactors`` is int16 (39,), laid out as in
    ``Coefficients.scalefactors``.  ``highest_line``: highest non-zero line,
    long-equivalent, -1 when all zero.
    """

    channel: int
    part2_3_length: int
    big_values: int
    global_gain: int
    scalefac_compress: int
    window_switching: int
    block_type: int
    mixed_block: int
    table_select: tuple
    subblock_gain: tuple
    region0_count: int
    region1_count: int
    preflag: int
    scalefac_scale: int
    count1table_select: int
    scfsi: int
    count1: int
    last_nonzero: int
    part2_length: int
    highest_line: int
    samplerate: int
    scalefactors: np.ndarray = field(repr=False)
    mdct: np.ndarray = field(repr=False)

    SIDE_INFO = ("part2_3_length", "big_values", "global_gain", "scalefac_compress", "window_switching",
                 "block_type", "mixed_block", "table_select", "subblock_gain", "region0_count", "region1_count",
                 "preflag", "scalefac_scale", "count1table_select", "scfsi", "count1", "last_nonzero",
                 "part2_length")

    @classmethod
    def _from(cls, ch, g, sf, mdct, highest, samplerate):
        g = [int(x) for x in g]
        return cls(
            channel=ch, part2_3_length=g[si.PART2_3_LENGTH], big_values=g[si.BIG_VALUES],
            global_gain=g[si.GLOBAL_GAIN], scalefac_compress=g[si.SCALEFAC_COMPRESS],
            window_switching=g[si.WINDOW_SWITCHING], block_type=g[si.BLOCK_TYPE], mixed_block=g[si.MIXED_BLOCK],
            table_select=tuple(g[si.TABLE_SELECT:si.TABLE_SELECT + 3]),
            subblock_gain=tuple(g[si.SUBBLOCK_GAIN:si.SUBBLOCK_GAIN + 3]),
            region0_count=g[si.REGION0_COUNT], region1_count=g[si.REGION1_COUNT], preflag=g[si.PREFLAG],
            scalefac_scale=g[si.SCALEFAC_SCALE], count1table_select=g[si.COUNT1TABLE_SELECT], scfsi=g[si.SCFSI],
            count1=g[si.COUNT1], last_nonzero=g[si.LAST_NONZERO], part2_length=g[si.PART2_LENGTH],
            highest_line=int(highest), samplerate=int(samplerate),
            scalefactors=_readonly(sf), mdct=_readonly(mdct))

    @property
    def block_name(self) -> str:
        name = BLOCK_NAMES[self.block_type]
        return "mixed" if self.block_type == 2 and self.mixed_block else name

    def short_windows(self) -> np.ndarray:
        """Short-block lines as float32 (3, 192): window x line (for long blocks: a reshuffle without meaning)."""
        return self.mdct.reshape(32, 3, 6).transpose(1, 0, 2).reshape(3, 192)

    def side_info(self) -> dict:
        """Every side-info field by name (``table_select``/``subblock_gain`` as lists)."""
        d = {}
        for k in self.SIDE_INFO:
            v = getattr(self, k)
            d[k] = list(v) if isinstance(v, tuple) else v
        return d

    def bands(self) -> list[dict]:
        """One dict per scalefactor band (and window for short bands): ``band``, ``window``,
        ``start``, ``end``, ``width``, ``scalefactor``, ``nonzero``, ``energy`` (sum of squares)."""
        r = SAMPLE_RATES.index(self.samplerate)
        lo_edges, sh_edges = SFB_LONG[r], SFB_SHORT[r]
        x = self.mdct.astype(np.float64)
        sf = self.scalefactors
        out = []

        def add(band, window, lines, start, end, sf_index, transmitted):
            seg = lines[start:end]
            out.append({"band": band, "window": window, "start": int(start), "end": int(end),
                        "width": int(end - start), "scalefactor": int(sf[sf_index]) if transmitted else None,
                        "nonzero": int(np.count_nonzero(seg)), "energy": float(np.sum(seg * seg))})

        if self.block_type != 2:
            for b in range(22):
                add(b, None, x, lo_edges[b], lo_edges[b + 1], b, b < 21)
            return out
        win = x.reshape(32, 3, 6).transpose(1, 0, 2).reshape(3, 192)
        k = 0
        s0 = 0
        if self.mixed_block:
            nl = _n_long_mixed(r)
            for b in range(nl):
                end = 3 * sh_edges[3] if b == nl - 1 else lo_edges[b + 1]
                add(b, None, x, lo_edges[b], end, b, True)
            k = nl
            s0 = 3
        for s in range(s0, 13):
            for w in range(3):
                add(s, w, win[w], sh_edges[s], sh_edges[s + 1], k, s < 12)
                k += 1
        return out

    def __repr__(self):
        return (f"<ch{self.channel} {self.block_name} gain {self.global_gain} big_values {self.big_values} "
                f"part2_3 {self.part2_3_length} sf_scale {self.scalefac_scale} preflag {self.preflag} "
                f"highest {self.highest_line} ({_fmt_hz(self.highest_line, self.samplerate)}Hz)>")


@dataclass(frozen=True, eq=False)
class GranuleView:
    """One granule of a frame: ``granule`` (0/1 within the frame), ``index``
    (in the stream, as in ``Coefficients``) and one :class:`ChannelView` per
    coded channel (``view[c]`` is ``view.channels[c]``)."""

    frame: int
    granule: int
    index: int
    channels: tuple

    def __getitem__(self, c):
        return self.channels[c]

    def __len__(self):
        return len(self.channels)

    def __iter__(self):
        return iter(self.channels)

    def __repr__(self):
        parts = "; ".join(
            f"ch{c.channel} {c.block_name} gain {c.global_gain} bv {c.big_values} p23 {c.part2_3_length} "
            f"hi {c.highest_line}" for c in self.channels)
        return f"<granule {self.index} (frame {self.frame} gr {self.granule}): {parts}>"


@dataclass(frozen=True, eq=False)
class FrameView:
    """One audio frame: header fields, main_data_begin, decoding status and its granules.

    ``bitrate`` is kbit/s (0: free format); ``mode`` is ``stereo``, ``joint``,
    ``dual`` or ``mono``; ``crc`` tells whether the frame carries a CRC and
    ``crc_ok`` whether it matches (None without CRC); ``status`` holds the
    decoder's status bits (1 CRC mismatch, 2 reservoir data missing, 4 bad
    side info, 8 Huffman overrun; see :attr:`status_names`).
    """

    index: int
    offset: int
    size: int
    header: int
    version: str
    bitrate: int
    samplerate: int
    mode: str
    mode_extension: int
    padding: int
    private: int
    copyright: int
    original: int
    emphasis: int
    crc: bool
    crc_ok: bool | None
    main_data_begin: int
    status: int
    first_granule: int
    granules: tuple

    @property
    def channels(self) -> int:
        """Channels coded in this frame."""
        return 1 if self.mode == "mono" else 2

    @property
    def ms_stereo(self) -> bool:
        return self.mode == "joint" and bool(self.mode_extension & 2)

    @property
    def intensity_stereo(self) -> bool:
        return self.mode == "joint" and bool(self.mode_extension & 1)

    @property
    def stereo_tools(self) -> str:
        """``ms``, ``is``, ``ms+is`` or ``-``."""
        t = [n for n, on in (("ms", self.ms_stereo), ("is", self.intensity_stereo)) if on]
        return "+".join(t) or "-"

    @property
    def status_names(self) -> list[str]:
        return [n for bit, n in STATUS_NAMES if self.status & bit]

    def header_dict(self) -> dict:
        """The frame's own fields as a JSON-ready dict (no granules)."""
        return {"index": self.index, "offset": self.offset, "size": self.size, "version": self.version,
                "bitrate": self.bitrate, "samplerate": self.samplerate, "mode": self.mode,
                "mode_extension": self.mode_extension, "padding": self.padding, "crc": self.crc,
                "crc_ok": self.crc_ok, "main_data_begin": self.main_data_begin, "status": self.status_names,
                "first_granule": self.first_granule}

    def summary_dict(self) -> dict:
        """The ``frames --json`` object (see the module docstring)."""
        d = self.header_dict()
        d["granules"] = [
            {"granule": g.granule, "index": g.index,
             "channels": [{"channel": c.channel, "block_type": c.block_type, "mixed_block": c.mixed_block,
                           "global_gain": c.global_gain, "big_values": c.big_values,
                           "part2_3_length": c.part2_3_length, "last_nonzero": c.last_nonzero,
                           "highest_line": c.highest_line} for c in g.channels]}
            for g in self.granules]
        return d

    def __repr__(self):
        crc = "" if not self.crc else (" crc ok" if self.crc_ok else " crc BAD")
        tools = f"[{self.stereo_tools}]" if self.mode == "joint" else ""
        blocks = " ".join("gr%d %s" % (g.granule, ",".join(c.block_name for c in g.channels)) for g in self.granules)
        st = ",".join(self.status_names) or "ok"
        br = f"{self.bitrate} kbit/s" if self.bitrate else "free"
        return (f"<frame {self.index} @{self.offset} ({self.size} B): MPEG-{self.version} {br} {self.samplerate} Hz "
                f"{self.mode}{tools}{crc}, main_data_begin {self.main_data_begin}, {blocks}, {st}>")


def iter_frames(stream, start=None, stop=None, *, chunk_frames=64):
    """Yield a :class:`FrameView` for audio frames ``start..stop`` of a
    :class:`~mp3restore.stream.Stream` (slice semantics on the audio frame
    numbering, negative indices allowed), decoding ``chunk_frames`` frames at a
    time."""
    n = stream.nframes - stream.first
    a, b, _ = slice(start, stop).indices(n)
    b = max(a, b)
    first = stream.first
    sr = stream.samplerate
    for fa, fb, mdct, gi, sf, status, mdb in _chunks(stream, first + a, first + b, int(chunk_frames)):
        hl = highest_lines(mdct, gi[:, :, si.BLOCK_TYPE], gi[:, :, si.MIXED_BLOCK])
        g_base = int(stream.gr_start[fa])
        for f in range(fa, fb):
            h = int(stream.headers[f])
            hf = header_fields(h)
            nch = 1 if hf["mode"] == "mono" else 2
            fsr = hf["samplerate"] or sr
            g0 = int(stream.gr_start[f])
            grs = []
            for gr in range(int(stream.gr_start[f + 1]) - g0):
                row = g0 - g_base + gr
                chans = tuple(ChannelView._from(c, gi[row, c], sf[row, c], mdct[row, c], hl[row, c], fsr)
                              for c in range(min(nch, mdct.shape[1])))
                grs.append(GranuleView(frame=f - first, granule=gr, index=g0 + gr, channels=chans))
            st = int(status[f - fa])
            yield FrameView(
                index=f - first, offset=int(stream.offsets[f]), size=int(stream.sizes[f]), header=h,
                version=hf["version"], bitrate=hf["bitrate"], samplerate=fsr, mode=hf["mode"],
                mode_extension=hf["mode_extension"], padding=hf["padding"], private=hf["private"],
                copyright=hf["copyright"], original=hf["original"], emphasis=hf["emphasis"], crc=hf["crc"],
                crc_ok=(not st & 1) if hf["crc"] else None, main_data_begin=int(mdb[f - fa]), status=st,
                first_granule=g0, granules=tuple(grs))


# ---------------------------------------------------------------------------
# Bit dump (bitstring)
# ---------------------------------------------------------------------------

_HEADER_FIELDS = (("sync", 11), ("version_id", 2), ("layer", 2), ("protection_bit", 1), ("bitrate_index", 4),
                  ("sampling_frequency", 2), ("padding_bit", 1), ("private_bit", 1), ("mode", 2),
                  ("mode_extension", 2), ("copyright", 1), ("original", 1), ("emphasis", 2))


def frame_bits(data: bytes) -> list[dict]:
    """Parse a frame's header, CRC and side information with ``bitstring``.

    ``data``: the frame's bytes (at least header + CRC + side info).  Returns
    one dict per field: ``name``, ``offset`` (bit offset in the frame),
    ``width``, ``bits`` (``"0b..."``) and ``value``; side-info fields are
    named ``gr{g}.ch{c}.NAME`` (``scfsi`` fields ``ch{c}.scfsi``).
    """
    from bitstring import Bits

    data = bytes(data)
    bits = Bits.from_bytes(data) if hasattr(Bits, "from_bytes") else Bits(bytes=data)  # bitstring 5 / 4
    out = []
    pos = 0

    def rd(name, width):
        nonlocal pos
        if pos + width > len(bits):
            raise ValueError(f"frame data ends inside {name} (bit {pos})")
        b = bits[pos:pos + width]
        out.append({"name": name, "offset": pos, "width": width, "bits": "0b" + b.bin, "value": int(b.uint)})
        pos += width
        return int(b.uint)

    hv = {name: rd(name, w) for name, w in _HEADER_FIELDS}
    lsf = hv["version_id"] != 3
    nch = 1 if hv["mode"] == 3 else 2
    if hv["protection_bit"] == 0:
        rd("crc_check", 16)
    rd("main_data_begin", 8 if lsf else 9)
    rd("private_bits", (1 if nch == 1 else 2) if lsf else (5 if nch == 1 else 3))
    if not lsf:
        for c in range(nch):
            rd(f"ch{c}.scfsi", 4)
    for g in range(1 if lsf else 2):
        for c in range(nch):
            p = f"gr{g}.ch{c}."
            rd(p + "part2_3_length", 12)
            rd(p + "big_values", 9)
            rd(p + "global_gain", 8)
            rd(p + "scalefac_compress", 9 if lsf else 4)
            if rd(p + "window_switching_flag", 1):
                rd(p + "block_type", 2)
                rd(p + "mixed_block_flag", 1)
                for i in range(2):
                    rd(p + f"table_select[{i}]", 5)
                for i in range(3):
                    rd(p + f"subblock_gain[{i}]", 3)
            else:
                for i in range(3):
                    rd(p + f"table_select[{i}]", 5)
                rd(p + "region0_count", 4)
                rd(p + "region1_count", 3)
            if not lsf:
                rd(p + "preflag", 1)
            rd(p + "scalefac_scale", 1)
            rd(p + "count1table_select", 1)
    return out
