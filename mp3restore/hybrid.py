"""Step 7: the hybrid filterbank's MDCT half (ISO/IEC 11172-3 2.4.3.4.10):
alias reduction, IMDCT with windowing and overlap-add, frequency inversion.

Input: one granule of one channel, ``x`` float32[576] in the layout of
:func:`mp3restore.requantize.reorder`.  Output: ``y`` float64[576] holding
18 time samples for each of the 32 polyphase subbands, ``y[sb * 18 + t]``.
State: ``overlap`` float64[576], the second half of the previous IMDCT outputs.
"""
import numpy as np

from ._jit import njit

# alias reduction coefficients c_i (11172-3 Table B.9)
_C = np.array([-0.6, -0.535, -0.33, -0.185, -0.095, -0.041, -0.0142, -0.0037])
CS = 1.0 / np.sqrt(1.0 + _C * _C)
CA = _C / np.sqrt(1.0 + _C * _C)


def _windows():
    """Long windows for block types 0, 1, 3 (2.4.3.4.10.2) and the short window."""
    i = np.arange(36)
    w = np.zeros((4, 36))
    w[0] = np.sin(np.pi / 36 * (i + 0.5))
    w[1, :18] = w[0, :18]
    w[1, 18:24] = 1.0
    w[1, 24:30] = np.sin(np.pi / 12 * (i[24:30] - 18 + 0.5))
    w[3, 6:12] = np.sin(np.pi / 12 * (i[6:12] - 6 + 0.5))
    w[3, 12:18] = 1.0
    w[3, 18:] = w[0, 18:]
    w[2, :12] = np.sin(np.pi / 12 * (np.arange(12) + 0.5))  # short window (12 points)
    return w


WINDOWS = _windows()


def _imdct_matrix(n):
    """IMDCT matrix, x_i = sum_k X_k cos(pi / (2n) (2i + 1 + n/2)(2k + 1)), shape (n, n/2)."""
    i = np.arange(n)[:, None]
    k = np.arange(n // 2)[None, :]
    return np.cos(np.pi / (2 * n) * (2 * i + 1 + n / 2) * (2 * k + 1))


# windowed IMDCT-36 matrices per long block type (index 2 unused) and the windowed IMDCT-12
IMDCT36 = np.ascontiguousarray(np.stack([WINDOWS[t][:, None] * _imdct_matrix(36) for t in range(4)]))
IMDCT12 = np.ascontiguousarray(WINDOWS[2, :12][:, None] * _imdct_matrix(12))


@njit
def antialias(x, nsb, mixed):
    """Alias-reduction butterflies between subbands (long blocks; mixed: only sb 0/1).

    ``x`` float64[576] in place; ``nsb``: butterflies for boundaries 1..nsb-1.
    """
    last = 2 if mixed else nsb
    for sb in range(1, last):
        a = sb * 18
        for i in range(8):
            lo = x[a - 1 - i]
            hi = x[a + i]
            x[a - 1 - i] = lo * CS[i] - hi * CA[i]
            x[a + i] = hi * CS[i] + lo * CA[i]


@njit
def imdct_long(x, a, bt, out36):
    m = IMDCT36[bt]
    for i in range(36):
        acc = 0.0
        for k in range(18):
            acc += m[i, k] * x[a + k]
        out36[i] = acc


@njit
def imdct_short(x, a, out36):
    for i in range(36):
        out36[i] = 0.0
    for w in range(3):
        for i in range(12):
            acc = 0.0
            for k in range(6):
                acc += IMDCT12[i, k] * x[a + w * 6 + k]
            out36[6 + 6 * w + i] += acc


@njit
def hybrid_granule(src, bt, mixed, overlap, x, y, out36):
    """Alias reduction, IMDCT, overlap-add and frequency inversion of one granule/channel.

    ``src`` float32[576]; ``x``, ``out36`` scratch float64[576], float64[36];
    ``y`` float64[576] output; ``overlap`` float64[576] state, updated.
    """
    nz = 0
    for i in range(575, -1, -1):
        if src[i] != 0.0:
            nz = i + 1
            break
    for i in range(576):
        x[i] = src[i]
    nsb = (nz + 17) // 18
    short = bt == 2
    if not short or mixed:
        # butterflies spread energy one subband up
        antialias(x, min(nsb + 1, 32), short and mixed)
        if not short:
            nsb = min(nsb + 1, 32)
        else:
            nsb = max(nsb, 2) if nz > 0 else 0
    for sb in range(32):
        a = sb * 18
        if sb < nsb:
            if mixed and sb < 2:
                # the two lowest subbands of a block with mixed_block_flag use
                # the normal window, whatever the block type (as the ISO
                # reference decoder does; l3-si_block sets the flag on types 1/3)
                imdct_long(x, a, 0, out36)
            elif not short:
                imdct_long(x, a, bt, out36)
            else:
                imdct_short(x, a, out36)
            for t in range(18):
                y[a + t] = out36[t] + overlap[a + t]
                overlap[a + t] = out36[18 + t]
        else:
            for t in range(18):
                y[a + t] = overlap[a + t]
                overlap[a + t] = 0.0
        if sb & 1:
            for t in range(1, 18, 2):
                y[a + t] = -y[a + t]
