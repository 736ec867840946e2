"""Restoration, sub-step 4: fill spectral holes inside the coded band (long blocks).

A hole is a long scalefactor band whose lines are all zero below the granule's
highest non-zero line, with non-zero bands near it on both sides.  It is filled
with noise at the neighbours' interpolated level minus ``HOLE_DB``, capped by
what the quantizer could have zeroed: with the band's own step
``2**(q/4)`` (global gain, scalefactor, preflag), every true line was below
about half a step, so the mean power stays under ``CAP * step**2``.  A band
that has been zero for more than ``RUN_MAX`` granules in a row is treated as
intentionally silent and left alone.
"""
import numpy as np

from .._jit import njit
from ..requantize import PRETAB_ARR
from ..sideinfo import GLOBAL_GAIN, PREFLAG, SCALEFAC_SCALE
from .noise import uniform

HOLE_DB = 6.0
CAP = 0.1
RUN_MAX = 160  # granules (about 2 s at 44.1 kHz); also the state's history length


@njit
def band_power(x, lo, hi):
    p = 0.0
    for k in range(lo, hi):
        p += x[k] * x[k]
    return p / max(1, hi - lo)


@njit
def fill_holes(x, g, sf, sfb, kl, runs, gabs, c, salt, strength, pw):
    """Fill the holes of one long-block granule/channel ``x`` in place; update ``runs``.

    ``pw``: scratch float64[22].  Returns the bit mask of the bands filled."""
    for b in range(22):
        pw[b] = band_power(x, sfb[b], sfb[b + 1])
        if pw[b] == 0.0:
            runs[b] = min(runs[b] + 1, RUN_MAX + 1)
        else:
            runs[b] = 0
    mult = 2 * (1 + g[SCALEFAC_SCALE])
    mask = 0
    for b in range(1, 21):
        if pw[b] != 0.0 or sfb[b + 1] > kl or runs[b] > RUN_MAX:
            continue
        lo = -1
        for j in range(b - 1, max(-1, b - 3), -1):
            if pw[j] > 0.0:
                lo = j
                break
        hi = -1
        for j in range(b + 1, min(22, b + 3)):
            if pw[j] > 0.0:
                hi = j
                break
        if lo < 0 or hi < 0:
            continue
        level = 0.5 * (10.0 * np.log10(pw[lo]) + 10.0 * np.log10(pw[hi])) - HOLE_DB
        q = g[GLOBAL_GAIN] - 210 - mult * (sf[b] + g[PREFLAG] * PRETAB_ARR[b])
        cap = 10.0 * np.log10(CAP) + 10.0 * np.log10(2.0) * q / 2.0  # 10log10(CAP * step^2)
        level = min(level, cap)
        amp = 10.0 ** (level / 20.0) * strength
        for k in range(sfb[b], sfb[b + 1]):
            x[k] = amp * uniform(gabs, c, k + 5000, salt)
        mask |= 1 << b
    return mask
