"""Step 8: polyphase synthesis filterbank (ISO/IEC 11172-3 2.4.3.2 / Figure A.2, window Table B.3).

For each time slot, 32 subband samples ``S[k]`` become 64 values
``V[i] = sum_k cos((16 + i)(2k + 1) pi / 64) S[k]``, pushed into a FIFO of the
last 16 slots; the 32 output samples are
``out[j] = sum_{i<8} D[64i + j] V_{2i}[j] + D[64i + 32 + j] V_{2i+1}[32 + j]``
(``V_a`` = the vector pushed ``a`` slots ago).  The matrixing is computed via
``A[n] = sum_k S[k] cos((2k + 1) n pi / 64)`` (a DCT-II of size 32), from
which ``V = [A16..A31, 0, -A31..-A1, -A0, -A1..-A15]``.

How the kernels compute it
--------------------------
*Slots are SIMD lanes.*  :func:`synth_block` takes the subband samples of up
to ``LANES`` consecutive slots at once, one row per subband (``S[k, s]``), and
every step is one loop over the slots whose body is straight-line code, which
the compiler vectorises.  The buffers have fixed row lengths (``LANES``,
``HIST + LANES``) so that the row offsets are compile-time constants.

*DCT-II.*  The fast recursive even/odd split of B. G. Lee (1984): for a
size-``n`` transform,

    g[k] = S[k] + S[n-1-k],   h[k] = (S[k] - S[n-1-k]) / (2 cos((2k+1) pi / (2n))),
    A[2m] = DCT_{n/2}(g)[m],  A[2m+1] = DCT_{n/2}(h)[m] + DCT_{n/2}(h)[m+1]

(80 multiplications and 209 additions for n = 32 instead of 1024 products),
written out as :func:`_dct2` ... :func:`_dct16` and the top level in
:func:`dct32_lanes`.  ``A[m]`` of slot ``s`` goes to ``H[m, HIST + s]``.

*FIFO.*  ``V`` is never stored: every ``V`` value is ``+-A[n]`` of some slot,
so the rows of ``H`` *are* the FIFO.  Columns ``0..14`` hold the ``A`` values
of the 15 slots before the block (the filterbank state), and tap ``i`` of
slot ``s`` reads column ``15 + s - i``.

*Windowing.*  Output ``j`` reads ``A[16 + j]`` (even taps) and ``A[16 - j]``
(odd taps), and so does output ``32 - j``; :func:`_window_pair` computes both
from the same 16 loaded rows.  The 16 products are added in tap order, with
the signs of ``V`` folded into the coefficients (exact), so the sums are the
same as those of the formula above term by term.
"""
import math

import numpy as np

from ._jit import njit
from .tables.synth_window import D as _D

D = np.array(_D, np.float64)
HIST = 15  # slots of history the window needs before the first slot of a block
BLOCK = 8  # granules per polyphase block
LANES = 18 * BLOCK  # slots per block
WIDTH = HIST + LANES  # row length of the history buffer H


