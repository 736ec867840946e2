"""Step 7: the hybrid filterbank's MDCT half (ISO/IEC 11172-3 2.4.3.4.10):
alias reduction, IMDCT with windowing and overlap-add, frequency inversion.

Input: one granule of one channel, ``x`` float32[576] in the layout of
:func:`mp3restore.requantize.reorder`.  Output: ``y`` float64[576] holding
18 time samples for each of the 32 polyphase subbands, ``y[sb * 18 + t]``.
State: ``overlap`` float64[576], the second half of the previous IMDCT outputs.

Speed
-----
The decoder's kernel, :func:`hybrid_lanes`, works on the transposed layout
``X[k * 32 + sb]`` so that every step is one loop over the 32 subbands whose
body is straight-line code: the compiler vectorises it, one subband per SIMD
lane.  Its overlap state is transposed the same way (``ov[t * 32 + sb]``).

The 36-point IMDCT of a long block is reduced to an 18-point DCT-IV,
``y_m = sum_k X_k cos(pi (2m+1)(2k+1) / 72)``, because
``x[0..8] = y[9..17]``, ``x[9..26] = -y[17..0]``, ``x[27..35] = -y[0..8]``.
The DCT-IV is computed as

* ``u_k = X_k + X_{k-1}``; then ``y_m = s_m z_m`` with
  ``z_m = sum_k u_k cos(pi k (2m+1) / 36)`` (a DCT-III) and
  ``s_m = 1 / (2 cos(pi (2m+1) / 72))`` (from ``2 cos a cos((2k+1) a) =
  cos(2k a) + cos((2k+2) a)``); ``s_m`` is folded into the window tables;
* the DCT-III splits into its even and odd inputs:
  ``z_m = E_m + O_m``, ``z_{17-m} = E_m - O_m`` (m < 9) with
  ``E = T(u_0, u_2, ..., u_16)`` and ``O_m = r_m T(c)_m``,
  ``c_j = u_{2j+1} + u_{2j-1}``, ``r_m = 1 / (2 cos(pi (2m+1) / 36))`` (the same
  identity once more, turning the odd half's 9-point DCT-IV into a DCT-III);
* ``T(a)_m = sum_{j<9} a_j cos(pi j (2m+1) / 18)`` is computed from its even
  and odd terms, ``T_m = Te_m + To_m``, ``T_{8-m} = Te_m - To_m``, where the
  angles that are multiples of pi/6 need no general multiplication.

That is 53 multiplications per subband (plus 36 for the window) instead of 648.
The 12-point IMDCTs of short blocks use the same output symmetry around a
direct 6-point DCT-IV.
"""
import math

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


def _imdct_output_map(n):
    """For an IMDCT of ``n`` outputs from the DCT-IV ``y`` of size ``n/2``:
    ``x[i] = sign[i] * y[src[i]]``."""
    h = n // 2
    q = n // 4
    src = np.array([i + q if i < h - q else (h + q - 1 - i if i < n - q else i - (n - q)) for i in range(n)])
    sign = np.where(np.arange(n) < h - q, 1.0, -1.0)
    return src, sign


_SRC36, _SIGN36 = _imdct_output_map(36)
_SRC12, _SIGN12 = _imdct_output_map(12)

# s_m of the DCT-IV -> DCT-III step, and the long windows with sign and s folded in:
# output i of a long block is WZ[bt, i] * z[_SRC36[i]]
_S18 = 0.5 / np.cos(np.pi * (2 * np.arange(18) + 1) / 72)
WZ = np.ascontiguousarray(WINDOWS * (_SIGN36 * _S18[_SRC36])[None, :])
# short blocks: output i of a window is WS[i] * y[_SRC12[i]]
WS = np.ascontiguousarray(WINDOWS[2, :12] * _SIGN12)
# 6-point DCT-IV of short blocks, C6[m, k] = cos(pi (2m+1)(2k+1) / 24)
C6 = np.cos(np.pi / 24 * np.outer(2 * np.arange(6) + 1, 2 * np.arange(6) + 1))


def _cos18(m, j):
    return math.cos(math.pi * j * (2 * m + 1) / 18)


