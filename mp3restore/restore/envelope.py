"""Restoration, sub-step 2: the spectral envelope of the coded band's top octave.

Mean power per line is measured in ``NB`` log-spaced bands between ``a`` and
``b`` lines; a least-squares line through (log2 frequency, dB) gives the slope
in dB per octave and the level at ``b``.  Bands with no energy (holes) are left
out of the fit.  Tonality is judged by how noise-like (rather than peaky, arithmetic
mean power) of the non-zero lines of the source range, measured as
``mean(|x|)**2 / mean(x**2)`` (see :func:`flatness`).
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
    """Noisiness of the non-zero lines ``a..b``: ``mean(|x|)**2 / mean(x**2)``.

    About 2/pi = 0.64 for Gaussian noise, towards 0 for a few strong peaks
    (tonal); cheaper than the spectral flatness (no logarithms) and ranks the
    same way.
    """
    s1 = 0.0
    s2 = 0.0
    n = 0
    for k in range(a, b):
        v = x[k] if w < 0 else x[short_index(k, w)]
        if v != 0.0:
            s1 += abs(v)
            s2 += v * v
            n += 1
    if n < 4 or s2 <= 0.0:
        return 1.0
    return (s1 / n) ** 2 / (s2 / n)
