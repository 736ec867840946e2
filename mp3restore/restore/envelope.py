"""Restoration, sub-step 2: the spectral envelope of the coded band's top octave.

Mean power per line is measured in ``NB`` log-spaced bands between ``a`` and
``b`` lines; a least-squares line through (log2 frequency, dB) gives the slope
in dB per octave and the level at ``b``.  Bands with no energy (holes) are left
out of the fit.  Tonality is the spectral flatness (geometric over arithmetic
mean power) of the non-zero lines of the source range.
"""
import numpy as np

from .._jit import njit
from .noise import short_index

NB = 4


@njit
def fit_envelope(x, a, b, w):
    """Fit over lines ``a..b`` of ``x`` (long layout when ``w < 0``, else short window ``w``).

    Returns ``(level_db_at_b, slope_db_per_octave, n_bands_used)``.
    """
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    sxy = 0.0
    n = 0
    if b - a < NB:
        return -200.0, 0.0, 0
    for i in range(NB):
        lo = int(a * (b / a) ** (i / NB))
        hi = int(a * (b / a) ** ((i + 1) / NB))
        if i == NB - 1:
            hi = b
        if hi <= lo:
            continue
        p = 0.0
        for k in range(lo, hi):
            v = x[k] if w < 0 else x[short_index(k, w)]
            p += v * v
        p /= hi - lo
        if p <= 0.0:
            continue
        xc = np.log2(0.5 * (lo + hi) / b)
        yc = 10.0 * np.log10(p)
        sx += xc
        sy += yc
        sxx += xc * xc
        sxy += xc * yc
        n += 1
    if n == 0:
        return -200.0, 0.0, 0
    if n == 1:
        return sy, 0.0, 1
    den = n * sxx - sx * sx
    slope = (n * sxy - sx * sy) / den if den > 1e-12 else 0.0
    level = (sy - slope * sx) / n
    return level, slope, n


@njit
def flatness(x, a, b, w):
    """Spectral flatness of the non-zero lines ``a..b`` (0 tonal .. ~0.3-0.6 noise)."""
    sl = 0.0
    sp = 0.0
    n = 0
    for k in range(a, b):
        v = x[k] if w < 0 else x[short_index(k, w)]
        p = v * v
        if p > 0.0:
            sl += np.log(p)
            sp += p
            n += 1
    if n < 4 or sp <= 0.0:
        return 1.0
    return np.exp(sl / n) / (sp / n)
