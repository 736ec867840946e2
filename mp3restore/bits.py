"""Bit reading primitives for the jitted kernels (MSB first, as in MPEG audio).

Buffers are 1-D ``uint8`` arrays that carry at least 4 zero bytes past the last
byte a kernel may read, so a peek of up to 25 bits never leaves the array.
Positions are in bits, held by the caller as plain integers.
"""
import numpy as np

from ._jit import njit


@njit(inline="always")
def peek(buf, pos, n):
    """Return the next ``n`` (0..25) bits at bit position ``pos`` without consuming them."""
    if n == 0:
        return 0
    p = pos >> 3
    w = (
        (int(buf[p]) << 24)
        | (int(buf[p + 1]) << 16)
        | (int(buf[p + 2]) << 8)
        | int(buf[p + 3])
    )
    w = (w << (pos & 7)) & 0xFFFFFFFF
    return w >> (32 - n)


@njit(inline="always")
def getbits(buf, pos, n):
    """Read ``n`` (0..25) bits at ``pos``; return ``(value, pos + n)``."""
    return peek(buf, pos, n), pos + n


@njit(inline="always")
def popcount(m):
    """Set bits of the uint64 ``m`` (branchless; LLVM turns it into one ``popcnt``)."""
    m = m - ((m >> np.uint64(1)) & np.uint64(0x5555555555555555))
    m = (m & np.uint64(0x3333333333333333)) + ((m >> np.uint64(2)) & np.uint64(0x3333333333333333))
    m = (m + (m >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((m * np.uint64(0x0101010101010101)) >> np.uint64(56))
