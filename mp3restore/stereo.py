"""Step 6: joint stereo (ISO/IEC 11172-3 2.4.3.4.9; 13818-3 2.4.3.2 for LSF intensity).

Works on the requantized lines of both channels of one granule, in Huffman
order (before short-block reordering): ``xr[0]`` is left/mid, ``xr[1]``
right/side.  Mid/side: ``L = (M + S) / sqrt(2)``, ``R = (M - S) / sqrt(2)``.
Intensity bands start above the highest non-zero line of the right channel
(per window for short blocks); a band whose position is the illegal value
falls back to mid/side (if on) or is left alone.
"""
import numpy as np

from ._jit import njit
from .requantize import is_short
from .scalefactors import n_long_mixed
from .sideinfo import MIXED_BLOCK, SCALEFAC_COMPRESS

INV_SQRT2 = 1.0 / np.sqrt(2.0)
# MPEG-1: k_l = tan(p pi/12) / (1 + tan(p pi/12)), k_r = 1 / (1 + tan(p pi/12)), p = 0..6
_t = np.tan(np.arange(7) * np.pi / 12)
IS_MPEG1 = np.empty((7, 2))
IS_MPEG1[:, 0] = _t / (1 + _t)
IS_MPEG1[:, 1] = 1 / (1 + _t)
IS_MPEG1[6] = (1.0, 0.0)
# LSF: io = 2**(-1/4) (intensity_scale 0) or 2**(-1/2) (1); factor io**((p+1)//2)
IS_LSF = np.array([[(2.0 ** -0.25) ** k for k in range(33)], [(2.0 ** -0.5) ** k for k in range(33)]])


@njit
def _ms(xr, lo, hi):
    # an unsigned index: no negative-index wraparound, so the loop vectorises
    # for any ``lo`` (not only a constant 0)
    for i in range(np.uint64(lo), np.uint64(hi)):
        m = xr[0, i]
        s = xr[1, i]
        xr[0, i] = (m + s) * INV_SQRT2
        xr[1, i] = (m - s) * INV_SQRT2


@njit
def _band(xr, lo, hi, pos, illegal, lsf, iscale, ms):
    """Intensity (or the fallback) for lines ``lo..hi`` with position ``pos``."""
    if pos == illegal:
        if ms:
            _ms(xr, lo, hi)
        return
    if lsf:
        if pos > 64:  # cannot happen: LSF positions have at most 5 bits
            return
        if pos == 0:
            kl = 1.0
            kr = 1.0
        elif pos & 1:
            kl = IS_LSF[iscale, (pos + 1) >> 1]
            kr = 1.0
        else:
            kl = 1.0
            kr = IS_LSF[iscale, pos >> 1]
    else:
        if pos > 6:  # cannot happen for legal MPEG-1 positions (7 is illegal)
            if ms:
                _ms(xr, lo, hi)
            return
        kl = IS_MPEG1[pos, 0]
        kr = IS_MPEG1[pos, 1]
    for i in range(lo, hi):
        x = xr[0, i]
        xr[0, i] = x * kl
        xr[1, i] = x * kr


@njit
def _last_nonzero(x, lo, hi):
    for i in range(hi - 1, lo - 1, -1):
        if x[i] != 0.0:
            return i + 1
    return lo


@njit
def stereo(xr, g1, sf1, is_max1, mode_ext, lsf, sfb_long, sfb_short, sr_idx, nz0, nz1):
    """Apply mid/side and intensity stereo to ``xr`` (float64[2, 576]) in place.

    ``g1``, ``sf1``, ``is_max1``: side info, scalefactors and illegal positions
    of the right channel; ``nz0``, ``nz1``: non-zero extents of both channels.
    """
    ms = (mode_ext & 2) != 0
    if not (mode_ext & 1):
        if ms:
            _ms(xr, 0, max(nz0, nz1))
        return
    iscale = g1[SCALEFAC_COMPRESS] & 1
    if not is_short(g1):
        b0 = 0
        while b0 < 22 and sfb_long[b0] < nz1:
            b0 += 1
        if ms:
            _ms(xr, 0, sfb_long[b0])
        for b in range(b0, 22):
            k = b if b < 21 else 20
            _band(xr, sfb_long[b], sfb_long[b + 1], sf1[k], is_max1[k], lsf, iscale, ms)
        return
    # short or mixed
    mixed = g1[MIXED_BLOCK] != 0
    s_first = 3 if mixed else 0
    nl = n_long_mixed(sr_idx) if mixed else 0
    long_end = 3 * sfb_short[3] if mixed else 0
    any_short = False
    for w in range(3):
        # highest short band of window w holding a non-zero right-channel line
        start_sfb = s_first
        for s in range(12, s_first - 1, -1):
            width = sfb_short[s + 1] - sfb_short[s]
            lo = 3 * sfb_short[s] + w * width
            if _last_nonzero(xr[1], lo, lo + width) > lo:
                start_sfb = s + 1
                any_short = True
                break
        for s in range(s_first, 13):
            width = sfb_short[s + 1] - sfb_short[s]
            lo = 3 * sfb_short[s] + w * width
            if s < start_sfb:
                if ms:
                    _ms(xr, lo, lo + width)
            else:
                k = s if s < 12 else 11
                idx = nl + (k - s_first) * 3 + w
                _band(xr, lo, lo + width, sf1[idx], is_max1[idx], lsf, iscale, ms)
    if mixed:
        if any_short:
            if ms:
                _ms(xr, 0, long_end)
        else:
            nzl = _last_nonzero(xr[1], 0, long_end)
            b0 = 0
            while b0 < nl and sfb_long[b0] < nzl:
                b0 += 1
            if ms:
                _ms(xr, 0, sfb_long[b0] if b0 < nl else long_end)
            for b in range(b0, nl):
                hi = sfb_long[b + 1] if b < nl - 1 else long_end
                _band(xr, sfb_long[b], hi, sf1[b], is_max1[b], lsf, iscale, ms)
