"""Restoration, shared piece: deterministic noise.

Noise comes from a fixed table of uniform values of unit variance: the lines
of granule ``g``, channel ``c`` read the table from an offset that is a hash of
(granule, channel, window, stream seed).  There is no generator with state, so
any range of granules gives the same values (a threaded decode or one split
into blocks is bit-identical to a serial one), and a run of lines is a
contiguous slice of the table, which the fill loops read like any array.
The table has ``NOISE_N`` values plus 576 so a run never wraps.
"""
import numpy as np

from .._jit import njit

NOISE_N = 1 << 13


@njit(inline="always")
def mix64(x):
    """splitmix64's finaliser: a bijective scramble of a uint64."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _table():
    x = mix64.py_func(np.arange(NOISE_N + 576, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    u = (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return ((2.0 * u - 1.0) * np.sqrt(3.0)).astype(np.float32)  # uniform on [-sqrt 3, sqrt 3]: unit variance


NOISE = _table()


@njit
def noise_offset(g, c, w, salt):
    """Start in :data:`NOISE` of the lines of granule ``g``, channel ``c``, window ``w`` (-1: long)."""
    x = (np.uint64(g) * np.uint64(0x9E3779B97F4A7C15)) ^ (np.uint64(c * 4099 + salt) << np.uint64(32))
    x ^= np.uint64((w + 1) * 0x51ED27)
    return np.int64(mix64(x) % np.uint64(NOISE_N))