# cosines of T(a)_m for m = 0, 2, 3 (j = 3 and 6 are +-sqrt(3)/2 and 1/2)
K01, K02, K04, K05, K07, K08 = (_cos18(0, j) for j in (1, 2, 4, 5, 7, 8))
K21, K22, K24, K25, K27, K28 = (_cos18(2, j) for j in (1, 2, 4, 5, 7, 8))
K31, K32, K34, K35, K37, K38 = (_cos18(3, j) for j in (1, 2, 4, 5, 7, 8))
SQ3 = math.sqrt(3.0) / 2.0
# r_m of the odd half
R0, R1, R2, R3, R4, R5, R6, R7, R8 = (0.5 / math.cos(math.pi * (2 * m + 1) / 36) for m in range(9))


@njit(inline="always")
def _t9(a0, a1, a2, a3, a4, a5, a6, a7, a8):
    """T(a)_m = sum_{j<9} a_j cos(pi j (2m+1) / 18) for m = 0..8."""
    h = a0 + 0.5 * a6
    q = SQ3 * a3
    te = h + a2 * K02 + a4 * K04 + a8 * K08
    to = a1 * K01 + q + a5 * K05 + a7 * K07
    t0 = te + to
    t8 = te - to
    te = h + a2 * K22 + a4 * K24 + a8 * K28
    to = a1 * K21 - q + a5 * K25 + a7 * K27
    t2 = te + to
    t6 = te - to
    te = h + a2 * K32 + a4 * K34 + a8 * K38
    to = a1 * K31 - q + a5 * K35 + a7 * K37
    t3 = te + to
    t5 = te - to
    te = a0 - a6 + 0.5 * (a2 - a4 - a8)
    to = SQ3 * (a1 - a5 - a7)
    t1 = te + to
    t7 = te - to
    t4 = a0 - a2 + a4 - a6 + a8
    return t0, t1, t2, t3, t4, t5, t6, t7, t8


@njit(inline="always")
def _dct4_18(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15, x16, x17):
    """z_m = DCT-IV_18(x)_m / s_m, m = 0..17 (see the module docstring)."""
    u1 = x1 + x0
    u3 = x3 + x2
    u5 = x5 + x4
    u7 = x7 + x6
    u9 = x9 + x8
    u11 = x11 + x10
    u13 = x13 + x12
    u15 = x15 + x14
    u17 = x17 + x16
    e0, e1, e2, e3, e4, e5, e6, e7, e8 = _t9(x0, x2 + x1, x4 + x3, x6 + x5, x8 + x7, x10 + x9, x12 + x11,
                                             x14 + x13, x16 + x15)
    f0, f1, f2, f3, f4, f5, f6, f7, f8 = _t9(u1, u3 + u1, u5 + u3, u7 + u5, u9 + u7, u11 + u9, u13 + u11,
                                             u15 + u13, u17 + u15)
    o0 = f0 * R0
    o1 = f1 * R1
    o2 = f2 * R2
    o3 = f3 * R3
    o4 = f4 * R4
    o5 = f5 * R5
    o6 = f6 * R6
    o7 = f7 * R7
    o8 = f8 * R8
    return (e0 + o0, e1 + o1, e2 + o2, e3 + o3, e4 + o4, e5 + o5, e6 + o6, e7 + o7, e8 + o8,
            e8 - o8, e7 - o7, e6 - o6, e5 - o5, e4 - o4, e3 - o3, e2 - o2, e1 - o1, e0 - o0)


# the same as scalars (a float global is a compile-time constant; an element of a
# global array is a load that numba has to type and lower at every use)
(C6_00, C6_01, C6_02, C6_03, C6_04, C6_05,
 C6_10, C6_11, C6_12, C6_13, C6_14, C6_15,
 C6_20, C6_21, C6_22, C6_23, C6_24, C6_25,
 C6_30, C6_31, C6_32, C6_33, C6_34, C6_35,
 C6_40, C6_41, C6_42, C6_43, C6_44, C6_45,
 C6_50, C6_51, C6_52, C6_53, C6_54, C6_55) = (float(c) for c in C6.ravel())


