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
*Slots are SIMD lanes.*  :func:`synth_block` takes the subband samples of many
consecutive slots at once, one row per subband, ``H[k, 15 + s]`` for slot
``s``, and every step is a loop over the slots, which the compiler vectorises.

*DCT-II.*  The fast recursive even/odd split of B. G. Lee (1984): for a
size-``n`` block,

    g[k] = S[k] + S[n-1-k],   h[k] = (S[k] - S[n-1-k]) / (2 cos((2k+1) pi / (2n))),
    A[2m] = DCT_{n/2}(g)[m],  A[2m+1] = DCT_{n/2}(h)[m] + DCT_{n/2}(h)[m+1]

(80 multiplications and 209 additions for n = 32 instead of 1024 products).
:func:`_dct32_plan` unrolls the recursion once, at import, into a list of
in-place butterflies and a list of additions on the rows of ``H``; afterwards
``A[n]`` of slot ``s`` is in ``H[A_POS[n], 15 + s]``.

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
import numpy as np

from ._jit import njit
from .tables.synth_window import D as _D

D = np.array(_D, np.float64)
# DCT-II matrix of the matrixing (the reference definition; not used by the kernels)
DCT32 = np.cos(np.pi / 64 * np.outer(np.arange(32), 2 * np.arange(32) + 1))
HIST = 15  # slots of history the window needs before the first slot of a block


def _dct32_plan(n=32):
    """Unroll Lee's recursion for a DCT-II of size ``n`` on an in-place buffer.

    Returns ``(bf_i, bf_j, bf_c, add_i, add_j, pos)``: first, for every
    butterfly ``q``, ``a, b = x[bf_i[q]], x[bf_j[q]]; x[bf_i[q]] = a + b;
    x[bf_j[q]] = (a - b) * bf_c[q]``; then, for every ``q``,
    ``x[add_i[q]] += x[add_j[q]]``; afterwards ``A[m]`` is in ``x[pos[m]]``.
    """
    bf_i, bf_j, bf_c, add_i, add_j = [], [], [], [], []

    def split(where):
        # ``where[k]``: buffer position holding input k of this sub-transform
        size = len(where)
        if size == 1:
            return list(where)
        half = size // 2
        for k in range(half):
            bf_i.append(where[k])
            bf_j.append(where[size - 1 - k])
            bf_c.append(0.5 / np.cos((2 * k + 1) * np.pi / (2 * size)))
        even = split([where[k] for k in range(half)])
        odd = split([where[size - 1 - k] for k in range(half)])
        # the sub-transforms' additions were appended by the calls above, so they run first
        for m in range(half - 1):
            add_i.append(odd[m])
            add_j.append(odd[m + 1])
        out = []
        for m in range(half):
            out.append(even[m])
            out.append(odd[m])
        return out

    pos = split(list(range(n)))
    return (np.array(bf_i, np.int64), np.array(bf_j, np.int64), np.array(bf_c, np.float64),
            np.array(add_i, np.int64), np.array(add_j, np.int64), np.array(pos, np.int64))


BF_I, BF_J, BF_C, ADD_I, ADD_J, A_POS = _dct32_plan()


@njit
def dct32_lanes(H, c, n):
    """In place: DCT-II of size 32 of each column ``c .. c + n - 1`` of ``H`` float64[32, :].

    Input ``k`` of a column is row ``k``; afterwards ``A[m]`` is in row ``A_POS[m]``.
    """
    for q in range(BF_I.shape[0]):
        a = H[BF_I[q], c:c + n]
        b = H[BF_J[q], c:c + n]
        f = BF_C[q]
        for s in range(n):
            u = a[s]
            v = b[s]
            a[s] = u + v
            b[s] = (u - v) * f
    for q in range(ADD_I.shape[0]):
        a = H[ADD_I[q], c:c + n]
        b = H[ADD_J[q], c:c + n]
        for s in range(n):
            a[s] += b[s]


