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

from .._jit import SUMS, njit
from ..requantize import long_band_q
from .lines import is_zero
from .noise import NOISE, noise_offset

HOLE_DB = 6.0
CAP = 0.1
RUN_MAX = 160  # granules (about 2 s at 44.1 kHz); also the state's history length
HOLES_STREAM = 3  # noise stream of holes (the high band uses -1 for long blocks, 0..2 per short window)


@njit(fastmath=SUMS)
def band_power(x, lo, hi):
    p = 0.0
    for k in range(lo, hi):
        v = np.float64(x[k])
        p += v * v
    return p / max(1, hi - lo)


@njit
def fill_holes(x, g, sf, sfb, kl, runs, gabs, c, salt, strength, pw):
    """Fill the holes of one long-block granule/channel ``x`` in place; update ``runs``.

    ``kl``: one past the highest non-zero line.  ``pw``: scratch float64[22]
    (band powers, computed only for the neighbours of holes; -1: not yet).
    Returns the bit mask of the bands filled."""
    for b in range(22):
        lo = sfb[b]
        hi = min(kl, sfb[b + 1])
        # a band's end lines settle most bands without the full count
        zero = lo >= kl or (x[lo] == 0.0 and x[hi - 1] == 0.0 and is_zero(x, lo, hi))
        pw[b] = 0.0 if zero else -1.0
        runs[b] = min(runs[b] + 1, RUN_MAX + 1) if zero else 0
    mask = 0
    noff = -1
    for b in range(1, 21):
        if pw[b] != 0.0 or sfb[b + 1] > kl or runs[b] > RUN_MAX:
            continue
        lo = -1
        for j in range(b - 1, max(-1, b - 3), -1):
            if pw[j] != 0.0:
                lo = j
                break
        hi = -1
        for j in range(b + 1, min(22, b + 3)):
            if pw[j] != 0.0:
                hi = j
                break
        if lo < 0 or hi < 0:
            continue
        for j in (lo, hi):
            if pw[j] < 0.0:
                pw[j] = band_power(x, sfb[j], sfb[j + 1])
        level = 5.0 * np.log10(pw[lo] * pw[hi]) - HOLE_DB  # the mean of the two levels, one log
        q = long_band_q(g, sf, b)
        cap = 10.0 * np.log10(CAP) + 10.0 * np.log10(2.0) * q / 2.0  # 10log10(CAP * step^2)
        level = min(level, cap)
        amp = np.exp(level * (np.log(10.0) / 20.0)) * strength  # 10 ** (level / 20)
        if noff < 0:
            noff = noise_offset(gabs, c, HOLES_STREAM, salt)
        for k in range(sfb[b], sfb[b + 1]):
            x[k] = amp * NOISE[noff + k]
        mask |= 1 << b
    return mask