@njit(inline="always")
def _dct4_6(x0, x1, x2, x3, x4, x5):
    """y_m = sum_k x_k cos(pi (2m+1)(2k+1) / 24), m = 0..5."""
    return (x0 * C6_00 + x1 * C6_01 + x2 * C6_02 + x3 * C6_03 + x4 * C6_04 + x5 * C6_05,
            x0 * C6_10 + x1 * C6_11 + x2 * C6_12 + x3 * C6_13 + x4 * C6_14 + x5 * C6_15,
            x0 * C6_20 + x1 * C6_21 + x2 * C6_22 + x3 * C6_23 + x4 * C6_24 + x5 * C6_25,
            x0 * C6_30 + x1 * C6_31 + x2 * C6_32 + x3 * C6_33 + x4 * C6_34 + x5 * C6_35,
            x0 * C6_40 + x1 * C6_41 + x2 * C6_42 + x3 * C6_43 + x4 * C6_44 + x5 * C6_45,
            x0 * C6_50 + x1 * C6_51 + x2 * C6_52 + x3 * C6_53 + x4 * C6_54 + x5 * C6_55)


# ---------------------------------------------------------------------------
# The decoder's kernel: subband-per-lane layout
# ---------------------------------------------------------------------------

@njit
def _antialias_lanes(X, nb):
    """Alias-reduction butterflies on the boundaries 1..nb of ``X[k * 32 + sb]``."""
    for i in range(8):
        cs = CS[i]
        ca = CA[i]
        lo = X[(17 - i) * 32:(17 - i) * 32 + 32]  # lane sb - 1
        hi = X[i * 32 + 1:i * 32 + 32]  # lane sb
        for j in range(nb):
            a = lo[j]
            b = hi[j]
            lo[j] = a * cs - b * ca
            hi[j] = b * cs + a * ca


@njit
def _long_lanes(X, ov, Z, wz, lo, hi):
    """Windowed IMDCT-36 + overlap-add of subbands ``lo..hi`` (lanes of ``X``, ``ov``, ``Z``).

    ``Z[t * 32 + sb]`` (t < 18) gets the output, ``ov`` the new overlap; ``wz``: ``WZ[bt]``.
    """
    xv = X[lo:]
    ovv = ov[lo:]
    zv = Z[lo:]
    w0, w1, w2, w3, w4, w5, w6, w7, w8 = wz[0], wz[1], wz[2], wz[3], wz[4], wz[5], wz[6], wz[7], wz[8]
    w9, w10, w11, w12, w13, w14, w15, w16, w17 = (wz[9], wz[10], wz[11], wz[12], wz[13], wz[14], wz[15],
                                                  wz[16], wz[17])
    w18, w19, w20, w21, w22, w23, w24, w25, w26 = (wz[18], wz[19], wz[20], wz[21], wz[22], wz[23], wz[24],
                                                   wz[25], wz[26])
    w27, w28, w29, w30, w31, w32, w33, w34, w35 = (wz[27], wz[28], wz[29], wz[30], wz[31], wz[32], wz[33],
                                                   wz[34], wz[35])
    for j in range(hi - lo):
        z0, z1, z2, z3, z4, z5, z6, z7, z8, z9, z10, z11, z12, z13, z14, z15, z16, z17 = _dct4_18(
            xv[j], xv[32 + j], xv[64 + j], xv[96 + j], xv[128 + j], xv[160 + j], xv[192 + j],
            xv[224 + j], xv[256 + j], xv[288 + j], xv[320 + j], xv[352 + j], xv[384 + j],
            xv[416 + j], xv[448 + j], xv[480 + j], xv[512 + j], xv[544 + j])
        zv[j] = w0 * z9 + ovv[j]
        zv[32 + j] = w1 * z10 + ovv[32 + j]
        zv[64 + j] = w2 * z11 + ovv[64 + j]
        zv[96 + j] = w3 * z12 + ovv[96 + j]
        zv[128 + j] = w4 * z13 + ovv[128 + j]
        zv[160 + j] = w5 * z14 + ovv[160 + j]
        zv[192 + j] = w6 * z15 + ovv[192 + j]
        zv[224 + j] = w7 * z16 + ovv[224 + j]
        zv[256 + j] = w8 * z17 + ovv[256 + j]
        zv[288 + j] = w9 * z17 + ovv[288 + j]
        zv[320 + j] = w10 * z16 + ovv[320 + j]
        zv[352 + j] = w11 * z15 + ovv[352 + j]
        zv[384 + j] = w12 * z14 + ovv[384 + j]
        zv[416 + j] = w13 * z13 + ovv[416 + j]
        zv[448 + j] = w14 * z12 + ovv[448 + j]
        zv[480 + j] = w15 * z11 + ovv[480 + j]
        zv[512 + j] = w16 * z10 + ovv[512 + j]
        zv[544 + j] = w17 * z9 + ovv[544 + j]
        ovv[j] = w18 * z8
        ovv[32 + j] = w19 * z7
        ovv[64 + j] = w20 * z6
        ovv[96 + j] = w21 * z5
        ovv[128 + j] = w22 * z4
        ovv[160 + j] = w23 * z3
        ovv[192 + j] = w24 * z2
        ovv[224 + j] = w25 * z1
        ovv[256 + j] = w26 * z0
        ovv[288 + j] = w27 * z0
        ovv[320 + j] = w28 * z1
        ovv[352 + j] = w29 * z2
        ovv[384 + j] = w30 * z3
        ovv[416 + j] = w31 * z4
        ovv[448 + j] = w32 * z5
        ovv[480 + j] = w33 * z6
        ovv[512 + j] = w34 * z7
        ovv[544 + j] = w35 * z8


