"""Restoration, sub-step 2: the spectral envelope of the coded band's top octave
(level, slope and how noise-like it is), measured per granule and channel, or
per short window."""
import numpy as np

from .._jit import SUMS, njit

NB = 4


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


@njit(fastmath=SUMS)
def envelope_at(x, kf, band_p, band_n):
    """Level (dB per line, at ``kf``), raw slope, bands used and noisiness of the octave below ``kf``.

    ``x``: contiguous lines (a long granule's 576, or one short window's 192,
    gathered).  The least-squares line through the mean power of ``NB``
    log-spaced bands of ``kf/2 .. 31/32 kf`` (the encoder's transition band
    left out, bands without energy left out of the fit), extrapolated to
    ``kf`` but never above the mean power actually coded just below
    (``0.8 kf .. 0.95 kf``): a fit over an octave that holds a steep fall would
    otherwise put a loud high band above content that had ended.
    ``band_p``, ``band_n``: scratch float64[NB].

    Returns ``(level_db, slope_db_per_octave, bands_used, noisiness)``; the
    noisiness is ``mean(|x|)**2 / mean(x**2)`` over the non-zero lines (about
    2/pi = 0.64 for Gaussian noise, towards 0 for a few strong peaks): it ranks
    like the spectral flatness without a logarithm per line.
    """
    edges = ENV_EDGES[kf]
    lo = (kf * 4) // 5
    hi = max(lo + 1, (kf * 19) // 20)
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
        band_p[i] = bp
        band_n[i] = len(band)
        s1 += ba
        s2 += bp
        nz += bz
    near = x[lo:hi]
    cap_p = np.float32(0.0)
    for k in range(len(near)):
        cap_p += near[k] * near[k]
    # least squares over (log2 of the band centre relative to b, dB)
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    sxy = 0.0
    n = 0
    for i in range(NB):
        if band_n[i] > 0 and band_p[i] > 0.0:
            xc = ENV_XC[kf, i]
            yc = 10.0 * np.log10(band_p[i] / band_n[i])
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
    cap = 10.0 * np.log10(cap_p / (hi - lo)) if cap_p > 0.0 else -200.0
    flat = (s1 / nz) ** 2 / (s2 / nz) if nz >= 4 else 1.0
    return min(level, cap), slope, n, flat


