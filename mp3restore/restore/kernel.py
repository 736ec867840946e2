"""Restoration, the orchestrator kernel: holes, then the high band, granule by granule."""
import numpy as np

from .._jit import njit
from ..sideinfo import BLOCK_TYPE, MIXED_BLOCK
from .envelope import NB, envelope_at, quantizer_bound_db, zero_line_power
from .highband import clamp_slope, fill, fill_windows, source_correlation, _noise_fraction
from .holes import fill_holes
from .lines import bounded_top, gather_window, last_nonzero, last_nonzero_below, short_index
from .noise import noise_offset

HISTORY = 16  # granules of slope history: the slope is the mean over the long
# granules among the last HISTORY (a ring indexed by granule number, so the
# state depends on a fixed span of the past and a decode started that early
# reproduces it exactly)


@njit
def restore_chunk(mdct, gi, sf, coded, joint, gabs0, kc, kp, kt, do_hf, do_holes, strength, salt, sfb_long,
                  sfb_short, n_mixed, slope_hist, hole_runs, prev_level, filled, bounded):
    """Restore granules ``mdct[G, C, 576]`` in place.

    ``coded``/``joint`` int32[G]: coded channels and joint-stereo mode extension
    per granule; ``kc``/``kt``: stream cutoff and target lines (long scale); ``kp``:
    the plan's passband line (a long granule whose coded band ends below it had
    the lines above quantized to zero: its high band starts no louder than they
    can have been, :func:`~.envelope.quantizer_bound_db`); ``sfb_long``/``sfb_short``:
    the band edges at the stream's rate, ``n_mixed`` the long bands of its mixed
    blocks; ``gabs0``: the
    stream index of the first granule (seeds the noise); state arrays
    ``slope_hist`` float64[C, HISTORY] (NaN: no slope measured in that granule),
    ``hole_runs`` int32[C, 22] and ``prev_level`` float64[C] (the high-band level
    of the previous granule, -200 when none) are updated.
    ``filled`` int32[G, C, 5] receives where lines were added (see :func:`added_lines`).
    ``bounded``: the coefficients are the decoder's own, so no line at or above
    :func:`~.lines.bounded_top` is non-zero and the search for the highest
    non-zero line starts there; edited coefficients need False.

    Transients: a start block (type 1) is followed by short blocks, so its top
    octave holds the attack's energy; its high band takes the lower of its own
    level and the previous granule's, and no holes are filled there, so nothing
    is smeared ahead of the attack (pre-echo).  Short blocks are filled a granule
    at a time (:func:`~.highband.fill_windows`): one gain for the three windows,
    from the power mean of their levels, and a shift fixed by the stream's
    cutoff, so the copies' aliases cancel.  Below the passband their level is
    bounded as long granules' is, by the windows' mean ``step**2 / 12`` (each
    window's steps: subblock gain, short scalefactors).
    """
    G = mdct.shape[0]
    C = mdct.shape[1]
    pw = np.empty(22)
    level_seen = np.empty(C)
    klc = np.zeros(C, np.int64)
    band_p = np.empty(NB)
    band_n = np.empty(NB)
    wins = np.empty((3, C, 192), mdct.dtype)
    miss = np.zeros((2, NB + 1), np.float64)  # the quantizer's zeroed power in envelope_at's ranges
    no_miss = np.zeros(NB + 1, np.float64)
    bits = np.empty((2, 9), np.uint64)  # bit maps of non-zero lines (see .lines)
    for g in range(G):
        for c in range(C):
            filled[g, c, 0] = 576
            filled[g, c, 1] = 192
            filled[g, c, 2] = 192
            filled[g, c, 3] = 192
            filled[g, c, 4] = 0
        gabs = gabs0 + g
        slot = gabs % HISTORY
        for c in range(C):
            slope_hist[c, slot] = np.nan
        nc = min(C, coded[g])
        c1 = min(1, nc - 1)
        bt = gi[g, 0, BLOCK_TYPE]
        # one channel long, the other short: each takes its own path, alone (no channel
        # correlation, no estimate that needs both channels' steps)
        split = (bt == 2) != (gi[g, c1, BLOCK_TYPE] == 2)
        # the quantizer's steps: not in intensity granules (channel 1 holds positions)
        steps = (joint[g] & 1) == 0 and not split
        ms = (joint[g] & 2) != 0
        for c in range(C):
            level_seen[c] = -200.0
        kl = 0
        top = bounded_top(gi[g]) if bounded else 576
        for c in range(nc):
            klc[c] = last_nonzero_below(mdct[g, c], top)
            if gi[g, c, BLOCK_TYPE] != 2:
                kl = max(kl, klc[c])
        if kl > 0:  # long blocks (all coded channels, or one when split)
            if do_holes:
                for c in range(nc):
                    if gi[g, c, BLOCK_TYPE] == 0 or gi[g, c, BLOCK_TYPE] == 3:  # not start, not short
                        filled[g, c, 4] = fill_holes(mdct[g, c], gi[g, c], sf[g, c], sfb_long, klc[c],
                                                     hole_runs[c], gabs, c, salt, strength, pw, bits[0])
            if do_hf and kl >= kc // 2 and kl + 6 <= kt:
                kf = kl
                rho = 0.0
                if nc == 2 and not split:
                    rho = source_correlation(mdct[g, 0], mdct[g, 1], kf // 2, kf)
                n0 = noise_offset(gabs, 0, -1, salt)
                if steps:
                    zero_line_power(mdct[g, 0], mdct[g, c1], nc, ms, gi[g, 0], gi[g, c1],
                                    sf[g, 0], sf[g, c1], sfb_long, kf, miss[0], miss[1], bits)
                else:
                    miss[:] = 0.0
                for c in range(nc):
                    if gi[g, c, BLOCK_TYPE] == 2:
                        continue
                    x = mdct[g, c]
                    level, slope, n, sfm = envelope_at(x, kf, band_p, band_n, miss[c])
                    if n >= 2:
                        slope_hist[c, slot] = slope
                    if n == 0:
                        continue
                    if kf < kp and steps:
                        level = min(level, quantizer_bound_db(ms, nc, c, gi[g, 0], gi[g, c1], sf[g, 0],
                                                              sf[g, c1], sfb_long, -1, 0, kf))
                    level_seen[c] = level
                    if gi[g, c, BLOCK_TYPE] == 1:
                        level = min(level, prev_level[c])
                    s = _mean_slope(slope_hist[c], slope)
                    fill(x, kf, kt, level, clamp_slope(s), _noise_fraction(sfm), rho if c else 1.0,
                         n0, noise_offset(gabs, c, -1, salt), strength)
                    filled[g, c, 0] = kf
        if do_hf and (bt == 2 or split):
            # short windows: one band start and one gain per subband piece for the three
            # windows (fill_windows), so the copies' time-domain aliases still cancel
            kts = kt // 3
            kf = 0
            for w in range(3):
                for c in range(nc):
                    if gi[g, c, BLOCK_TYPE] == 2:
                        gather_window(mdct[g, c], w, wins[w, c])
                        kf = max(kf, last_nonzero(wins[w, c]))
            if kf >= kc // 6 and kf + 2 <= kts:
                for c in range(nc):
                    if gi[g, c, BLOCK_TYPE] != 2:
                        continue
                    nl = n_mixed if gi[g, c, MIXED_BLOCK] else 0
                    power = 0.0
                    slope = 0.0
                    m = 0
                    for w in range(3):
                        level, s, n, _ = envelope_at(wins[w, c], kf, band_p, band_n, no_miss)
                        if n > 0:
                            power += 10.0 ** (level / 10.0)
                            slope += s
                            m += 1
                    if m == 0:
                        continue
                    level = 10.0 * np.log10(power / 3.0)
                    if 3 * kf < kp and steps:
                        bound = 0.0
                        for w in range(3):
                            bound += 10.0 ** (quantizer_bound_db(ms, nc, c, gi[g, 0], gi[g, c1], sf[g, 0],
                                                                 sf[g, c1], sfb_short, w, nl, kf) / 10.0)
                        level = min(level, 10.0 * np.log10(bound / 3.0))
                    s = _mean_slope(slope_hist[c], slope / m)
                    fill_windows(mdct[g, c], kf, kts, kc // 3, level, clamp_slope(s), strength)
                    for w in range(3):
                        filled[g, c, 1 + w] = kf
        for c in range(C):
            prev_level[c] = level_seen[c]
        for c in range(nc, C):
            for k in range(576):
                mdct[g, c, k] = mdct[g, 0, k]
            for k in range(5):
                filled[g, c, k] = filled[g, 0, k]


@njit
def added_lines(mdct, filled, sfb_long, idx, out):
    """What restoration added to granules ``idx`` (int64): ``out[len(idx), C, 576]`` =
    the lines of ``mdct[idx]`` that ``restore_chunk`` filled (per ``filled``: from
    line ``[0]`` up in long blocks, from line ``[1 + w]`` up in short window ``w``,
    the long bands in the bit mask ``[4]``), zero elsewhere.  Restoration only
    ever writes lines that were zero, so ``mdct - out`` is the spectrum before
    restoration."""
    C = mdct.shape[1]
    for j in range(len(idx)):
        g = idx[j]
        for c in range(C):
            o = out[j, c]  # rows: loops over 1-D views (3-D indexing per line ran at half the speed)
            x = mdct[g, c]
            top = filled[g, c, 0]
            for k in range(top):
                o[k] = 0.0
            for k in range(top, 576):
                o[k] = x[k]
            for w in range(3):
                for f in range(filled[g, c, 1 + w], 192):
                    i = short_index(f, w)
                    o[i] = x[i]
            m = filled[g, c, 4]
            if m:
                for b in range(22):
                    if (m >> b) & 1:
                        for k in range(sfb_long[b], sfb_long[b + 1]):
                            o[k] = x[k]


@njit
def _mean_slope(hist, fallback):
    s = 0.0
    m = 0
    for i in range(HISTORY):
        if not np.isnan(hist[i]):
            s += hist[i]
            m += 1
    if m == 0:
        return fallback
    return s / m
