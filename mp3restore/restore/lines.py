"""Restoration, shared pieces: line-level helpers used by the sub-steps
(short-window indexing, gathering a window's lines, zero tests)."""
import numpy as np

from .._jit import njit
from ..sideinfo import BLOCK_TYPE, LAST_NONZERO


@njit(inline="always")
def short_index(f, w):
    """Index in a granule's 576 values of line ``f`` (0..191) of short window ``w``."""
    return (f // 6) * 18 + w * 6 + f % 6


@njit
def gather_window(x, w, out):
    """``out[f] = x[short_index(f, w)]`` for the 192 lines of short window ``w``."""
    for s in range(32):
        for j in range(6):
            out[s * 6 + j] = x[s * 18 + w * 6 + j]


@njit
def scatter_window(src, w, lo, x):
    """The inverse of :func:`gather_window` for lines ``lo..191``."""
    s0 = lo // 6
    for f in range(lo, min(192, 6 * s0 + 6)):  # the rest of lo's subband
        x[short_index(f, w)] = src[f]
    for s in range(s0 + 1, 32):  # whole subbands: 6 lines each, a loop that unrolls
        for j in range(6):
            x[s * 18 + w * 6 + j] = src[s * 6 + j]


@njit
def is_zero(x, lo, hi):
    band = x[lo:hi]
    nzc = 0
    for k in range(len(band)):  # a count without early exit: it vectorises
        nzc += np.int32(band[k] != 0.0)
    return nzc == 0


@njit(inline="always")
def _below_zero_blocks(x, top, n):
    """``top`` lowered past the all-zero blocks of ``n`` values just below it."""
    while top >= n and is_zero(x, top - n, top):
        top -= n
    return top


@njit
def last_nonzero(x):
    """One past the highest non-zero value of ``x`` (0 when all are zero)."""
    return last_nonzero_below(x, len(x))


@njit
def last_nonzero_below(x, top):
    """One past the highest non-zero value of ``x[:top]`` (0 when all are zero)."""
    # skip zero blocks of 64, then of 8: the zero top of a granule is usually a few hundred lines
    top = _below_zero_blocks(x, _below_zero_blocks(x, top, 64), 8)
    for k in range(top - 1, -1, -1):
        if x[k] != 0.0:
            return k + 1
    return 0


@njit(inline="always")
def bounded_top(gi_g):
    """One past the highest line that can be non-zero in a granule as the decoder
    writes it (``gi_g``: its side info, int32[C, N_FIELDS], channels the decoder
    copied included): the highest ``LAST_NONZERO`` of its channels, since stereo
    processing only combines lines below it; 576 when a channel is a short block
    (reordering moves lines above its Huffman index)."""
    top = 0
    for c in range(gi_g.shape[0]):
        if gi_g[c, BLOCK_TYPE] == 2:
            return 576
        top = max(top, gi_g[c, LAST_NONZERO])
    return min(576, top)


@njit
def bounded_tops(gi, out):
    """:func:`bounded_top` of each granule of ``gi[G, C, N_FIELDS]`` into ``out`` int64[G]."""
    for g in range(gi.shape[0]):
        out[g] = bounded_top(gi[g])