@njit
def _window_pair(H, j, n, O):
    """Outputs ``j`` and ``32 - j`` (1 <= j <= 15) of ``n`` slots into rows of ``O``."""
    e = A_POS[16 + j]  # V[j] = A[16 + j], V[32 - j] = -A[16 + j]   (even taps)
    o = A_POS[16 - j]  # V[32 + j] = V[64 - j] = -A[16 - j]         (odd taps)
    h0 = H[e, 15:15 + n]
    h1 = H[o, 14:14 + n]
    h2 = H[e, 13:13 + n]
    h3 = H[o, 12:12 + n]
    h4 = H[e, 11:11 + n]
    h5 = H[o, 10:10 + n]
    h6 = H[e, 9:9 + n]
    h7 = H[o, 8:8 + n]
    h8 = H[e, 7:7 + n]
    h9 = H[o, 6:6 + n]
    h10 = H[e, 5:5 + n]
    h11 = H[o, 4:4 + n]
    h12 = H[e, 3:3 + n]
    h13 = H[o, 2:2 + n]
    h14 = H[e, 1:1 + n]
    h15 = H[o, 0:n]
    k = 32 - j
    a0, a1, a2, a3 = D[j], -D[32 + j], D[64 + j], -D[96 + j]
    a4, a5, a6, a7 = D[128 + j], -D[160 + j], D[192 + j], -D[224 + j]
    a8, a9, a10, a11 = D[256 + j], -D[288 + j], D[320 + j], -D[352 + j]
    a12, a13, a14, a15 = D[384 + j], -D[416 + j], D[448 + j], -D[480 + j]
    b0, b1, b2, b3 = -D[k], -D[32 + k], -D[64 + k], -D[96 + k]
    b4, b5, b6, b7 = -D[128 + k], -D[160 + k], -D[192 + k], -D[224 + k]
    b8, b9, b10, b11 = -D[256 + k], -D[288 + k], -D[320 + k], -D[352 + k]
    b12, b13, b14, b15 = -D[384 + k], -D[416 + k], -D[448 + k], -D[480 + k]
    oj = O[j, :n]
    ok = O[k, :n]
    for s in range(n):
        v0, v1, v2, v3 = h0[s], h1[s], h2[s], h3[s]
        v4, v5, v6, v7 = h4[s], h5[s], h6[s], h7[s]
        v8, v9, v10, v11 = h8[s], h9[s], h10[s], h11[s]
        v12, v13, v14, v15 = h12[s], h13[s], h14[s], h15[s]
        oj[s] = (a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3 + a4 * v4 + a5 * v5 + a6 * v6 + a7 * v7
                 + a8 * v8 + a9 * v9 + a10 * v10 + a11 * v11 + a12 * v12 + a13 * v13 + a14 * v14
                 + a15 * v15)
        ok[s] = (b0 * v0 + b1 * v1 + b2 * v2 + b3 * v3 + b4 * v4 + b5 * v5 + b6 * v6 + b7 * v7
                 + b8 * v8 + b9 * v9 + b10 * v10 + b11 * v11 + b12 * v12 + b13 * v13 + b14 * v14
                 + b15 * v15)


@njit
def _window_edges(H, n, O):
    """Outputs 0 (V[0] = A[16], V[32] = -A[16]) and 16 (V[16] = 0, V[48] = -A[0])."""
    r = A_POS[16]
    h0 = H[r, 15:15 + n]
    h1 = H[r, 14:14 + n]
    h2 = H[r, 13:13 + n]
    h3 = H[r, 12:12 + n]
    h4 = H[r, 11:11 + n]
    h5 = H[r, 10:10 + n]
    h6 = H[r, 9:9 + n]
    h7 = H[r, 8:8 + n]
    h8 = H[r, 7:7 + n]
    h9 = H[r, 6:6 + n]
    h10 = H[r, 5:5 + n]
    h11 = H[r, 4:4 + n]
    h12 = H[r, 3:3 + n]
    h13 = H[r, 2:2 + n]
    h14 = H[r, 1:1 + n]
    h15 = H[r, 0:n]
    a0, a1, a2, a3 = D[0], -D[32], D[64], -D[96]
    a4, a5, a6, a7 = D[128], -D[160], D[192], -D[224]
    a8, a9, a10, a11 = D[256], -D[288], D[320], -D[352]
    a12, a13, a14, a15 = D[384], -D[416], D[448], -D[480]
    o0 = O[0, :n]
    for s in range(n):
        o0[s] = (a0 * h0[s] + a1 * h1[s] + a2 * h2[s] + a3 * h3[s] + a4 * h4[s] + a5 * h5[s]
                 + a6 * h6[s] + a7 * h7[s] + a8 * h8[s] + a9 * h9[s] + a10 * h10[s] + a11 * h11[s]
                 + a12 * h12[s] + a13 * h13[s] + a14 * h14[s] + a15 * h15[s])
    r = A_POS[0]
    g1 = H[r, 14:14 + n]
    g3 = H[r, 12:12 + n]
    g5 = H[r, 10:10 + n]
    g7 = H[r, 8:8 + n]
    g9 = H[r, 6:6 + n]
    g11 = H[r, 4:4 + n]
    g13 = H[r, 2:2 + n]
    g15 = H[r, 0:n]
    c1, c3, c5, c7 = -D[48], -D[112], -D[176], -D[240]
    c9, c11, c13, c15 = -D[304], -D[368], -D[432], -D[496]
    o16 = O[16, :n]
    for s in range(n):
        o16[s] = (c1 * g1[s] + c3 * g3[s] + c5 * g5[s] + c7 * g7[s] + c9 * g9[s] + c11 * g11[s]
                  + c13 * g13[s] + c15 * g15[s])


