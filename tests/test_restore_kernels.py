"""The restoration kernels against slow, obviously correct numpy references.

Each reference is written from the kernel's documented definition, line by
line, with an ``exp`` per line and float64 throughout; the kernels compute the
same things with float32 sums, one ``exp`` per subband piece and vectorised
loops, so the comparisons allow for that and nothing more.
"""
import numpy as np
import pytest

from mp3restore.restore.envelope import (ENV_EDGES, ENV_LOG2_KF_B, ENV_XC, NB, band_q, envelope_at,
                                        quantizer_bound_db, zero_line_power)
from mp3restore.restore.headroom import LIMIT
from mp3restore.restore.highband import fill, fill_windows, source_correlation
from mp3restore.restore.holes import CAP, HOLE_DB, RUN_MAX, fill_holes
from mp3restore.restore.lines import (any_bits, count_bits, gather_window, is_zero, last_nonzero, nonzero_bits,
                                      nonzero_bits_pm, popcount, short_index)
from mp3restore.restore.noise import NOISE, NOISE_N, noise_offset
from mp3restore.restore.plan import count_holes, long_line_power, measured_cutoff_line
from mp3restore.sideinfo import GLOBAL_GAIN, N_FIELDS, PREFLAG, SCALEFAC_SCALE, SUBBLOCK_GAIN
from mp3restore.tables.bands import SFB_LONG, SFB_SHORT

RNG = np.random.default_rng(2024)
PRETAB = [0] * 11 + [1, 1, 1, 1, 2, 2, 3, 3, 3, 2, 0]  # ISO/IEC 11172-3 Table B.6


def sparse_lines(n=576, top=None, density=0.6):
    x = (RNG.standard_normal(n) * (RNG.random(n) < density)).astype(np.float32)
    if top is not None:
        x[top:] = 0
    return x


@pytest.mark.parametrize("density", [0.02, 0.3, 0.97])
def test_bit_maps_count_like_numpy(density):
    """Bit maps of non-zero lines (words ``w0 .. w1`` only), their population counts over
    ranges crossing word edges, and mid/side's maps from left and right (exact zeros of
    ``L + R`` and ``L - R``, as the quantizer made them)."""
    for _ in range(20):
        x = sparse_lines(density=density)
        y = np.where(RNG.random(576) < 0.3, x, sparse_lines(density=density)).astype(np.float32)
        y[RNG.random(576) < 0.2] *= -1
        w0, w1 = sorted(RNG.integers(0, 10, 2))
        bits = np.full(9, 12345, np.uint64)
        nonzero_bits(x, w0, w1, bits)
        pm = np.full((2, 9), 12345, np.uint64)
        nonzero_bits_pm(x, y, w0, w1, pm[0], pm[1])
        for w in range(9):
            if not w0 <= w < w1:  # words outside the range are left as they were
                assert bits[w] == 12345 and pm[0, w] == 12345 and pm[1, w] == 12345
                continue
            for got, want in ((bits[w], x != 0), (pm[0, w], x + y != 0), (pm[1, w], x - y != 0)):
                assert int(got) == sum(1 << i for i in range(64) if want[64 * w + i])
        for _ in range(50 if w1 > w0 else 0):
            a, b = sorted(RNG.integers(64 * w0, 64 * w1 + 1, 2))
            if a == b:
                continue
            assert count_bits(bits, a, b) == np.count_nonzero(x[a:b])
            assert count_bits(pm[1], a, b) == np.count_nonzero(x[a:b] - y[a:b])
            assert any_bits(bits, a, b) == bool(np.any(x[a:b]))
    for m in (0, 1, 2**63, 2**64 - 1, 0x0123456789ABCDEF):
        assert popcount(np.uint64(m)) == bin(m).count("1")


@pytest.mark.parametrize("top", [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 300, 433, 511, 512, 513, 575, 576])
def test_last_nonzero_and_is_zero(top):
    x = np.zeros(576, np.float32)
    if top:
        x[top - 1] = 1e-30
    assert last_nonzero(x) == top
    assert last_nonzero(x[:192]) == min(top, 192) if top <= 192 else last_nonzero(x[:192]) == 0
    for lo, hi in [(0, 576), (0, max(top - 1, 0)), (max(top - 1, 0), top), (top, 576)]:
        assert is_zero(x, lo, hi) == (not np.any(x[lo:hi]))


def test_gather_and_short_index_follow_the_short_block_order():
    x = np.arange(1, 577, dtype=np.float32)
    for w in range(3):
        out = np.empty(192, np.float32)
        gather_window(x, w, out)
        # ISO order after reordering: subband-major, then window, then 6 lines
        expect = np.array([sb * 18 + w * 6 + j for sb in range(32) for j in range(6)])
        np.testing.assert_array_equal(out, expect + 1)
        assert [short_index(f, w) for f in range(192)] == list(expect)