@njit
def _short_lanes(X, ov, Z, lo, hi):
    """Three windowed IMDCT-12 + overlap-add of subbands ``lo..hi`` (see :func:`_long_lanes`)."""
    xv = X[lo:]
    ovv = ov[lo:]
    zv = Z[lo:]
    s0, s1, s2, s3, s4, s5 = WS[0], WS[1], WS[2], WS[3], WS[4], WS[5]
    s6, s7, s8, s9, s10, s11 = WS[6], WS[7], WS[8], WS[9], WS[10], WS[11]
    for j in range(hi - lo):
        a0, a1, a2, a3, a4, a5 = _dct4_6(xv[j], xv[32 + j], xv[64 + j], xv[96 + j], xv[128 + j], xv[160 + j])
        b0, b1, b2, b3, b4, b5 = _dct4_6(xv[192 + j], xv[224 + j], xv[256 + j], xv[288 + j], xv[320 + j],
                                         xv[352 + j])
        c0, c1, c2, c3, c4, c5 = _dct4_6(xv[384 + j], xv[416 + j], xv[448 + j], xv[480 + j], xv[512 + j],
                                         xv[544 + j])
        # window w covers outputs 6 + 6w .. 17 + 6w; its value i is WS[i] * y[_SRC12[i]],
        # _SRC12 = 3 4 5 5 4 3 2 1 0 0 1 2
        zv[j] = ovv[j]
        zv[32 + j] = ovv[32 + j]
        zv[64 + j] = ovv[64 + j]
        zv[96 + j] = ovv[96 + j]
        zv[128 + j] = ovv[128 + j]
        zv[160 + j] = ovv[160 + j]
        zv[192 + j] = s0 * a3 + ovv[192 + j]
        zv[224 + j] = s1 * a4 + ovv[224 + j]
        zv[256 + j] = s2 * a5 + ovv[256 + j]
        zv[288 + j] = s3 * a5 + ovv[288 + j]
        zv[320 + j] = s4 * a4 + ovv[320 + j]
        zv[352 + j] = s5 * a3 + ovv[352 + j]
        zv[384 + j] = (s6 * a2 + s0 * b3) + ovv[384 + j]
        zv[416 + j] = (s7 * a1 + s1 * b4) + ovv[416 + j]
        zv[448 + j] = (s8 * a0 + s2 * b5) + ovv[448 + j]
        zv[480 + j] = (s9 * a0 + s3 * b5) + ovv[480 + j]
        zv[512 + j] = (s10 * a1 + s4 * b4) + ovv[512 + j]
        zv[544 + j] = (s11 * a2 + s5 * b3) + ovv[544 + j]
        ovv[j] = s6 * b2 + s0 * c3
        ovv[32 + j] = s7 * b1 + s1 * c4
        ovv[64 + j] = s8 * b0 + s2 * c5
        ovv[96 + j] = s9 * b0 + s3 * c5
        ovv[128 + j] = s10 * b1 + s4 * c4
        ovv[160 + j] = s11 * b2 + s5 * c3
        ovv[192 + j] = s6 * c2
        ovv[224 + j] = s7 * c1
        ovv[256 + j] = s8 * c0
        ovv[288 + j] = s9 * c0
        ovv[320 + j] = s10 * c1
        ovv[352 + j] = s11 * c2
        ovv[384 + j] = 0.0
        ovv[416 + j] = 0.0
        ovv[448 + j] = 0.0
        ovv[480 + j] = 0.0
        ovv[512 + j] = 0.0
        ovv[544 + j] = 0.0


