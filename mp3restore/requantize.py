"""Step 5: requantization (ISO/IEC 11172-3 2.4.3.4.7) and short-block reordering.

``xr = sign(is) * |is|**(4/3) * 2**(q / 4)`` with, for long bands,
``q = global_gain - 210 - 2 * (1 + scalefac_scale) * (sf + preflag * pretab)``
and, for short windows, ``q = global_gain - 210 - 8 * subblock_gain[w] - 2 * (1 + scalefac_scale) * sf``.

Lines stay in the order the Huffman data has them (for short blocks: band by
band, each band's three windows one after the other) until :func:`reorder`,
which is applied after stereo processing.
"""
import numpy as np

from ._jit import njit
from .scalefactors import n_long_mixed
from .sideinfo import BLOCK_TYPE, GLOBAL_GAIN, MIXED_BLOCK, PREFLAG, SCALEFAC_SCALE, SUBBLOCK_GAIN, WINDOW_SWITCHING
from .tables.bands import PRETAB

# |is|**(4/3) for every value Huffman decoding can produce (15 + 2**13 - 1)
POW43 = np.arange(8207, dtype=np.float64) ** (4.0 / 3.0)
# sign(v) * |v|**(4/3) for v in -8206..8206, indexed by v + POW43_OFFSET (branch-free requantization;
# -POW43[-v] is the exact negation, so ``POW43S[v + POW43_OFFSET] * gain`` equals ``-POW43[-v] * gain``)
POW43_OFFSET = 8206
POW43S = np.concatenate((-POW43[:0:-1], POW43))
PRETAB_ARR = np.array(PRETAB, np.int32)
GAIN_OFFSET = 512
# 2**(q/4) for q in -512..511
GAIN = np.exp2((np.arange(1024, dtype=np.float64) - GAIN_OFFSET) * 0.25)


@njit(inline="always")
def long_band_q(g, sf, b):
    """The gain exponent ``q`` of long band ``b`` of a granule/channel (side info ``g``,
    scalefactors ``sf``): see the module docstring."""
    return g[GLOBAL_GAIN] - 210 - 2 * (1 + g[SCALEFAC_SCALE]) * (sf[b] + g[PREFLAG] * PRETAB_ARR[b])


@njit(inline="always")
def short_band_q(g, sf_k, w):
    """The gain exponent ``q`` of a short band in window ``w`` whose scalefactor is ``sf_k``
    (side info ``g``): see the module docstring."""
    return g[GLOBAL_GAIN] - 210 - 8 * g[SUBBLOCK_GAIN + w] - 2 * (1 + g[SCALEFAC_SCALE]) * sf_k


@njit
def step_gain(q):
    """``2**(q / 4)``, the requantization gain: the size of a step of 1 in ``|is|**(4/3)``."""
    i = q + GAIN_OFFSET
    if i < 0:
        return 0.0
    if i > 1023:
        i = 1023
    return GAIN[i]


@njit
def _scale_lines(ix, xr, lo, hi, gain):
    for i in range(lo, hi):
        xr[i] = POW43S[np.uint64(ix[i] + POW43_OFFSET)] * gain


@njit
def is_short(g):
    return g[WINDOW_SWITCHING] != 0 and g[BLOCK_TYPE] == 2


@njit
def requantize(ix, nlines, g, sf, sfb_long, sfb_short, sr_idx, xr):
    """Requantize the Huffman values ``ix`` (int32[576]) into ``xr`` (float64[576]).

    ``nlines``: lines above this index are zero and skipped.
    """
    for i in range(nlines, 576):
        xr[i] = 0.0
    if not is_short(g):
        for b in range(22):
            lo = sfb_long[b]
            if lo >= nlines:
                break
            hi = min(sfb_long[b + 1], nlines)
            _scale_lines(ix, xr, lo, hi, step_gain(long_band_q(g, sf, b)))
        return
    k = 0
    s0 = 0
    if g[MIXED_BLOCK]:
        nl = n_long_mixed(sr_idx)
        for b in range(nl):
            lo = sfb_long[b]
            hi = sfb_long[b + 1]
            if b == nl - 1:
                hi = 3 * sfb_short[3]  # covers the gap at 8 kHz (no standard there)
            hi = min(hi, nlines)
            if lo < hi:
                _scale_lines(ix, xr, lo, hi, step_gain(long_band_q(g, sf, b)))
        k = nl
        s0 = 3
    for s in range(s0, 13):
        width = sfb_short[s + 1] - sfb_short[s]
        start = 3 * sfb_short[s]
        if start >= nlines:
            break
        for w in range(3):
            lo = start + w * width
            hi = min(lo + width, nlines)
            if lo < hi:
                _scale_lines(ix, xr, lo, hi, step_gain(short_band_q(g, sf[k], w)))
            k += 1


@njit
def reorder(g, xr, sfb_short, out):
    """Copy ``xr`` into ``out`` (float32[576]) in the layout the synthesis uses.

    Long blocks are copied as they are.  Short-block lines go to
    ``out[sb * 18 + w * 6 + k]`` = line ``sb * 6 + k`` of window ``w``
    (subband-major, so each 18-line subband holds its three windows of 6 lines);
    in mixed blocks the first 36 lines are long and stay in place.
    """
    if not is_short(g):
        for i in range(576):
            out[i] = xr[i]
        return
    s0 = 0
    if g[MIXED_BLOCK]:
        for i in range(36):
            out[i] = xr[i]
        s0 = 3
    for s in range(s0, 13):
        lo_f = sfb_short[s]
        width = sfb_short[s + 1] - lo_f
        start = 3 * lo_f
        for w in range(3):
            src = start + w * width
            for j in range(width):
                f = lo_f + j
                out[(f // 6) * 18 + w * 6 + f % 6] = xr[src + j]
