"""Restoration, sub-step 3: regenerate the high band of one granule.

For each channel (a granule's three short windows together), the zeroed lines above
the coded band ``kf`` are filled up to ``kt``:

* **patch**: lines are copied from the source range ``[kf - P, kf)`` with a
  shift of ``P``, a multiple of 36 lines (12 per short window): two polyphase
  subbands, so each destination subband has the same parity as its source and
  the filterbank's alias structure is kept; several patches when needed;
* **envelope**: the target mean power per line continues the level and slope
  of the top coded octave (the slope smoothed over time by the caller, never
  rising, at most ``MIN_SLOPE`` steep);
* **tonality**: each line is ``gain * (sqrt(1-r) * patch / rms + sqrt(r) * noise)``
  with the noise fraction ``r`` from the source's noisiness, growing with
  frequency (per subband); zero lines in the patch take noise only;
* **transients**: short windows get a pure patch (as SBR adds no noise in
  transient segments) under one gain per subband piece for a granule's three
  windows (:func:`fill_windows`), so the copy keeps the coded band's time
  envelope and the windows' aliases still cancel: the high band starts with an
  attack as the coded band does;
* **stereo**: the noise of the second channel is correlated with the first's as
  the two source ranges are (the patches themselves come from each channel's
  own low band), so the high band has the image the coded band has.
"""
import numpy as np

from .._jit import SUMS, njit
from .noise import NOISE

# The measured slope of the top coded octave is continued as it is.  Over 7 real
# clips x 4 settings (64k..V5) the original's power in the first quarter-octave
# above the cutoff is on average 0.4 dB from the straight-line continuation of
# the top octave's long-term spectrum (clip by clip -4.5..+7 dB, no common sign);
# the former priors (at least -2 dB/octave, then 3 dB/octave more) left the
# restored high band 1.2 dB too dull on average over those clips, 5 dB at 64 kbps
# where the extrapolation is longest; they are gone.  Rising slopes are still not continued.
MAX_SLOPE = 0.0  # the extrapolated envelope never rises
# A steep top octave is continued as steep: the bound only keeps the power law
# finite (it was -30 dB/octave, which lifted dull sources' high bands above
# their own trend: a piano falling 37 dB/octave came out 12 dB too bright at 96k).
MIN_SLOPE = -60.0
NOISE_MIN = 0.35  # least noise fraction (pure copies of tonal sources sound metallic)


# ln(k + 0.5) for the gain's power law, one exp per line
LN_LINE = np.log(np.arange(577) + 0.5)
LN_LINE32 = LN_LINE.astype(np.float32)


@njit
def _noise_fraction(flat):
    """Noise fraction from the source's noisiness (0.64 Gaussian noise .. ~0 one peak)."""
    r = (flat - 0.2) / 0.4
    return min(1.0, max(NOISE_MIN, r))


@njit(fastmath=SUMS)
def source_correlation(xa, xb, a, b):
    """Correlation of the two channels' lines ``a..b`` (0 when either is silent)."""
    sab = np.float32(0.0)  # float32 sums: twice the lanes, and ample for a correlation
    saa = np.float32(0.0)
    sbb = np.float32(0.0)
    ya = xa[a:b]
    yb = xb[a:b]
    for k in range(len(ya)):
        sab += ya[k] * yb[k]
        saa += ya[k] * ya[k]
        sbb += yb[k] * yb[k]
    if saa <= 0.0 or sbb <= 0.0:
        return 0.0
    return min(1.0, max(-1.0, np.float64(sab) / np.sqrt(np.float64(saa) * np.float64(sbb))))


@njit(inline="always")
def _fill_piece(dst, src, na, nb, lnk, ln0, r1, r2, ap, an, bp, bn, az, h, gb32, m):
    """``m`` lines of a piece: patch and noise blended (``ap``/``an`` below line
    ``h``, ``bp``/``bn`` from it: the piece's two subbands), times the gain's
    shape within the piece (``ln0``: the log line its gain refers to).  Inlined
    with ``m`` = ``h`` * 2 = 36 (a full piece) the trip count is a constant and
    the loop vectorises without a scalar remainder."""
    for i in range(m):
        v = src[i]
        n = r1 * na[i] + r2 * nb[i]
        cp = ap if i < h else bp
        cn = an if i < h else bn
        y = cp * v + cn * n if v != 0.0 else az * n
        # exp(t) to 4th order, t taken from the piece's log-middle: from line 250 up |t|
        # stays under 0.37 (0.006 % off) for slopes to -33 dB/octave, 0.67 (0.1 %) at -60
        t = gb32 * (lnk[i] - ln0)
        dst[i] = (np.float32(1.0) + t * (np.float32(1.0) + t * (np.float32(0.5) + t * (
            np.float32(1.0 / 6.0) + t * np.float32(1.0 / 24.0))))) * y