def test_noise_table_and_offsets():
    assert len(NOISE) == NOISE_N + 576 and NOISE.dtype == np.float32
    assert abs(NOISE.mean()) < 0.03 and abs(NOISE.var() - 1.0) < 0.03
    assert np.abs(NOISE).max() <= np.sqrt(3.0) + 1e-6
    assert abs(np.corrcoef(NOISE[:-1], NOISE[1:])[0, 1]) < 0.03
    offs = [noise_offset(g, c, w, 0x5EED) for g in range(300) for c in range(2) for w in (-1, 0, 1, 2, 3)]
    assert all(0 <= o < NOISE_N for o in offs)
    # spread like independent uniform draws (distinct values: N (1 - exp(-n / N)) expected)
    expected = NOISE_N * (1 - np.exp(-len(offs) / NOISE_N))
    assert len(set(offs)) > 0.95 * expected


def envelope_reference(x, kf, miss):
    e = ENV_EDGES[kf]
    x = x.astype(np.float64)
    bp = np.array([np.sum(x[e[i]:e[i + 1]] ** 2) + miss[i] for i in range(NB)])
    bn = np.diff(e)
    use = (bn > 0) & (bp > 0)
    xc = ENV_XC[kf][use]
    yc = 10 * np.log10(bp[use] / bn[use])
    slope, icept = np.polyfit(xc, yc, 1)
    level = icept + slope * ENV_LOG2_KF_B[kf]
    lo, hi = kf * 4 // 5, max(kf * 4 // 5 + 1, kf * 19 // 20)
    cap = 10 * np.log10((np.sum(x[lo:hi] ** 2) + miss[NB]) / (hi - lo))
    nzl = x[e[0]:e[NB]][x[e[0]:e[NB]] != 0]
    return min(level, cap), slope, int(use.sum()), np.mean(np.abs(nzl)) ** 2 / np.mean(nzl ** 2)


@pytest.mark.parametrize("kf", [120, 250, 434, 500])
def test_envelope_at_matches_reference(kf):
    k = np.arange(576)
    x = sparse_lines(top=kf) * np.sqrt(10 ** ((-30 - 11 * np.log2((k + 0.5) / kf)) / 10)).astype(np.float32)
    miss = RNG.random(NB + 1) * 1e-3 * (RNG.random(NB + 1) < 0.7)
    got = envelope_at(x, kf, np.empty(NB), np.empty(NB), miss)
    ref = envelope_reference(x, kf, miss)
    assert got[2] == ref[2]
    np.testing.assert_allclose(got[0], ref[0], atol=1e-3)
    np.testing.assert_allclose(got[1], ref[1], atol=1e-3)
    np.testing.assert_allclose(got[3], ref[3], rtol=1e-4)


def test_source_correlation_matches_reference():
    a = sparse_lines()
    b = (0.6 * a + 0.8 * sparse_lines()).astype(np.float32)
    ref = np.dot(a[100:400].astype(np.float64), b[100:400]) / np.sqrt(
        np.sum(a[100:400].astype(np.float64) ** 2) * np.sum(b[100:400].astype(np.float64) ** 2))
    assert abs(source_correlation(a, b, 100, 400) - ref) < 1e-5
    assert source_correlation(a, np.zeros_like(a), 100, 400) == 0.0