@njit
def _to_lanes(src, X):
    """``X[k * 32 + sb] = src[sb * 18 + k]``."""
    for k in range(18):
        row = X[k * 32:k * 32 + 32]
        for sb in range(32):
            row[sb] = src[sb * 18 + k]


@njit
def _from_lanes(Z, Y, c):
    """Back to one row per subband, ``Y[sb, c + t]``, with the frequency inversion
    (odd ``t`` of odd subbands)."""
    for sb in range(0, 32, 2):
        y = Y[sb, c:c + 18]
        for t in range(18):
            y[t] = Z[t * 32 + sb]
    for sb in range(1, 32, 2):
        y = Y[sb, c:c + 18]
        for t in range(0, 18, 2):
            y[t] = Z[t * 32 + sb]
            y[t + 1] = -Z[t * 32 + 32 + sb]


@njit(inline="always")
def hybrid_lanes(src, bt, mixed, ov, X, Z, Y, c):
    """Alias reduction, IMDCT, overlap-add and frequency inversion of one granule/channel.

    ``src`` float32[576] (``src[sb * 18 + k]``); ``ov`` float64[576] overlap state in
    the transposed layout ``ov[t * 32 + sb]``, updated; ``X``, ``Z`` scratch
    float64[576]; output to ``Y[sb, c + t]`` (``Y`` float64[32, >= c + 18]).

    Inlined by numba into its callers (a dispatch over the kernels above): compiled
    on its own, its module with them linked in was optimised and code-generated
    once more (~1 s of the first run's compile).
    """
    _to_lanes(src, X)
    short = bt == 2
    if not short:
        _antialias_lanes(X, 31)
        if mixed:
            # the two lowest subbands of a block with mixed_block_flag use the
            # normal window, whatever the block type (as the ISO reference
            # decoder does; l3-si_block sets the flag on types 1/3)
            _long_lanes(X, ov, Z, WZ[0], 0, 2)
            _long_lanes(X, ov, Z, WZ[bt], 2, 32)
        else:
            _long_lanes(X, ov, Z, WZ[bt], 0, 32)
    elif mixed:
        _antialias_lanes(X, 1)
        _long_lanes(X, ov, Z, WZ[0], 0, 2)
        _short_lanes(X, ov, Z, 2, 32)
    else:
        _short_lanes(X, ov, Z, 0, 32)
    _from_lanes(Z, Y, c)


# ---------------------------------------------------------------------------
# Per-subband forms with the layout of the standard (documented semantics)
# ---------------------------------------------------------------------------

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
    """Windowed IMDCT-36 (block type ``bt``) of ``x[a:a + 18]`` into ``out36``."""
    z = _dct4_18(x[a], x[a + 1], x[a + 2], x[a + 3], x[a + 4], x[a + 5], x[a + 6], x[a + 7], x[a + 8],
                 x[a + 9], x[a + 10], x[a + 11], x[a + 12], x[a + 13], x[a + 14], x[a + 15], x[a + 16],
                 x[a + 17])
    for i in range(36):
        out36[i] = WZ[bt, i] * z[_SRC36[i]]


@njit
def imdct_short(x, a, out36):
    """The three windowed IMDCT-12 of ``x[a:a + 18]``, overlapped at 6, 12, 18 of ``out36``."""
    for i in range(36):
        out36[i] = 0.0
    for w in range(3):
        b = a + 6 * w
        y = _dct4_6(x[b], x[b + 1], x[b + 2], x[b + 3], x[b + 4], x[b + 5])
        for i in range(12):
            out36[6 + 6 * w + i] += WS[i] * y[_SRC12[i]]


@njit
def hybrid_granule(src, bt, mixed, overlap, x, y, out36):
    """Alias reduction, IMDCT, overlap-add and frequency inversion of one granule/channel.

    ``src`` float32[576]; ``x``, ``out36`` scratch float64[576], float64[36];
    ``y`` float64[576] output; ``overlap`` float64[576] state (``overlap[sb * 18 + t]``),
    updated.  Same arithmetic as :func:`hybrid_lanes`.
    """
    ov = np.empty(576, np.float64)
    for sb in range(32):
        for t in range(18):
            ov[t * 32 + sb] = overlap[sb * 18 + t]
    Z = np.empty(576, np.float64)
    hybrid_lanes(src, bt, mixed, ov, x, Z, y.reshape(32, 18), 0)
    for sb in range(32):
        for t in range(18):
            overlap[sb * 18 + t] = ov[t * 32 + sb]
