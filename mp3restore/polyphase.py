"""Step 8: polyphase synthesis filterbank (ISO/IEC 11172-3 2.4.3.2 / Figure A.2, window Table B.3).

For each time slot, 32 subband samples ``S[k]`` become 64 values
``V[i] = sum_k cos((16 + i)(2k + 1) pi / 64) S[k]``, pushed into a FIFO of the
last 16 slots; the 32 output samples are
``out[j] = sum_{i<8} D[64i + j] V_{2i}[j] + D[64i + 32 + j] V_{2i+1}[32 + j]``
(``V_a`` = the vector pushed ``a`` slots ago).  The matrixing is computed via
``A[n] = sum_k S[k] cos((2k + 1) n pi / 64)`` (a DCT-II of size 32), from
which ``V = [A16..A31, 0, -A31..-A1, -A0, -A1..-A15]``.
State per channel: ``ring`` float64[16, 64] and the index of the newest slot.
"""
import numpy as np

from ._jit import njit
from .tables.synth_window import D as _D

D = np.array(_D, np.float64)
# DCT-II matrix for the matrixing
DCT32 = np.cos(np.pi / 64 * np.outer(np.arange(32), 2 * np.arange(32) + 1))


@njit
def synth_slot(s, ring, newest, out, o, stride):
    """Push one slot ``s`` float64[32] into ``ring[newest]`` and write 32 samples.

    ``out[o + j * stride]`` receives sample ``j`` (flat float32 output array).
    """
    v = ring[newest]
    for n in range(32):
        acc = 0.0
        for k in range(32):
            acc += DCT32[n, k] * s[k]
        if n == 0:
            v[48] = -acc
        elif n < 16:
            v[48 - n] = -acc
            v[48 + n] = -acc
        else:
            v[n - 16] = acc
            v[48 - n] = -acc
    v[16] = 0.0
    for j in range(32):
        acc = 0.0
        for i in range(8):
            acc += D[64 * i + j] * ring[(newest + 2 * i) & 15, j]
            acc += D[64 * i + 32 + j] * ring[(newest + 2 * i + 1) & 15, 32 + j]
        out[o + j * stride] = acc


@njit
def synth_granule(y, ring, newest, out, o, stride, s):
    """Run the 18 slots of one granule (``y[sb * 18 + t]``); returns the new ``newest``.

    The ring runs backwards: the newest slot is at ``newest``, older ones at
    ``newest + 1, newest + 2, ...`` (mod 16).
    """
    for t in range(18):
        for k in range(32):
            s[k] = y[k * 18 + t]
        newest = (newest - 1) & 15
        synth_slot(s, ring, newest, out, o + t * 32 * stride, stride)
    return newest
