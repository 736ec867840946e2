"""Restoration, shared pieces: deterministic noise and short-block indexing.

Noise is a hash of (granule, channel, line, stream seed), not a generator with
state, so that any range of granules gives the same values: a threaded decode
or one split into blocks is bit-identical to a serial one.
"""
import numpy as np

from .._jit import njit

SQRT3 = np.sqrt(3.0)


@njit(inline="always")
def uniform(g, c, k, salt):
    """Deterministic uniform noise of unit variance in [-sqrt(3), sqrt(3)]."""
    x = (np.uint64(g) * np.uint64(0x9E3779B97F4A7C15)) ^ (np.uint64(c * 4099 + salt) << np.uint64(32)) ^ np.uint64(k)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    u = np.float64(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return (2.0 * u - 1.0) * SQRT3


@njit(inline="always")
def short_index(f, w):
    """Index in a granule's 576 values of line ``f`` (0..191) of short window ``w``."""
    return (f // 6) * 18 + w * 6 + f % 6