@njit(inline="always")
def _patch_factors(src, a, b, d, kf, r0, span):
    """``(sqrt(1 - r) / rms, sqrt(r))`` of the subband piece ``src[a:b]`` (destination lines
    ``d + a .. d + b``): the patch normalised to unit power, and the noise fraction ``r``
    at the piece's centre."""
    ss = np.float32(0.0)  # float32 sums: twice the lanes (18 lines lose nothing that matters)
    for i in range(a, b):
        ss += src[i] * src[i]
    r = r0 + (1.0 - r0) * 0.5 * (d + 0.5 * (a + b) - kf) / span if r0 > 0.0 else 0.0
    # sqrt(1 - r) / rms with one square root (they are on each piece's critical path)
    return (np.sqrt((1.0 - r) * (b - a) / ss) if ss > 0.0 else 0.0), np.sqrt(r)


@njit(fastmath=SUMS)
def fill(x, kf, kt, level_db, slope, r0, rho, n0, n1, strength):
    """Fill lines ``kf..kt`` of a long granule's 576 lines ``x`` (patches of the
    coded lines ``a0 - P .. a0`` shifted by ``P``, ``2 P``, ..., ``P`` a multiple
    of 36 lines and ``a0`` the multiple of 36 at or below ``kf``, so patches meet
    on piece boundaries; normalised per polyphase subband, 18 lines).

    ``level_db``/``slope``: envelope at ``kf`` and
    above it; ``r0``: noise fraction at ``kf`` (0: a pure patch, no noise at
    all); noise line ``k`` is ``rho * NOISE[n0 + k] + sqrt(1 - rho**2) *
    NOISE[n1 + k]`` (``n0``: channel 0's offset, ``n1`` this channel's; channel
    0 itself passes ``rho = 1``).
    The gain follows ``10**((level + slope * log2((k + 0.5) / kf)) / 20)``:
    lines are written in pieces of two subbands, each with one gain (carried
    from the previous piece's by a 5th-order polynomial where the step is
    small, 0.03 % off after a dozen pieces) and a polynomial within it.
    """
    step = 36
    sub = 18
    half = kf // 2
    P = max(step, (half // step) * step)
    a0 = (kf // step) * step
    if a0 - P < 0 or kt <= kf:
        return
    span = max(1, kt - kf)
    gb = slope / 20.0 * np.log(10.0) / np.log(2.0)  # dB/octave -> exponent of k: (k / kf) ** gb
    ga = level_db / 20.0 * np.log(10.0) - gb * np.log(kf) + np.log(strength)
    rho2 = np.sqrt(max(0.0, 1.0 - rho * rho))
    zero_noise = 1.0 if r0 > 0.0 else 0.0
    r1 = np.float32(rho)
    r2 = np.float32(rho2)
    gb32 = np.float32(gb)
    mid = LN_LINE[kf]
    g = np.exp(ga + gb * mid)
    d = kf
    off = P  # the shift of the patch holding d: patches start at a0 + j P (j >= 1)
    nxt = a0 + P  # where the next one starts
    while d < kt:
        # destination piece [d, e) (two subbands, split at h) and its source lines d - off:
        # a piece is never cut by a patch boundary, and every source line is a coded one
        # (below kf)
        if d >= nxt:
            off += P
            nxt += P
        e = min(kt, (d // step + 1) * step)
        h = min(e, (d // sub + 1) * sub) - d
        # slices, so the indices start at 0 and the loops vectorise
        dst = x[d:e]
        src = x[d - off:e - off]
        if r0 >= 1.0:  # noise only (r = 1 everywhere, most granules of noise-like sources)
            cpa, cna, cpb, cnb = 0.0, 1.0, 0.0, 1.0
        elif e - d == step:  # constant bounds: the loops vectorise without a remainder
            cpa, cna = _patch_factors(src, 0, 18, d, kf, r0, span)
            cpb, cnb = _patch_factors(src, 18, 36, d, kf, r0, span)
        else:
            cpa, cna = _patch_factors(src, 0, h, d, kf, r0, span)
            cpb, cnb = _patch_factors(src, h, e - d, d, kf, r0, span)
        # the gain at the piece's log-middle, exp(ga + gb mid), from the previous piece's
        m = 0.5 * (LN_LINE[d] + LN_LINE[e - 1])
        u = gb * (m - mid)
        mid = m
        if abs(u) < 0.25:
            g *= 1.0 + u * (1.0 + u * (0.5 + u * (1.0 / 6.0 + u * (1.0 / 24.0 + u * (1.0 / 120.0)))))
        else:
            g = np.exp(ga + gb * mid)
        # float32 from here: twice the lanes of float64
        ap = np.float32(g * cpa)
        an = np.float32(g * cna)
        bp = np.float32(g * cpb)
        bn = np.float32(g * cnb)
        az = np.float32(g * zero_noise)
        lnk = LN_LINE32[d:e]
        ln0 = np.float32(mid)
        na = NOISE[n0 + d:n0 + e]
        nb = NOISE[n1 + d:n1 + e]
        if e - d == step:
            # with noise only both halves have the same factors: no split (h = 36 folds it away)
            if r0 >= 1.0:
                _fill_piece(dst, src, na, nb, lnk, ln0, r1, r2, ap, an, bp, bn, az, 36, gb32, 36)
            else:
                _fill_piece(dst, src, na, nb, lnk, ln0, r1, r2, ap, an, bp, bn, az, 18, gb32, 36)
        else:
            _fill_piece(dst, src, na, nb, lnk, ln0, r1, r2, ap, an, bp, bn, az, h, gb32, e - d)
        d = e


@njit
def clamp_slope(s):
    return min(MAX_SLOPE, max(MIN_SLOPE, s))


@njit(fastmath=SUMS)
def fill_windows(x, kf, kt, kc, level_db, slope, strength):
    """Fill lines ``kf..kt`` (short-window lines, 0..192) of the three short windows
    of one channel's granule ``x`` (its 576 values in the decoder's order,
    :func:`~.lines.short_index`) with shifted copies (shift a multiple of 12 lines)
    under one gain per subband piece common to the three windows.

    The copy of a window's lines keeps that window's time envelope, and with the
    same shift and the same gain in every window the time-domain aliases of
    overlapping windows still cancel, so the high band follows the attack where
    the coded band has it.  Gains that differ from window to window would break
    that cancellation: an attack's alias would be left up to half a window
    (4 ms) before it.  For the same reason the shift
    ``P`` comes from the stream's cutoff ``kc`` (short lines), not from the
    granule's ``kf``: half of it, rounded to a multiple of 12 (at most ``kf``),
    so consecutive short granules copy a line from the same place even when
    their coded bands end a few lines apart (the last window of one granule
    overlaps the first of the next).  As in :func:`fill`, patches start at
    ``a0 + j P``, ``a0`` the multiple of 6 (a subband's lines in a window) at or
    below ``kf``, so no subband piece is cut by a patch boundary and every
    source line is a coded one.  ``level_db`` is the target mean power per
    line at ``kf`` over the three windows, ``slope`` its slope above.  No noise
    is added (transients).

    Works in place on the decoder's order, where a subband's three windows of
    6 lines are 18 consecutive values and a piece's source lies ``3 P`` values
    below it, so the windows are not gathered and scattered for the fill (the
    kernel still gathers them to measure their envelopes)."""
    step = 12
    sub = 6
    P = max(step, min(int(round(kc / 2.0 / step)) * step, (kf // step) * step))
    a0 = (kf // sub) * sub
    if a0 - P < 0 or kt <= kf:
        return
    gb = slope / 20.0 * np.log(10.0) / np.log(2.0)
    ga = level_db / 20.0 * np.log(10.0) - gb * np.log(kf) + np.log(strength)
    d = kf
    while d < kt:
        e = min(kt, (d // sub + 1) * sub)
        off = ((d - a0) // P + 1) * P
        s = d // sub
        if e - d == sub:  # a whole subband piece: loops of constant trip count
            _window_piece(x, 18 * s, 3 * off, 0, d, ga, gb, 6)
        else:
            _window_piece(x, 18 * s, 3 * off, d - sub * s, d, ga, gb, e - d)
        d = e


@njit(fastmath=SUMS, inline="always")
def _window_piece(x, base, shift, j0, d, ga, gb, m):
    """Lines ``d .. d + m`` of the three windows (lines ``j0 .. j0 + m`` of the subband
    whose values start at ``base``): the copy of the values ``shift`` lower, under one
    gain for the three (:func:`fill_windows`)."""
    ss = 0.0
    for w in range(3):
        src = x[base - shift + 6 * w + j0:base - shift + 6 * w + j0 + m]
        for i in range(m):
            v = np.float64(src[i])
            ss += v * v
    if ss > 0.0:
        g = np.exp(ga + gb * LN_LINE[d]) * np.sqrt(3 * m / ss)
        ln0 = LN_LINE[d]
        lnk = LN_LINE[d:d + m]
        for w in range(3):
            dst = x[base + 6 * w + j0:base + 6 * w + j0 + m]
            src = x[base - shift + 6 * w + j0:base - shift + 6 * w + j0 + m]
            for i in range(m):
                t = gb * (lnk[i] - ln0)
                dst[i] = g * (1.0 + t * (1.0 + t * (0.5 + t * (1.0 / 6.0 + t * (1.0 / 24.0))))) * src[i]
