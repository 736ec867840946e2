"""Restoration, sub-step 2: the spectral envelope of the coded band's top octave
(level, slope and how noise-like it is), measured per granule and channel, or
per short window, with the power the quantizer set to zero added back
(:func:`zero_line_power`)."""
import numpy as np

from .._jit import SUMS, njit
from ..requantize import long_band_q, short_band_q, step_gain
from .lines import count_bits, nonzero_bits, nonzero_bits_pm

NB = 4
DB_PER_NEPER = 10.0 / np.log(10.0)  # 10 log10(x) = DB_PER_NEPER ln(x)


def _tables(n=577):
    """Band edges of the fit for every ``kf`` (they depend on nothing else), the
    band centres as log2(centre / b), and log2(kf / b)."""
    edges = np.zeros((n, NB + 1), np.int64)
    xc = np.zeros((n, NB))
    log2_kf_b = np.zeros(n)
    for kf in range(2, n):
        a = max(1, kf // 2)
        b = max(a + 1, (kf * 31) // 32)
        e = [a] + [int(np.ceil(a * (b / a) ** ((i + 1.0) / NB))) for i in range(NB - 1)] + [b]
        e = np.maximum.accumulate(np.clip(e, a, b))
        edges[kf] = e
        f = [a * (b / a) ** (i / NB) for i in range(NB + 1)]
        xc[kf] = [np.log2(0.5 * (f[i] + f[i + 1]) / b) for i in range(NB)]
        log2_kf_b[kf] = np.log2(kf / b)
    return edges, xc, log2_kf_b


ENV_EDGES, ENV_XC, ENV_LOG2_KF_B = _tables()


def _zero_power_table(n=1000):
    """``E[x**2 | |x| < t] / t**2`` for zero-mean Laplacian lines (the usual model of
    MDCT coefficients) of which a fraction ``p0 = i / n`` lies below ``t``.

    With ``a = t / b`` (``b`` the Laplacian scale): ``p0 = 1 - exp(-a)`` and the
    conditional power is ``b**2 (2 - exp(-a) (a**2 + 2 a + 2)) / p0``; it tends
    to ``t**2 / 3`` (uniform) as ``p0 -> 0`` and to 0 as ``p0 -> 1``."""
    p0 = np.linspace(0.0, 1.0, n + 1)[1:-1]
    a = -np.log1p(-p0)
    e = np.exp(-a)
    v = (2.0 - e * (a * a + 2.0 * a + 2.0)) / p0 / (a * a)
    return np.concatenate(([1.0 / 3.0], v, [0.0]))


ZERO_POWER = _zero_power_table()
ZERO_POWER_N = len(ZERO_POWER) - 1


@njit(inline="always")
def cap_range(kf):
    """Lines ``0.8 kf .. 0.95 kf``: the coded power there caps the envelope's level at ``kf``."""
    lo = (kf * 4) // 5
    return lo, max(lo + 1, (kf * 19) // 20)


@njit(inline="always")
def band_q(g, sf, b, w, nl):
    """Gain exponent of band ``b``: long (``w`` < 0), or short band ``b`` of window ``w``
    (``nl``: the long bands of a mixed block, else 0; -1000 for the long part of a mixed
    block, whose lines are not on the window's scale)."""
    if w < 0:
        return long_band_q(g, sf, b)
    if nl:
        if b < 3:
            return -1000
        return short_band_q(g, sf[nl + 3 * (b - 3) + w], w)
    return short_band_q(g, sf[3 * b + w], w)


@njit(fastmath=SUMS, inline="always")
def zero_line_power(x0, x1, nc, ms, g0, g1, sf0, sf1, sfb, kf, out0, out1, bits):
    """Power the quantizer removed from lines ``kf // 2 .. kf`` of a long
    granule (``sfb`` its band edges), summed over the ranges
    :func:`envelope_at` measures at ``kf``: ``out0``/``out1`` float64[NB + 1]
    (left/right, or the mono channel in ``out0``): its ``NB`` bands, then the
    range of its cap.  (Short granules get none: estimated window by window it
    cost 1 % of the decode time and moved the evaluation's level error by less
    than 0.01 dB.)

    A line quantized to zero was below about half a step ``2**(q/4)`` of its
    band (global gain, scalefactor, preflag; LAME rounds at that point).  At
    low bit rates most lines near the cutoff are zeroed and the coded band is
    weaker than the signal was (1 to 7 dB from 0.8 to 0.95 of the cutoff at
    64 kbps over 7 real clips, 0.5 to 3 dB at 128 kbps; the
    estimate recovers about half and never overshot by more than 0.2 dB, see
    ``tools/level_breakdown.py``): its envelope would put the high band too
    low.  Assuming Laplacian lines, the fraction of zero lines in a band gives
    their expected power (:data:`ZERO_POWER`); it is spread evenly over the
    band's lines.  In mid/side granules the estimate is made on M and S and
    half of their sum goes to each of left and right.  Bands that are all zero
    (holes, or silent) add nothing.  ``x0``, ``x1``: the granule's left/right
    lines (``x1`` unused for mono); ``g``/``sf``: each coded channel's side
    info and scalefactors; ``bits``: scratch uint64[2, 9] (the coded channels'
    non-zero lines, :mod:`.lines`).  Inlined into its caller: a call costs as
    much as the work here."""
    out0[:] = 0.0
    out1[:] = 0.0
    edges = ENV_EDGES[kf]
    clo, chi = cap_range(kf)
    # non-zero lines of each coded channel: M = 0 exactly when L + R = 0, S when L - R = 0
    w0 = (kf // 2) >> 6
    w1 = ((kf - 1) >> 6) + 1
    if ms:
        nonzero_bits_pm(x0, x1, w0, w1, bits[0], bits[1])
    else:
        nonzero_bits(x0, w0, w1, bits[0])
        if nc == 2:
            nonzero_bits(x1, w0, w1, bits[1])
    b0 = 0
    while sfb[b0 + 1] <= kf // 2:
        b0 += 1
    for b in range(b0, 22):
        lo = max(sfb[b], kf // 2)
        hi = min(sfb[b + 1], kf)
        if hi <= lo:
            break
        n = hi - lo
        z0 = n - count_bits(bits[0], lo, hi)
        z1 = n - count_bits(bits[1], lo, hi) if nc == 2 else 0
        # expected power of the zero lines: (half a step)**2 * ZERO_POWER[fraction zero], none
        # when the band has no zero line or no other
        p0 = 0.0
        if 0 < z0 < n:
            s = step_gain(long_band_q(g0, sf0, b))
            p0 = z0 * 0.25 * s * s * ZERO_POWER[np.int64(z0) * ZERO_POWER_N // n]
        p1 = 0.0
        if nc == 2 and 0 < z1 < n:
            s = step_gain(long_band_q(g1, sf1, b))
            p1 = z1 * 0.25 * s * s * ZERO_POWER[np.int64(z1) * ZERO_POWER_N // n]
        if ms:
            p0 = p1 = 0.5 * (p0 + p1)
        if p0 == 0.0 and p1 == 0.0:
            continue
        p0 /= n
        p1 /= n
        # spread over the band's lines lo..hi: the share falling in each measured range
        for i in range(NB + 1):
            ra = edges[i] if i < NB else clo
            rb = edges[i + 1] if i < NB else chi
            m = min(hi, rb) - max(lo, ra)
            if m > 0:
                out0[i] += p0 * m
                out1[i] += p1 * m


@njit(inline="always")
def quantizer_bound_db(ms, nc, c, g0, g1, sf0, sf1, sfb, w, nl, kf):
    """The most mean power per line (dB) that the lines just above ``kf``, all
    quantized to zero, can have had in channel ``c`` (left/right, or mono) of a
    long granule (``w`` = -1, ``sfb`` the long band edges) or of short window
    ``w`` (``sfb`` the short band edges, ``nl`` as for :func:`band_q`).

    Each was below half the step ``2**(q/4)`` of the band holding ``kf``
    (global gain, scalefactor, preflag or subblock gain); spread uniformly
    below that they carry ``step**2 / 12`` per line.  In mid/side granules: the
    mean of M's and S's (both coded channels' side info ``g``/``sf`` are
    given).  No bound (+1000) in the last band (long sfb 21, short sfb 12),
    which has no scalefactor: encoders choose to zero it whatever its content
    (LAME's sfb21 handling).  Inlined: a call with its eleven arguments cost
    about as much as the work (0.1 ms per 30 s at 64 kbps)."""
    last = len(sfb) - 2
    b = 0
    while b < last and sfb[b + 1] <= kf:
        b += 1
    if b >= last or (w >= 0 and nl and b < 3):  # nor in a mixed block's long part (not on this scale)
        return 1000.0
    s0 = step_gain(band_q(g0, sf0, b, w, nl))
    s1 = step_gain(band_q(g1, sf1, b, w, nl))
    if ms and nc == 2:
        p = 0.5 * (s0 * s0 + s1 * s1)
    elif c == 0 or nc == 1:
        p = s0 * s0
    else:
        p = s1 * s1
    return 10.0 * np.log10(max(p / 12.0, 1e-30))


@njit(fastmath=SUMS)
def envelope_at(x, kf, band_p, band_n, miss):
    """Level (dB per line, at ``kf``), raw slope, bands used and noisiness of the octave below ``kf``.

    ``x``: contiguous lines (a long granule's 576, or one short window's 192,
    gathered).  The least-squares line through the mean power of ``NB``
    log-spaced bands of ``kf/2 .. 31/32 kf`` (the encoder's transition band
    left out, bands without energy left out of the fit), extrapolated to
    ``kf`` but never above the mean power actually coded just below
    (``0.8 kf .. 0.95 kf``): a fit over an octave that holds a steep fall would
    otherwise put a loud high band above content that had ended.
    ``miss`` float64[NB + 1]: power to add to each band's and to that of the
    cap's range (the quantizer's zeroed power from :func:`zero_line_power`, or
    zeros).  ``band_p``, ``band_n``: scratch float64[NB].

    Returns ``(level_db, slope_db_per_octave, bands_used, noisiness)``; the
    noisiness is ``mean(|x|)**2 / mean(x**2)`` over the non-zero lines (about
    2/pi = 0.64 for Gaussian noise, towards 0 for a few strong peaks): it ranks
    like the spectral flatness without a logarithm per line.
    """
    edges = ENV_EDGES[kf]
    lo, hi = cap_range(kf)
    # float32 sums (twice the lanes of float64; a few hundred lines lose nothing that matters in dB)
    s1 = 0.0
    s2 = 0.0
    nz = 0
    for i in range(NB):
        band = x[edges[i]:edges[i + 1]]
        bp = np.float32(0.0)
        ba = np.float32(0.0)
        bz = np.int32(0)
        for k in range(len(band)):
            v = band[k]
            bp += v * v
            ba += abs(v)
            bz += np.int32(v != 0.0)
        band_p[i] = bp + miss[i]
        band_n[i] = len(band)
        s1 += ba
        s2 += bp
        nz += bz
    near = x[lo:hi]
    cap_p = np.float32(0.0)
    for k in range(len(near)):
        cap_p += near[k] * near[k]
    cap_p += miss[NB]
    # least squares over (log2 of the band centre relative to b, dB)
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    sxy = 0.0
    n = 0
    for i in range(NB):
        if band_n[i] > 0 and band_p[i] > 0.0:
            xc = ENV_XC[kf, i]
            yc = DB_PER_NEPER * np.log(band_p[i] / band_n[i])  # np.log: faster than log10
            sx += xc
            sy += yc
            sxx += xc * xc
            sxy += xc * yc
            n += 1
    if n == 0:
        return -200.0, 0.0, 0, 1.0
    slope = 0.0
    if n >= 2:
        den = n * sxx - sx * sx
        slope = (n * sxy - sx * sy) / den if den > 1e-12 else 0.0
    level = (sy - slope * sx) / n + slope * ENV_LOG2_KF_B[kf]
    cap = DB_PER_NEPER * np.log(cap_p / (hi - lo)) if cap_p > 0.0 else -200.0
    flat = (s1 / nz) ** 2 / (s2 / nz) if nz >= 4 else 1.0
    return min(level, cap), slope, n, flat


