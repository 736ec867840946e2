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
from .lines import any_bits, nonzero_bits
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


@njit(inline="always")
def fill_holes(x, g, sf, sfb, kl, runs, gabs, c, salt, strength, pw, bits):
    """Fill the holes of one long-block granule/channel ``x`` in place; update ``runs``.

    ``kl``: one past the highest non-zero line.  ``pw``: scratch float64[22]
    (band powers, computed only for the neighbours of holes); ``bits``: scratch
    uint64[9] (the bit map of non-zero lines, :mod:`.lines`).
    Returns the bit mask of the bands filled."""
    nonzero_bits(x, 0, (kl + 63) >> 6, bits)  # lines from kl up are zero
    zero = 0  # bit b: band b has no non-zero line below kl
    full = 0  # bit b: band b ends at or below kl
    b = 0
    while b < 22 and sfb[b] < kl:
        if not any_bits(bits, sfb[b], min(kl, sfb[b + 1])):
            zero |= 1 << b
        if sfb[b + 1] <= kl:
            full |= 1 << b
        b += 1
    zero |= ((1 << 22) - 1) & ~((1 << b) - 1)  # the bands from kl up
    silent = 0  # bit b: zero for more than RUN_MAX granules
    for b in range(22):
        if (zero >> b) & 1:
            r = min(runs[b] + 1, RUN_MAX + 1)
            runs[b] = r
            if r > RUN_MAX:
                silent |= 1 << b
        else:
            runs[b] = 0
    nz = ((1 << 22) - 1) & ~zero
    # holes: zero, inside the coded band, not silent for long, bands 1..20, and a non-zero
    # band within two on each side
    near_lo = (nz << 1) | (nz << 2)
    near_hi = (nz >> 1) | (nz >> 2)
    holes = zero & full & ~silent & near_lo & near_hi & 0x1FFFFE
    if holes == 0:
        return 0
    for j in range(22):
        pw[j] = -1.0
    noff = noise_offset(gabs, c, HOLES_STREAM, salt)
    for b in range(1, 21):
        if not (holes >> b) & 1:
            continue
        lo = b - 1 if (nz >> (b - 1)) & 1 else b - 2
        hi = b + 1 if (nz >> (b + 1)) & 1 else b + 2
        for j in (lo, hi):
            if pw[j] < 0.0:
                pw[j] = band_power(x, sfb[j], sfb[j + 1])
        level = 5.0 * np.log10(pw[lo] * pw[hi]) - HOLE_DB  # the mean of the two levels, one log
        q = long_band_q(g, sf, b)
        cap = 10.0 * np.log10(CAP) + 10.0 * np.log10(2.0) * q / 2.0  # 10log10(CAP * step^2)
        level = min(level, cap)
        amp = np.exp(level * (np.log(10.0) / 20.0)) * strength  # 10 ** (level / 20)
        for k in range(sfb[b], sfb[b + 1]):
            x[k] = amp * NOISE[noff + k]
    return holes