def fill_reference(x, kf, kt, level, slope, r0, rho, n0, n1, strength):
    x = x.copy()
    step, sub = 36, 18
    P = max(step, (kf // 2 // step) * step)
    span = max(1, kt - kf)
    rho2 = np.sqrt(max(0.0, 1 - rho * rho))
    d = kf
    a0 = kf // step * step  # patches start at a0 + j P: on subband boundaries
    while d < kt:
        off = ((d - a0) // P + 1) * P
        e = min(kt, (d // sub + 1) * sub)
        assert 0 <= d - off and e - off <= kf  # every source line is a coded one
        src = x[d - off:e - off].astype(np.float64)
        rms = np.sqrt(np.mean(src ** 2))
        r = r0 + (1 - r0) * 0.5 * (0.5 * (d + e) - kf) / span if r0 > 0 else 0.0
        for k in range(d, e):
            v = float(x[k - off])
            n = rho * float(NOISE[n0 + k]) + rho2 * float(NOISE[n1 + k])
            if v != 0.0:
                y = np.sqrt(1 - r) * v / rms + np.sqrt(r) * n
            else:
                y = n if r0 > 0 else 0.0
            gain = strength * 10 ** ((level + slope * np.log2((k + 0.5) / kf)) / 20)
            x[k] = gain * y
        d = e
    return x


@pytest.mark.parametrize("kf,kt,slope,r0,rho", [
    (434, 522, -14.0, 0.5, 1.0),  # 128 kbps long block, channel 0
    (250, 522, -33.0, 0.35, 0.3),  # 64 kbps, several patches, steepest slope, correlated channel
    (300, 522, -9.0, 0.0, 1.0),  # pure patch, no noise
    (256, 522, -20.0, 1.0, 0.6),  # noise only (a noise-like source), correlated channel
    (311, 500, -60.0, 1.0, 1.0),  # noise only, steepest slope, pieces cut at both ends
])
def test_fill_matches_reference(kf, kt, slope, r0, rho):
    x = sparse_lines(top=kf)
    n0, n1 = noise_offset(7, 0, -1, 1), noise_offset(7, 1, -1, 1)
    got = x.copy()
    fill(got, kf, kt, -40.0, slope, r0, rho, n0, n1, 0.8)
    ref = fill_reference(x, kf, kt, -40.0, slope, r0, rho, n0, n1, 0.8)
    np.testing.assert_array_equal(got[:kf], x[:kf])  # the coded band is untouched
    np.testing.assert_array_equal(got[kt:], 0)
    # one exp per subband piece and a polynomial within it: 0.1 % of the exact power law
    np.testing.assert_allclose(got[kf:kt], ref[kf:kt], rtol=1e-3, atol=1e-9)


def fill_windows_reference(wins, kf, kt, kc, level, slope, strength):
    wins = wins.copy()
    P = max(12, min(int(np.round(kc / 24)) * 12, kf // 12 * 12))  # from the stream's cutoff
    d = kf
    a0 = kf // 6 * 6  # patches start at a0 + j P: on subband boundaries
    while d < kt:
        e = min(kt, (d // 6 + 1) * 6)
        off = ((d - a0) // P + 1) * P
        assert 0 <= d - off and e - off <= kf  # every source line is a coded one
        src = wins[:, d - off:e - off].astype(np.float64)  # [3 windows, lines]
        if np.any(src):
            rms = np.sqrt(np.mean(src ** 2))  # over the three windows: one gain for all
            k = np.arange(d, e)
            gain = strength * 10 ** ((level + slope * np.log2((k + 0.5) / kf)) / 20)
            wins[:, d:e] = gain * src / rms
        d = e
    return wins


@pytest.mark.parametrize("kf,kt,kc,slope", [
    (144, 174, 143, -9.0),  # the granule's band ends at the stream's cutoff
    (141, 174, 143, -9.0),  # a little below: the same shift as its neighbours (72, not 60)
    (80, 174, 143, -30.0),  # far below: shift at most kf
    (79, 190, 143, -9.0),  # two patches from a kf off the subband grid: none cuts a piece
])
def test_fill_windows_matches_reference(kf, kt, kc, slope):
    base = sparse_lines(192, top=kf)
    wins = np.stack([base * a for a in (1e-3, 0.05, 1.0)])  # an attack: the same lines, louder
    wins[0, 6:] = 0  # a silent window (above the lowest source line) gets nothing
    # in place on the decoder's order (a subband's three windows of 6 lines in a row)
    x = np.zeros(576, np.float32)
    for w in range(3):
        x[[short_index(f, w) for f in range(192)]] = wins[w]
    fill_windows(x, kf, kt, kc, -40.0, slope, 0.8)
    got = np.stack([x[[short_index(f, w) for f in range(192)]] for w in range(3)])
    ref = fill_windows_reference(wins, kf, kt, kc, -40.0, slope, 0.8)
    np.testing.assert_array_equal(got[:, :kf], wins[:, :kf])
    np.testing.assert_array_equal(got[:, kt:], 0)
    np.testing.assert_array_equal(got[0], wins[0])
    np.testing.assert_allclose(got[:, kf:kt], ref[:, kf:kt], rtol=1e-3, atol=1e-9)
    assert np.count_nonzero(got[2, kf:kt]) > 0
    # the windows keep their relative levels: the copy follows the source's time envelope
    ratio = np.sqrt(np.mean(got[2, kf:kt] ** 2) / np.mean(got[1, kf:kt] ** 2))
    assert abs(ratio - 20.0) < 1e-3


def holes_reference(x, g, sf, sfb, kl, runs, gabs, c, salt, strength):
    x = x.copy()
    pw = np.array([np.mean(x[sfb[b]:sfb[b + 1]].astype(np.float64) ** 2) for b in range(22)])
    runs = np.where(pw == 0, np.minimum(runs + 1, RUN_MAX + 1), 0)
    mask = 0
    noff = noise_offset(gabs, c, 3, salt)
    for b in range(1, 21):
        if pw[b] != 0 or sfb[b + 1] > kl or runs[b] > RUN_MAX:
            continue
        lo = next((j for j in range(b - 1, max(-1, b - 3), -1) if pw[j] > 0), -1)
        hi = next((j for j in range(b + 1, min(22, b + 3)) if pw[j] > 0), -1)
        if lo < 0 or hi < 0:
            continue
        level = 0.5 * (10 * np.log10(pw[lo]) + 10 * np.log10(pw[hi])) - HOLE_DB
        q = g[GLOBAL_GAIN] - 210 - 2 * (1 + g[SCALEFAC_SCALE]) * (sf[b] + g[PREFLAG] * PRETAB[b])
        step2 = 2.0 ** (q / 2)  # the quantizer step 2**(q/4), squared
        level = min(level, 10 * np.log10(CAP * step2))
        x[sfb[b]:sfb[b + 1]] = 10 ** (level / 20) * strength * NOISE[noff + np.arange(sfb[b], sfb[b + 1])]
        mask |= 1 << b
    return x, runs, mask


def test_fill_holes_matches_reference():
    sfb = np.array(SFB_LONG[0], np.int64)  # 44.1 kHz
    x = sparse_lines(density=0.9)
    for b in (5, 9, 10, 16):
        x[sfb[b]:sfb[b + 1]] = 0
    x[sfb[21]:] = 0
    kl = last_nonzero(x)
    g = np.zeros(N_FIELDS, np.int32)
    g[GLOBAL_GAIN], g[SCALEFAC_SCALE], g[PREFLAG] = 150, 1, 1
    sf = RNG.integers(0, 8, 39).astype(np.int16)
    runs = np.zeros(22, np.int32)
    runs[16] = RUN_MAX  # band 16 has been silent for a long time: left alone
    want_x, want_runs, want_mask = holes_reference(x, g, sf, sfb, kl, runs.copy(), 11, 1, 99, 0.7)
    got = x.copy()
    mask = fill_holes(got, g, sf, sfb, kl, runs, 11, 1, 99, 0.7, np.empty(22), np.empty(9, np.uint64))
    assert mask == want_mask and mask == (1 << 5) | (1 << 9) | (1 << 10)
    np.testing.assert_array_equal(runs, want_runs)
    np.testing.assert_allclose(got, want_x, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("sr_index", [0, 1, 2, 6, 8])  # 44.1, 48, 32, 12 (MPEG-2.5) and 8 kHz
def test_fill_holes_matches_reference_on_random_band_patterns(sr_index):
    """Holes next to the lowest and highest eligible bands, runs of two zero bands, three in
    a row (no neighbour within two), the coded band ending inside a band, silence counts
    on either side of the limit, over granules in a row (the counts carry over)."""
    sfb = np.array(SFB_LONG[sr_index], np.int64)
    g = np.zeros(N_FIELDS, np.int32)
    sf = RNG.integers(0, 4, 39).astype(np.int16)
    runs = RNG.integers(RUN_MAX - 2, RUN_MAX + 2, 22).astype(np.int32)
    filled = 0
    for gabs in range(300):
        g[GLOBAL_GAIN] = 150 if gabs % 2 else 230  # the quantizer's cap binds / the neighbours decide
        x = sparse_lines(density=0.95)
        x[RNG.integers(sfb[18], 577):] = 0
        for b in np.flatnonzero(RNG.random(22) < 0.35):
            x[sfb[b]:sfb[b + 1]] = 0
        kl = last_nonzero(x)
        want_x, want_runs, want_mask = holes_reference(x, g, sf, sfb, kl, runs.copy(), gabs, 0, 7, 1.0)
        got = x.copy()
        mask = fill_holes(got, g, sf, sfb, kl, runs, gabs, 0, 7, 1.0, np.empty(22), np.empty(9, np.uint64))
        assert mask == want_mask, (gabs, bin(mask), bin(want_mask))
        np.testing.assert_array_equal(runs, want_runs)
        np.testing.assert_allclose(got, want_x, rtol=1e-5, atol=1e-12)
        filled |= mask
    assert filled & (1 << 1) and filled & (1 << 20)  # the edge bands were exercised


def long_q(g, sf, b):
    return g[GLOBAL_GAIN] - 210 - 2 * (1 + g[SCALEFAC_SCALE]) * (sf[b] + g[PREFLAG] * PRETAB[b])


def short_q(g, sf, b, w, nl=0):
    """ISO/IEC 11172-3 2.4.3.4.7.1 for short window ``w``; scalefactors stored band by band,
    three windows each, after the ``nl`` long bands of a mixed block."""
    k = 3 * b + w if nl == 0 else nl + 3 * (b - 3) + w
    return g[GLOBAL_GAIN] - 210 - 8 * g[SUBBLOCK_GAIN + w] - 2 * (1 + g[SCALEFAC_SCALE]) * sf[k]


def zero_power_reference(v, q):
    """Laplacian lines: ``p0 = 1 - exp(-t/s)`` solved for the scale ``s``, then the
    power of a Laplacian truncated to ``|x| < t`` (``t`` half the step ``2**(q/4)``)
    by numerical integration."""
    z, n = int(np.sum(v == 0)), len(v)
    if z in (0, n):
        return 0.0
    t = 0.5 * 2.0 ** (q / 4)
    s = -t / np.log(1 - z / n)
    u = np.linspace(0, t, 20001)
    w = np.exp(-u / s)
    return z * np.trapezoid(u * u * w, u) / np.trapezoid(w, u)


@pytest.mark.parametrize("ms", [False, True])
def test_zero_line_power_matches_reference(ms):
    sfb = np.array(SFB_LONG[0], np.int64)
    kf = 430
    coded = [np.round(RNG.laplace(0, 0.8, 576)).astype(np.float32) for _ in range(2)]
    for v in coded:
        v[kf:] = 0
    coded[1][sfb[18]:sfb[19]] = 0  # an all-zero band adds nothing
    coded[0][sfb[17]:sfb[18]] = 1  # nor does a band without zeros
    if ms:
        left, right = (coded[0] + coded[1]) / np.sqrt(2), (coded[0] - coded[1]) / np.sqrt(2)
    else:
        left, right = coded
    gs = [np.zeros(N_FIELDS, np.int32) for _ in range(2)]
    for g, gain in zip(gs, (170, 160)):
        g[GLOBAL_GAIN], g[SCALEFAC_SCALE], g[PREFLAG] = gain, 1, 1
    sfs = [RNG.integers(0, 6, 39).astype(np.int16) for _ in range(2)]
    out = np.full((2, NB + 1), 7.0)
    zero_line_power(left.astype(np.float32), right.astype(np.float32), 2, ms, gs[0], gs[1], sfs[0], sfs[1], sfb, kf,
                    out[0], out[1], np.empty((2, 9), np.uint64))
    per_line = np.zeros((2, 576))
    for b in range(22):
        lo, hi = max(sfb[b], kf // 2), min(sfb[b + 1], kf)
        if hi <= lo:
            continue
        p = [zero_power_reference(coded[c][lo:hi], long_q(gs[c], sfs[c], b)) / (hi - lo) for c in range(2)]
        if ms:
            p = [0.5 * (p[0] + p[1])] * 2
        per_line[:, lo:hi] = np.array(p)[:, None]
    assert np.any(per_line[1, sfb[18]:sfb[19]]) == ms  # all-zero S band: only M's estimate reaches it
    e = ENV_EDGES[kf]
    lo, hi = kf * 4 // 5, max(kf * 4 // 5 + 1, kf * 19 // 20)
    ranges = [(e[i], e[i + 1]) for i in range(NB)] + [(lo, hi)]
    want = np.array([[per_line[c, a:b].sum() for a, b in ranges] for c in range(2)])
    assert np.all(want > 0)
    np.testing.assert_allclose(out, want, rtol=2e-3, atol=0)


def test_zero_line_power_recovers_what_a_quantizer_removed():
    """Laplacian lines quantized as LAME does (to zero below half a step): the
    estimate is within 0.3 dB of the power of the lines that were zeroed from a
    fifth to four fifths of them zero, within 1 dB with 96 % zero (bands left
    with no non-zero line add nothing by design)."""
    sfb = np.array(SFB_LONG[0], np.int64)
    g = np.zeros(N_FIELDS, np.int32)
    g[GLOBAL_GAIN] = 210  # step 1 with zero scalefactors
    sf = np.zeros(39, np.int16)
    kf = 400
    e = ENV_EDGES[kf]
    out0, out1, bits = np.empty(NB + 1), np.empty(NB + 1), np.empty((2, 9), np.uint64)
    for scale, tol in ((0.15, 1.0), (0.3, 0.3), (0.6, 0.3), (2.0, 0.3)):
        zeroed = est = 0.0
        for _ in range(200):
            x = RNG.laplace(0, scale, 576)
            x[kf:] = 0
            qx = (np.sign(x) * np.floor(np.abs(x) ** 0.75 + 0.4054) ** (4 / 3)).astype(np.float32)
            zero_line_power(qx, qx, 1, False, g, g, sf, sf, sfb, kf, out0, out1, bits)
            zeroed += np.sum(np.where(qx[e[0]:e[NB]] == 0, x[e[0]:e[NB]], 0.0) ** 2)
            est += np.sum(out0[:NB])
        assert abs(10 * np.log10(est / zeroed)) < tol, scale


@pytest.mark.parametrize("ms", [False, True])
def test_quantizer_bound_matches_reference(ms):
    """Uniform below half the step of the band holding kf: step**2 / 12 per line (M and S averaged)."""
    sfb = np.array(SFB_LONG[0], np.int64)
    gs = [np.zeros(N_FIELDS, np.int32) for _ in range(2)]
    for g, gain, scale, pre in zip(gs, (170, 150), (0, 1), (1, 0)):
        g[GLOBAL_GAIN], g[SCALEFAC_SCALE], g[PREFLAG] = gain, scale, pre
    sfs = [RNG.integers(0, 8, 39).astype(np.int16) for _ in range(2)]

    def power(c, b):
        g = gs[c]
        q = g[GLOBAL_GAIN] - 210 - 2 * (1 + g[SCALEFAC_SCALE]) * (sfs[c][b] + g[PREFLAG] * PRETAB[b])
        return (2.0 ** (q / 4)) ** 2 / 12

    for kf in (100, int(sfb[17]), int(sfb[17]) + 5, int(sfb[21]) - 1):
        b = int(np.searchsorted(sfb, kf, side="right")) - 1
        for c in range(2):
            want = 10 * np.log10(0.5 * (power(0, b) + power(1, b)) if ms else power(c, b))
            got = quantizer_bound_db(ms, 2, c, gs[0], gs[1], sfs[0], sfs[1], sfb, -1, 0, kf)
            assert got == pytest.approx(want, abs=1e-9)
    assert quantizer_bound_db(ms, 1, 0, gs[0], gs[0], sfs[0], sfs[0], sfb, -1, 0, 200) == pytest.approx(
        10 * np.log10(power(0, int(np.searchsorted(sfb, 200, side="right")) - 1)), abs=1e-9)
    assert quantizer_bound_db(ms, 2, 0, gs[0], gs[1], sfs[0], sfs[1], sfb, -1, 0, int(sfb[21])) == 1000.0  # sfb 21: none


def short_side_info():
    gs = [np.zeros(N_FIELDS, np.int32) for _ in range(2)]
    for g, gain, scale, sbg in zip(gs, (170, 160), (0, 1), ((0, 1, 2), (3, 0, 1))):
        g[GLOBAL_GAIN], g[SCALEFAC_SCALE] = gain, scale
        g[SUBBLOCK_GAIN:SUBBLOCK_GAIN + 3] = sbg
    return gs, [RNG.integers(0, 8, 39).astype(np.int16) for _ in range(2)]


def test_band_q_of_short_windows_and_mixed_blocks():
    gs, sfs = short_side_info()
    for w in range(3):
        for b in range(13):
            assert band_q(gs[1], sfs[1], b, w, 0) == short_q(gs[1], sfs[1], b, w)
            assert band_q(gs[1], sfs[1], b, w, 8) == (-1000 if b < 3 else short_q(gs[1], sfs[1], b, w, 8))
    assert band_q(gs[0], sfs[0], 17, -1, 0) == long_q(gs[0], sfs[0], 17)


def test_quantizer_bound_of_a_short_window():
    sfb = np.array(SFB_SHORT[0], np.int64)
    gs, sfs = short_side_info()
    for w in range(3):
        for kf in (40, int(sfb[9]), int(sfb[12]) - 1):
            b = int(np.searchsorted(sfb, kf, side="right")) - 1
            want = 10 * np.log10((2.0 ** (short_q(gs[1], sfs[1], b, w) / 4)) ** 2 / 12)
            assert quantizer_bound_db(False, 2, 1, gs[0], gs[1], sfs[0], sfs[1], sfb, w, 0, kf) == pytest.approx(want)
        # short sfb 12 has no scalefactor, a mixed block's first three short bands are long: no bound
        assert quantizer_bound_db(False, 2, 1, gs[0], gs[1], sfs[0], sfs[1], sfb, w, 0, int(sfb[12])) == 1000.0
        assert quantizer_bound_db(False, 2, 1, gs[0], gs[1], sfs[0], sfs[1], sfb, w, 8, 10) == 1000.0
        b = int(np.searchsorted(sfb, 40, side="right")) - 1
        assert quantizer_bound_db(False, 2, 1, gs[0], gs[1], sfs[0], sfs[1], sfb, w, 8, 40) == pytest.approx(
            10 * np.log10((2.0 ** (short_q(gs[1], sfs[1], b, w, 8) / 4)) ** 2 / 12))


def test_plan_lookahead_helpers_match_numpy():
    """The plan's statistics (jitted or hand-rolled for speed) against the numpy they replace."""
    rng = np.random.default_rng(3)
    for n in range(1, 60):
        last = rng.integers(0, 576, (n, 2))
        bt = rng.integers(0, 3, (n, 2)).astype(np.int32)
        use = (bt != 2) & (last > 0)
        assert measured_cutoff_line(last, bt) == (int(np.percentile(last[use], 90)) if use.sum() >= 8 else -1)
        nz = rng.random((n, 2, 22)) < rng.random()
        e = nz[bt != 2]
        left = np.zeros_like(e)
        right = np.zeros_like(e)
        left[:, 1:] |= e[:, :-1]
        left[:, 2:] |= e[:, :-2]
        right[:, :-1] |= e[:, 1:]
        right[:, :-2] |= e[:, 2:]
        assert count_holes(nz, bt) == np.count_nonzero(~e & left & right)
        mdct = rng.standard_normal((n, 2, 576)).astype(np.float32)
        out = np.empty(150)
        m = long_line_power(mdct, bt, 200, 350, out)
        assert m == np.count_nonzero(bt != 2)
        if m:
            np.testing.assert_allclose(out, np.mean(mdct[:, :, 200:350][bt != 2].astype(np.float64) ** 2, axis=0),
                                       rtol=1e-12)


def test_headroom_does_not_depend_on_how_the_stream_is_chunked():
    """Headroom.apply over chunks of 1, 2, 3, ... granules (its two-granule tail carried
    across them) gives what it gives over the whole stream, and keeps every sample in range."""
    from mp3restore.decoder import SynthState
    from mp3restore.restore.headroom import Headroom

    G, C = 24, 2
    added = np.zeros((G, C, 576), np.float32)
    added[:, :, 300:500] = RNG.standard_normal((G, C, 200)) * 0.01
    bt = np.zeros((G, C), np.int32)
    coded = np.full(G, C, np.int32)
    coded[[9, 10, 17]] = 1  # mono frames of a stereo stream: channel 1 keeps its state there
    add_pcm = np.empty((G * 576, C), np.float32)
    SynthState(C).run(added, bt, bt, coded, add_pcm)
    # loud granules (runs that overshoot, some with a mono frame in their context) between quiet ones
    level = np.full(G, 0.05)
    level[[2, 3, 7, 12, 13, 16, 20]] = 0.4
    plain = np.clip(RNG.standard_normal((G * 576, C)) * np.repeat(level, 576)[:, None], -0.99, 0.99)
    plain = plain.astype(np.float32)
    restored = plain + add_pcm
    over = (np.abs(restored) > LIMIT).reshape(G, -1).any(axis=1)
    assert over.any() and (np.diff(over.astype(int)) == 1).sum() >= 3  # several runs in one chunk

    def run(sizes):
        pcm = restored.copy()
        h = Headroom(C)
        a = 0
        for n in sizes:
            b = min(G, a + n)
            beyond = (np.abs(pcm[a * 576:b * 576]) > LIMIT).reshape(b - a, -1).sum(axis=1).astype(np.int32)
            h.apply(pcm[a * 576:b * 576], lambda idx, a=a: added[a + idx], bt[a:b], bt[a:b], coded[a:b], beyond)
            a = b
        assert a == G
        return pcm

    whole = run([G])
    # in range, except where channel 1's true filterbank state reaches back past a mono
    # frame (there the rule works on the added part synthesized from a zero state)
    exact = np.array([(coded[max(0, g - 2):g + 1] == C).all() for g in range(G)])
    bad = (np.abs(whole) > LIMIT) & (np.abs(whole) > np.abs(plain) + 1e-6)
    assert not bad[np.repeat(exact, 576)].any()
    for sizes in ([1] * G, [1, 2, 3, 1, 5, 1, 1, 10], [7, 1, 16]):
        np.testing.assert_array_equal(run(sizes), whole)


@pytest.mark.parametrize("C", [1, 2])
def test_headroom_gains_match_a_naive_reference(C):
    """granule_gains / apply_gains: per granule the largest a <= 1 with
    |plain + a added| <= max(LIMIT, |plain|) at every sample over LIMIT (none needed
    where the added part points inwards or is zero), then plain + a added in float32."""
    from mp3restore.restore.headroom import apply_gains, granule_gains

    G = 12
    plain = (RNG.standard_normal((G * 576, C)) * 0.3).astype(np.float32)
    added = (RNG.standard_normal((G * 576, C)) * 0.2).astype(np.float32)
    added[::7] = 0.0
    plain[:576] *= 0.1  # a granule with nothing over
    pcm = plain + added
    gains = np.empty(G)
    granule_gains(pcm, added, gains)
    want = np.ones(G)
    for g in range(G):
        for i in range(g * 576, (g + 1) * 576):
            for c in range(C):
                y, d = pcm[i, c], added[i, c]
                if abs(y) > LIMIT and d != 0.0:
                    p = np.float64(y - d)  # the difference of the float32 values, in float32
                    d = np.float64(d)
                    bound = max(LIMIT, abs(p))
                    want[g] = min(want[g], max(0.0, ((bound if d > 0 else -bound) - p) / d))
    np.testing.assert_array_equal(gains, want)
    assert gains[0] == 1.0 and (gains < 1.0).sum() >= G // 2
    out = pcm.copy()
    apply_gains(out, added, gains)
    a = np.repeat(gains, 576)[:, None].astype(np.float32)
    np.testing.assert_array_equal(out, np.where(a < 1.0, (pcm - added) + a * added, pcm))
    assert (np.abs(out) <= np.maximum(LIMIT, np.abs(pcm - added)) + 1e-6).all()


@pytest.mark.parametrize("k", [0, 1, 2])
def test_headroom_batch_plan_matches_a_naive_reference(k):
    """batch_plan: the runs of True, each preceded in the batch by its context (two
    granules, from the k kept of the chunk before when it starts the chunk), and by a
    zero granule when it is not the first run and a granule of it or its context is a
    mono frame (coded < C)."""
    from mp3restore.restore.headroom import batch_plan

    C = 2
    for over in ([1, 1, 0, 0, 1, 0, 1, 1, 1, 0], [0, 1, 0, 0, 0, 0, 0, 0, 1], [1], [0, 0], RNG.random(60) < 0.3):
        over = np.asarray(over, bool)
        coded = np.where(RNG.random(len(over)) < 0.2, 1, C).astype(np.int32)
        starts, ends, offsets, resets, take, n = batch_plan(over, k, coded, C)
        want_runs, want_take, m = [], [], 0
        g = 0
        while g < len(over):
            if over[g]:
                e = g + np.argmin(np.append(over[g:], False))
                a = max(0, g - 2)
                t = min(k, 2 - (g - a))
                reset = bool(want_runs) and bool((coded[a:e] < C).any())
                m += reset + t + (e - a)
                want_runs.append((g, e, m - (e - g), reset))
                want_take += list(range(a, e))
                g = e
            else:
                g += 1
        assert list(zip(starts, ends, offsets, resets)) == want_runs and list(take) == want_take and n == m


def test_synthesis_counts_the_samples_beyond_a_limit_per_granule():
    """SynthState.run(..., beyond, limit) counts, per granule, the samples of its coded
    channels beyond +-limit (what Headroom.apply needs), and writes the same PCM as without."""
    from mp3restore.decoder import SynthState

    G, C = 21, 2  # more than two polyphase blocks, the last one partial
    mdct = (RNG.standard_normal((G, C, 576)) * 0.002).astype(np.float32)
    mdct[3, 0, 10] = 20.0  # loud lines: granules 3..4 go far beyond 0.5
    mdct[11, 1, 200] = -20.0
    mdct[15:18, 1] = 9.0  # granules 15..17 are mono frames: channel 1 copies channel 0 (this is unused)
    mdct[15:17, 0, 40] = 8.0
    bt = np.zeros((G, C), np.int32)
    bt[7:9] = 2
    coded = np.full(G, C, np.int32)
    coded[15:18] = 1
    want = np.empty((G * 576, C), np.float32)
    SynthState(C).run(mdct, bt, bt, coded, want)
    got = np.empty_like(want)
    beyond = np.full(G, -7, np.int32)
    SynthState(C).run(mdct, bt, bt, coded, got, beyond, 0.5)
    np.testing.assert_array_equal(got, want)
    over = (np.abs(want) > np.float32(0.5)).reshape(G, 576, C)
    ref = np.array([over[g, :, :coded[g]].sum() for g in range(G)])
    assert ref.sum() > 0 and (ref == 0).sum() > G // 2  # some granules over the limit, most not
    np.testing.assert_array_equal(beyond, ref)
    with pytest.raises(ValueError):  # too short for the granules: refused, not ignored
        SynthState(C).run(mdct, bt, bt, coded, got, np.zeros(G - 1, np.int32), 0.5)


def test_bounded_top_bounds_every_decoded_granule():
    """No line at or above bounded_top is non-zero in what the decoder writes: every
    fixture and conformance vector (mid/side, intensity, short and mixed blocks, mono
    frames in stereo streams, damaged frames), so the plan and the kernel may start
    their search for the highest line there.  The bound is tight on most long granules."""
    import mp3restore
    from conftest import fixture_files, vector_files
    from mp3restore.restore.lines import bounded_tops

    files = [p for p, _ in fixture_files()] + [p for p, _ in vector_files()]
    assert len(files) > 30
    tight = total = 0
    decoded = 0
    for path in files:
        try:
            c = mp3restore.read_coefficients(path)
        except (mp3restore.InputError, mp3restore.UnsupportedStreamError):  # the Layer I/II vectors
            continue
        decoded += 1
        tops = np.empty(len(c.mdct), np.int64)
        bounded_tops(np.ascontiguousarray(c.side_info, dtype=np.int32), tops)
        for g in range(len(c.mdct)):
            assert not c.mdct[g, :, tops[g]:].any(), (path.name, g)
            if tops[g] < 576:
                total += 1
                tight += int(tops[g] == max(last_nonzero(c.mdct[g, ch]) for ch in range(c.channels)))
    assert decoded > 30 and total > 1000 and tight > 0.5 * total
