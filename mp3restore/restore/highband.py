"""Restoration, sub-step 3: regenerate the high band of one granule.

For each channel (and each short window on its own), the zeroed lines above
the coded band ``kf`` are filled up to ``kt``:

* **patch**: lines are copied from the source range ``[kf - P, kf)`` with a
  shift of ``P``, a multiple of 36 lines (12 per short window): two polyphase
  subbands, so each destination subband has the same parity as its source and
  the filterbank's alias structure is kept; several patches when needed;
* **envelope**: the target mean power per line falls from the level of the top
  coded octave with that octave's slope (smoothed over time by the caller,
  never rising, with the extra roll-off real music has up high);
* **tonality**: each line is ``gain * (sqrt(1-r) * patch / rms + sqrt(r) * noise)``
  with the noise fraction ``r`` from the source's noisiness, growing with
  frequency (per subband); zero lines in the patch take noise only; short
  windows (transients) get a pure patch, as SBR adds no noise in transient
  segments;
* **stereo**: the noise of the second channel is correlated with the first's as
  the two source ranges are (the patches themselves come from each channel's
  own low band), so the high band has the image the coded band has.
"""
import numpy as np

from .._jit import njit
from .noise import short_index, uniform

EXTRA_ROLLOFF = 3.0  # dB/octave beyond the measured slope above the cutoff
MAX_SLOPE = -2.0  # the extrapolated envelope never rises and falls at least this fast
MIN_SLOPE = -30.0
NOISE_MIN = 0.35  # least noise fraction (pure copies of tonal sources sound metallic)


# ln(k + 0.5) for the gain's power law, one exp per line
LN_LINE = np.log(np.arange(577) + 0.5)


@njit
def _noise_fraction(flat):
    """Noise fraction from the source's noisiness (0.64 Gaussian noise .. ~0 one peak)."""
    r = (flat - 0.2) / 0.4
    return min(1.0, max(NOISE_MIN, r))


@njit
def source_correlation(xa, xb, a, b, w):
    """Correlation of the two channels' lines ``a..b`` (0 when either is silent)."""
    sab = 0.0
    saa = 0.0
    sbb = 0.0
    for k in range(a, b):
        i = k if w < 0 else short_index(k, w)
        sab += xa[i] * xb[i]
        saa += xa[i] * xa[i]
        sbb += xb[i] * xb[i]
    if saa <= 0.0 or sbb <= 0.0:
        return 0.0
    return min(1.0, max(-1.0, sab / np.sqrt(saa * sbb)))


@njit
def fill(x, kf, kt, step, level_db, slope, r0, rho, gabs, c, salt, w, strength):
    """Fill lines ``kf..kt`` of ``x`` (window ``w``, or long when ``w < 0``).

    ``step``: patch shift unit (36 long / 12 short); ``level_db``/``slope``:
    envelope at ``kf`` and above it; ``r0``: noise fraction at ``kf`` (0: a
    pure patch, no noise at all, used for the short windows of transients:
    a shifted copy keeps the attack where it is, noise would spread over the
    window and ahead of the attack);
    ``rho``: correlation to channel 0's noise (channel ``c`` > 0).
    The gain follows ``10**((level + slope * log2((k + 0.5) / kf)) / 20)``,
    evaluated at the ends of each subband piece and interpolated linearly
    within it (well under 0.1 dB off, and one ``exp`` per piece).
    """
    half = kf // 2
    P = max(step, (half // step) * step)
    if kf - P < 0 or kt <= kf:
        return
    sub = 18 if w < 0 else 6
    span = max(1, kt - kf)
    gb = slope / 20.0 / np.log(2.0)
    ga = level_db / 20.0 * np.log(10.0) - gb * np.log(kf) + np.log(strength)
    rho2 = np.sqrt(max(0.0, 1.0 - rho * rho))
    salt_w = 1000 * (w + 1)
    d = kf
    while d < kt:
        # destination subband piece [d, e) and its source lines d - m*P
        e = min(kt, (d // sub + 1) * sub)
        off = ((d - kf) // P + 1) * P
        ss = 0.0
        for k in range(d, e):
            v = x[k - off] if w < 0 else x[short_index(k - off, w)]
            ss += v * v
        rms = np.sqrt(ss / (e - d))
        r = r0 + (1.0 - r0) * 0.5 * (0.5 * (d + e) - kf) / span if r0 > 0.0 else 0.0
        cp = np.sqrt(1.0 - r) / rms if rms > 0.0 else 0.0
        cn = np.sqrt(r)
        zero_noise = 1.0 if r0 > 0.0 else 0.0
        g = np.exp(ga + gb * LN_LINE[d])
        dg = (np.exp(ga + gb * LN_LINE[e - 1]) - g) / max(1, e - 1 - d)
        if w < 0:
            for k in range(d, e):
                v = x[k - off]
                n = uniform(gabs, 0, k + salt_w, salt)
                if c > 0:
                    n = rho * n + rho2 * uniform(gabs, c, k + salt_w, salt)
                y = cp * v + cn * n if v != 0.0 else zero_noise * n
                x[k] = g * y
                g += dg
        else:
            for k in range(d, e):
                v = x[short_index(k - off, w)]
                n = uniform(gabs, 0, k + salt_w, salt)
                if c > 0:
                    n = rho * n + rho2 * uniform(gabs, c, k + salt_w, salt)
                y = cp * v + cn * n if v != 0.0 else zero_noise * n
                x[short_index(k, w)] = g * y
                g += dg
        d = e


@njit
def clamp_slope(s):
    return min(MAX_SLOPE, max(MIN_SLOPE, s)) - EXTRA_ROLLOFF