def _lee(n):
    """The factors 1 / (2 cos((2k + 1) pi / (2n))) of a size-``n`` split, k < n/2."""
    return tuple(0.5 / math.cos((2 * k + 1) * math.pi / (2 * n)) for k in range(n // 2))


(L2_0,) = _lee(2)
L4_0, L4_1 = _lee(4)
L8_0, L8_1, L8_2, L8_3 = _lee(8)
L16_0, L16_1, L16_2, L16_3, L16_4, L16_5, L16_6, L16_7 = _lee(16)
(L32_0, L32_1, L32_2, L32_3, L32_4, L32_5, L32_6, L32_7,
 L32_8, L32_9, L32_10, L32_11, L32_12, L32_13, L32_14, L32_15) = _lee(32)


@njit(inline="always")
def _dct8(x0, x1, x2, x3, x4, x5, x6, x7):
    """DCT-II of size 8 (Lee): the size-4 DCTs of the sums and of the scaled
    differences, each of them written out (a size-4 DCT of ``a`` is
    ``g0, h0 + h1, g1, h1`` with ``g = (p + q, (p - q) L2_0)``, ``p = a0 + a3``,
    ``q = a1 + a2`` and ``h = (u + v, (u - v) L2_0)``, ``u = (a0 - a3) L4_0``,
    ``v = (a1 - a2) L4_1``).  Written out rather than split into functions:
    numba inlines, types and lowers each inlined call again (compile time)."""
    a0 = x0 + x7
    a1 = x1 + x6
    a2 = x2 + x5
    a3 = x3 + x4
    p = a0 + a3
    q = a1 + a2
    u = (a0 - a3) * L4_0
    v = (a1 - a2) * L4_1
    g3 = (u - v) * L2_0
    g0 = p + q
    g1 = (u + v) + g3
    g2 = (p - q) * L2_0
    a0 = (x0 - x7) * L8_0
    a1 = (x1 - x6) * L8_1
    a2 = (x2 - x5) * L8_2
    a3 = (x3 - x4) * L8_3
    p = a0 + a3
    q = a1 + a2
    u = (a0 - a3) * L4_0
    v = (a1 - a2) * L4_1
    h3 = (u - v) * L2_0
    h0 = p + q
    h1 = (u + v) + h3
    h2 = (p - q) * L2_0
    return g0, h0 + h1, g1, h1 + h2, g2, h2 + h3, g3, h3


@njit(inline="always")
def _dct16(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15):
    g0, g1, g2, g3, g4, g5, g6, g7 = _dct8(x0 + x15, x1 + x14, x2 + x13, x3 + x12,
                                           x4 + x11, x5 + x10, x6 + x9, x7 + x8)
    h0, h1, h2, h3, h4, h5, h6, h7 = _dct8((x0 - x15) * L16_0, (x1 - x14) * L16_1,
                                           (x2 - x13) * L16_2, (x3 - x12) * L16_3,
                                           (x4 - x11) * L16_4, (x5 - x10) * L16_5,
                                           (x6 - x9) * L16_6, (x7 - x8) * L16_7)
    return (g0, h0 + h1, g1, h1 + h2, g2, h2 + h3, g3, h3 + h4,
            g4, h4 + h5, g5, h5 + h6, g6, h6 + h7, g7, h7)


@njit
def dct32_lanes(S, H, n):
    """DCT-II of size 32 of slots ``s < n``: ``S`` float64[32, LANES] (input ``k`` of
    slot ``s`` in ``S[k, s]``) to ``H`` float64[32, WIDTH] (``A[m]`` in ``H[m, HIST + s]``)."""
    x = S.reshape(-1)  # flat, so that the row offsets below are constants
    a = H.reshape(-1)[HIST:]
    for s in range(n):
        x0, x1, x2, x3 = x[s], x[LANES + s], x[2 * LANES + s], x[3 * LANES + s]
        x4, x5, x6, x7 = x[4 * LANES + s], x[5 * LANES + s], x[6 * LANES + s], x[7 * LANES + s]
        x8, x9, x10, x11 = x[8 * LANES + s], x[9 * LANES + s], x[10 * LANES + s], x[11 * LANES + s]
        x12, x13, x14, x15 = x[12 * LANES + s], x[13 * LANES + s], x[14 * LANES + s], x[15 * LANES + s]
        x16, x17, x18, x19 = x[16 * LANES + s], x[17 * LANES + s], x[18 * LANES + s], x[19 * LANES + s]
        x20, x21, x22, x23 = x[20 * LANES + s], x[21 * LANES + s], x[22 * LANES + s], x[23 * LANES + s]
        x24, x25, x26, x27 = x[24 * LANES + s], x[25 * LANES + s], x[26 * LANES + s], x[27 * LANES + s]
        x28, x29, x30, x31 = x[28 * LANES + s], x[29 * LANES + s], x[30 * LANES + s], x[31 * LANES + s]
        g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, g13, g14, g15 = _dct16(
            x0 + x31, x1 + x30, x2 + x29, x3 + x28, x4 + x27, x5 + x26, x6 + x25, x7 + x24,
            x8 + x23, x9 + x22, x10 + x21, x11 + x20, x12 + x19, x13 + x18, x14 + x17, x15 + x16)
        h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15 = _dct16(
            (x0 - x31) * L32_0, (x1 - x30) * L32_1, (x2 - x29) * L32_2, (x3 - x28) * L32_3,
            (x4 - x27) * L32_4, (x5 - x26) * L32_5, (x6 - x25) * L32_6, (x7 - x24) * L32_7,
            (x8 - x23) * L32_8, (x9 - x22) * L32_9, (x10 - x21) * L32_10, (x11 - x20) * L32_11,
            (x12 - x19) * L32_12, (x13 - x18) * L32_13, (x14 - x17) * L32_14, (x15 - x16) * L32_15)
        a[s] = g0
        a[WIDTH + s] = h0 + h1
        a[2 * WIDTH + s] = g1
        a[3 * WIDTH + s] = h1 + h2
        a[4 * WIDTH + s] = g2
        a[5 * WIDTH + s] = h2 + h3
        a[6 * WIDTH + s] = g3
        a[7 * WIDTH + s] = h3 + h4
        a[8 * WIDTH + s] = g4
        a[9 * WIDTH + s] = h4 + h5
        a[10 * WIDTH + s] = g5
        a[11 * WIDTH + s] = h5 + h6
        a[12 * WIDTH + s] = g6
        a[13 * WIDTH + s] = h6 + h7
        a[14 * WIDTH + s] = g7
        a[15 * WIDTH + s] = h7 + h8
        a[16 * WIDTH + s] = g8
        a[17 * WIDTH + s] = h8 + h9
        a[18 * WIDTH + s] = g9
        a[19 * WIDTH + s] = h9 + h10
        a[20 * WIDTH + s] = g10
        a[21 * WIDTH + s] = h10 + h11
        a[22 * WIDTH + s] = g11
        a[23 * WIDTH + s] = h11 + h12
        a[24 * WIDTH + s] = g12
        a[25 * WIDTH + s] = h12 + h13
        a[26 * WIDTH + s] = g13
        a[27 * WIDTH + s] = h13 + h14
        a[28 * WIDTH + s] = g14
        a[29 * WIDTH + s] = h14 + h15
        a[30 * WIDTH + s] = g15
        a[31 * WIDTH + s] = h15


@njit
def _window_pair(H, j, n, O):
    """Outputs ``j`` and ``32 - j`` (1 <= j <= 15) of ``n`` slots into rows of ``O``.

    (Rows and offsets rather than a slice per tap: each slice costs numba as much
    compile time as a dozen arithmetic operations.)"""
    he = H[16 + j]  # V[j] = A[16 + j], V[32 - j] = -A[16 + j]   (even taps)
    ho = H[16 - j]  # V[32 + j] = V[64 - j] = -A[16 - j]         (odd taps)
    k = 32 - j
    d = D  # one reference to the global table (each one embeds the table in the IR)
    a0, a1, a2, a3 = d[j], -d[32 + j], d[64 + j], -d[96 + j]
    a4, a5, a6, a7 = d[128 + j], -d[160 + j], d[192 + j], -d[224 + j]
    a8, a9, a10, a11 = d[256 + j], -d[288 + j], d[320 + j], -d[352 + j]
    a12, a13, a14, a15 = d[384 + j], -d[416 + j], d[448 + j], -d[480 + j]
    b0, b1, b2, b3 = -d[k], -d[32 + k], -d[64 + k], -d[96 + k]
    b4, b5, b6, b7 = -d[128 + k], -d[160 + k], -d[192 + k], -d[224 + k]
    b8, b9, b10, b11 = -d[256 + k], -d[288 + k], -d[320 + k], -d[352 + k]
    b12, b13, b14, b15 = -d[384 + k], -d[416 + k], -d[448 + k], -d[480 + k]
    oj = O[j]
    ok = O[k]
    for s in range(n):
        v0, v1, v2, v3 = he[15 + s], ho[14 + s], he[13 + s], ho[12 + s]
        v4, v5, v6, v7 = he[11 + s], ho[10 + s], he[9 + s], ho[8 + s]
        v8, v9, v10, v11 = he[7 + s], ho[6 + s], he[5 + s], ho[4 + s]
        v12, v13, v14, v15 = he[3 + s], ho[2 + s], he[1 + s], ho[s]
        oj[s] = (a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3 + a4 * v4 + a5 * v5 + a6 * v6 + a7 * v7
                 + a8 * v8 + a9 * v9 + a10 * v10 + a11 * v11 + a12 * v12 + a13 * v13 + a14 * v14
                 + a15 * v15)
        ok[s] = (b0 * v0 + b1 * v1 + b2 * v2 + b3 * v3 + b4 * v4 + b5 * v5 + b6 * v6 + b7 * v7
                 + b8 * v8 + b9 * v9 + b10 * v10 + b11 * v11 + b12 * v12 + b13 * v13 + b14 * v14
                 + b15 * v15)


@njit
def _window_edges(H, n, O):
    """Outputs 0 (V[0] = A[16], V[32] = -A[16]) and 16 (V[16] = 0, V[48] = -A[0])."""
    h = H[16]
    d = D  # one reference to the global table (each one embeds the table in the IR)
    a0, a1, a2, a3 = d[0], -d[32], d[64], -d[96]
    a4, a5, a6, a7 = d[128], -d[160], d[192], -d[224]
    a8, a9, a10, a11 = d[256], -d[288], d[320], -d[352]
    a12, a13, a14, a15 = d[384], -d[416], d[448], -d[480]
    o0 = O[0]
    for s in range(n):
        o0[s] = (a0 * h[15 + s] + a1 * h[14 + s] + a2 * h[13 + s] + a3 * h[12 + s] + a4 * h[11 + s]
                 + a5 * h[10 + s] + a6 * h[9 + s] + a7 * h[8 + s] + a8 * h[7 + s] + a9 * h[6 + s]
                 + a10 * h[5 + s] + a11 * h[4 + s] + a12 * h[3 + s] + a13 * h[2 + s] + a14 * h[1 + s]
                 + a15 * h[s])
    g = H[0]
    c1, c3, c5, c7 = -d[48], -d[112], -d[176], -d[240]
    c9, c11, c13, c15 = -d[304], -d[368], -d[432], -d[496]
    o16 = O[16]
    for s in range(n):
        o16[s] = (c1 * g[14 + s] + c3 * g[12 + s] + c5 * g[10 + s] + c7 * g[8 + s] + c9 * g[6 + s]
                  + c11 * g[4 + s] + c13 * g[2 + s] + c15 * g[s])


@njit(inline="always")
def synth_block(S, H, n, O):
    """Polyphase synthesis of ``n <= LANES`` consecutive slots.

    ``S`` float64[32, LANES]: the 32 subband samples of slot ``s`` in column
    ``s``.  ``H`` float64[32, WIDTH]: columns ``0..14`` hold the state (``A``
    values of the 15 previous slots); the block's ``A`` values go to columns
    ``15 ..``.  ``O`` float32 or float64[32, >= n] receives sample ``j`` of
    slot ``s`` in ``O[j, s]`` (rounded once, on the store).  Afterwards
    :func:`shift_history` prepares ``H`` for the next block.

    Inlined by numba into its callers: compiled on its own, its module (with the
    three kernels below linked in) was optimised and code-generated once more
    for nothing (~0.5 s of the first run's compile).
    """
    if S.shape[1] != LANES or H.shape[1] != WIDTH or n > LANES:
        raise ValueError("synth_block: S must be [32, LANES], H [32, WIDTH], n <= LANES")
    dct32_lanes(S, H, n)
    _window_edges(H, n, O)
    for j in range(1, 16):
        _window_pair(H, j, n, O)


@njit
def shift_history(H, n):
    """Move the last 15 slots of a block of ``n`` to columns ``0..14``."""
    for r in range(32):
        h = H[r]
        for s in range(HIST):
            h[s] = h[n + s]


# ---------------------------------------------------------------------------
# The classic per-slot interface: a FIFO of 16 V vectors (documented semantics)
# ---------------------------------------------------------------------------

@njit
def _ring_to_history(ring, newest, H):
    """Columns 0..14 of ``H`` from the 15 newest V vectors of ``ring``."""
    for d in range(1, 16):
        v = ring[(newest + d - 1) & 15]
        c = HIST - d
        H[0, c] = -v[48]
        for m in range(1, 16):
            H[m, c] = -v[48 + m]
        for m in range(16, 32):
            H[m, c] = v[m - 16]


@njit
def _history_to_ring(H, n, ring, newest):
    """Push the V vectors of the slots in columns ``15 .. 15 + n - 1`` into ``ring``."""
    for c in range(HIST, HIST + n):
        newest = (newest - 1) & 15
        v = ring[newest]
        a = H[0, c]
        v[48] = -a
        v[16] = 0.0
        for m in range(1, 16):
            a = H[m, c]
            v[48 - m] = -a
            v[48 + m] = -a
        for m in range(16, 32):
            a = H[m, c]
            v[m - 16] = a
            v[48 - m] = -a
    return newest


@njit
def _run_ring(y, n, ring, newest, out, o, stride):
    """``n <= 18`` slots ``y[k * n + s]`` through the FIFO ``ring``; returns the new ``newest``."""
    S = np.zeros((32, LANES), np.float64)
    for k in range(32):
        for s in range(n):
            S[k, s] = y[k * n + s]
    H = np.zeros((32, WIDTH), np.float64)
    _ring_to_history(ring, newest, H)
    O = np.empty((32, n), np.float64)
    synth_block(S, H, n, O)
    for s in range(n):
        for j in range(32):
            out[o + (s * 32 + j) * stride] = O[j, s]
    return _history_to_ring(H, n, ring, newest)


@njit
def synth_slot(s, ring, newest, out, o, stride):
    """Push one slot ``s`` float64[32] into ``ring[newest]`` and write 32 samples.

    ``out[o + j * stride]`` receives sample ``j`` (flat float32 output array).
    Unlike :func:`synth_granule`, ``newest`` is the row the new slot goes to.
    """
    _run_ring(s, 1, ring, (newest + 1) & 15, out, o, stride)


@njit
def synth_granule(y, ring, newest, out, o, stride, s):
    """Run the 18 slots of one granule (``y[sb * 18 + t]``, not modified); returns the new ``newest``.

    The ring ``float64[16, 64]`` runs backwards: the newest slot is at
    ``newest``, older ones at ``newest + 1, newest + 2, ...`` (mod 16).
    ``s``: unused (kept for the interface).  Same arithmetic as
    :func:`synth_block`.
    """
    return _run_ring(y, 18, ring, newest, out, o, stride)