@njit
def synth_block(H, n, O):
    """Polyphase synthesis of ``n`` consecutive slots.

    ``H`` float64[32, >= 15 + n]: columns ``0..14`` the state (``A`` values of
    the 15 previous slots, rows in ``A_POS`` order), column ``15 + s`` the 32
    subband samples of slot ``s`` (destroyed).  ``O`` float32 or float64[32, >= n]
    receives sample ``j`` of slot ``s`` in ``O[j, s]`` (rounded once, on the store).  Afterwards the state
    of the next block is in ``H[:, n:n + 15]`` (see :func:`shift_history`).
    """
    dct32_lanes(H, HIST, n)
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
        H[A_POS[0], c] = -v[48]
        for m in range(1, 16):
            H[A_POS[m], c] = -v[48 + m]
        for m in range(16, 32):
            H[A_POS[m], c] = v[m - 16]


@njit
def _history_to_ring(H, c0, n, ring, newest):
    """Push the V vectors of columns ``c0 .. c0 + n - 1`` (DCT outputs) into ``ring``."""
    for c in range(c0, c0 + n):
        newest = (newest - 1) & 15
        v = ring[newest]
        a = H[A_POS[0], c]
        v[48] = -a
        v[16] = 0.0
        for m in range(1, 16):
            a = H[A_POS[m], c]
            v[48 - m] = -a
            v[48 + m] = -a
        for m in range(16, 32):
            a = H[A_POS[m], c]
            v[m - 16] = a
            v[48 - m] = -a
    return newest


@njit
def _run_ring(S, n, ring, newest, out, o, stride):
    """``n`` slots ``S[k, s]`` through the FIFO ``ring``; returns the new ``newest``."""
    H = np.empty((32, HIST + n), np.float64)
    _ring_to_history(ring, newest, H)
    H[:, HIST:] = S[:, :n]
    O = np.empty((32, n), np.float64)
    synth_block(H, n, O)
    for s in range(n):
        for j in range(32):
            out[o + (s * 32 + j) * stride] = O[j, s]
    return _history_to_ring(H, HIST, n, ring, newest)


@njit
def synth_slot(s, ring, newest, out, o, stride):
    """Push one slot ``s`` float64[32] into ``ring[newest]`` and write 32 samples.

    ``out[o + j * stride]`` receives sample ``j`` (flat float32 output array).
    Unlike :func:`synth_granule`, ``newest`` is the row the new slot goes to.
    """
    S = s.copy().reshape(32, 1)
    _run_ring(S, 1, ring, (newest + 1) & 15, out, o, stride)


@njit
def synth_granule(y, ring, newest, out, o, stride, s):
    """Run the 18 slots of one granule (``y[sb * 18 + t]``, not modified); returns the new ``newest``.

    The ring ``float64[16, 64]`` runs backwards: the newest slot is at
    ``newest``, older ones at ``newest + 1, newest + 2, ...`` (mod 16).
    ``s``: unused (kept for the interface).  Same arithmetic as
    :func:`synth_block`.
    """
    return _run_ring(y.reshape(32, 18), 18, ring, newest, out, o, stride)
