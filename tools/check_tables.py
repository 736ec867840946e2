#!/usr/bin/env python3
"""Verify the standard's tables transcribed in ``mp3restore.tables``.

Usage::

    python tools/check_tables.py

Prints a short report and exits with status 1 when a problem is found.  The
same checks are importable: :func:`check_all` returns the list of problems
(empty when every table is consistent), and each ``check_*`` function takes the
table(s) it checks as arguments, so it can be run on deliberately broken
copies.

What is checked
---------------
Huffman tables (ISO/IEC 11172-3 Table B.7)
    Tables 4 and 14 are absent, table 0 codes nothing, the other pair tables
    have the standard's size and linbits; tables 16..23 and 24..31 really share
    one code table each.  Every pair table and both count1 tables form a prefix
    code that is *complete*: its Kraft sum is exactly 1 (computed with
    fractions), i.e. every bit string starts with exactly one codeword.  Each
    code fits its length (``code < 2**length``), lengths are 1..19 and
    codewords (as bit strings) are distinct.  A single wrong code or length
    almost always breaks one of these properties.

Synthesis window D (ISO/IEC 11172-3 Table B.3)
    512 values, each an integer multiple of 2**-16 printed to 9 decimals (so a
    typo in any digit shows).  With ``h[i] = (-1) ** (i // 64) * D[i]``,
    ``h[i] == h[512 - i]`` exactly for i = 1..511; for D itself this means
    ``D[512 - i] == -D[i]`` except at i = 64, 128, 192 where
    ``D[512 - i] == D[i]`` (the sign of D flips every 64 taps).  ``h`` is the
    lowpass prototype of a 32-band pseudo-QMF bank: gain 64 (= 2 x 32) at DC,
    half power at 1/128 cycle/sample (the band edge pi/64), stopband below
    -90 dB from 1/64 cycle/sample on, and power complementary
    (``|H(f)|**2 + |H(1/64 - f)|**2 == |H(0)|**2`` within 0.01 dB).
    Finally the standard's analysis filterbank (window C = D / 32, matrixing
    ``cos((2i + 1)(k - 16) pi / 64)``) followed by its synthesis filterbank
    (matrixing ``cos((16 + i)(2k + 1) pi / 64)`` and window D) is run on white
    noise: the output is the input delayed by 481 samples (512 - 31) with gain
    1, error about -84 dB.  The bank is only nearly perfect-reconstruction, and
    that residual belongs to the standard's design, not to rounding of the
    coefficients (halving their precision changes it by less than 1 dB), so
    the limit is -80 dB.

Band tables (ISO/IEC 11172-3 Table B.8, ISO/IEC 13818-3 Table B.2, MPEG-2.5)
    For each of the 9 sampling rates, 23 long-block edges from 0 to 576 and 14
    short-block edges from 0 to 192, strictly increasing; the long/short
    boundary of mixed blocks (8 long bands for MPEG-1, 6 for the lower rates)
    falls on a short-block edge (``long[n] == 3 * short[3]``).  The LSF
    partitions ``nr_of_sfb_block`` add up to 21 long bands, 36 short values
    (12 bands x 3 windows) and 33 mixed values (6 long bands + short bands
    3..11 x 3 windows); short values come in whole bands (multiples of 3).
"""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(_REPO))

from mp3restore.tables import bands, huffman_data, synth_window  # noqa: E402

# ---------------------------------------------------------------------------
# Expected structure (ISO/IEC 11172-3 2.4.2.7 and Table B.7)
# ---------------------------------------------------------------------------

UNUSED_TABLES = (4, 14)
TABLE_SIZES = {0: 1, 1: 2, 2: 3, 3: 3, 5: 4, 6: 4, 7: 6, 8: 6, 9: 6, 10: 8, 11: 8, 12: 8, 13: 16, 15: 16,
               **{n: 16 for n in range(16, 32)}}
TABLE_LINBITS = {**{n: 0 for n in range(16)},
                 16: 1, 17: 2, 18: 3, 19: 4, 20: 6, 21: 8, 22: 10, 23: 13,
                 24: 4, 25: 5, 26: 6, 27: 7, 28: 8, 29: 9, 30: 11, 31: 13}
SHARED_GROUPS = (tuple(range(16, 24)), tuple(range(24, 32)))
MAX_CODE_LENGTH = 19

WINDOW_LENGTH = 512
N_SUBBANDS = 32
WINDOW_STEP = 2.0 ** -16  # the coefficients are multiples of this
FILTERBANK_DELAY = 481  # = 512 - 31 samples
RECONSTRUCTION_LIMIT_DB = -80.0
STOPBAND_LIMIT_DB = -90.0

N_RATES = 9
LONG_EDGES, LONG_END = 23, 576
SHORT_EDGES, SHORT_END = 14, 192
LSF_SUMS = (21, 36, 33)  # long, short, mixed


# ---------------------------------------------------------------------------
# Huffman tables
# ---------------------------------------------------------------------------

def codeword(code: int, length: int) -> str:
    """Return the bit string of a codeword, most significant bit first.

    Parameters
    ----------
    code : int
        ``hcod`` read as an unsigned integer.
    length : int
        ``hlen``, the number of bits.

    Returns
    -------
    str
        ``length`` characters ``'0'``/``'1'`` (empty for length 0).
    """
    return format(code, f"0{length}b") if length > 0 else ""


def kraft_sum(lengths) -> Fraction:
    """Exact Kraft sum ``sum(2 ** -l)`` of a list of code lengths.

    Parameters
    ----------
    lengths : iterable of int

    Returns
    -------
    fractions.Fraction
        1 for a complete prefix code, less than 1 when codewords are missing.
    """
    return sum((Fraction(1, 2 ** length) for length in lengths), Fraction(0))


def check_prefix_code(codes, lengths, name: str = "code", max_length: int = MAX_CODE_LENGTH) -> list[str]:
    """Check that ``(codes, lengths)`` is a complete prefix code.

    Parameters
    ----------
    codes, lengths : sequence of int
        Codeword values and bit lengths, same length.
    name : str
        Label used in the messages.
    max_length : int
        Longest allowed codeword.

    Returns
    -------
    list of str
        Problems found: length out of 1..``max_length``, code that does not fit
        its length, duplicate codeword, codeword that is a prefix of another,
        Kraft sum different from 1 (incomplete or over-full code).  Empty when
        the code is fine.
    """
    if len(codes) != len(lengths):
        return [f"{name}: {len(codes)} codes but {len(lengths)} lengths"]
    problems = []
    for i, (code, length) in enumerate(zip(codes, lengths)):
        if not 1 <= length <= max_length:
            problems.append(f"{name}[{i}]: length {length} outside 1..{max_length}")
        elif not 0 <= code < 2 ** length:
            problems.append(f"{name}[{i}]: code {code} does not fit in {length} bits")
    if problems:
        return problems

    words = [codeword(c, n) for c, n in zip(codes, lengths)]
    seen = {}
    for i, w in enumerate(words):
        if w in seen:
            problems.append(f"{name}[{i}]: codeword {w} repeats entry {seen[w]}")
        else:
            seen[w] = i
    # In lexicographic order a codeword that prefixes others prefixes its successor.
    ordered = sorted(seen)
    for a, b in zip(ordered, ordered[1:]):
        if b.startswith(a):
            problems.append(f"{name}: codeword {a} (entry {seen[a]}) is a prefix of {b} (entry {seen[b]})")
    total = kraft_sum(lengths)
    if total < 1:
        problems.append(f"{name}: incomplete code, Kraft sum {total} < 1")
    elif total > 1:
        problems.append(f"{name}: over-full code, Kraft sum {total} > 1")
    return problems


def check_pair_tables(pair_tables) -> list[str]:
    """Check ``PAIR_TABLES`` (table_select 0..31).

    Parameters
    ----------
    pair_tables : sequence
        32 entries, each ``None`` or ``(size, linbits, codes, lengths)``.

    Returns
    -------
    list of str
        Problems found (empty when fine): wrong count, tables 4/14 present,
        table 0 not the empty code, wrong size or linbits, wrong number of
        entries, a table that is not a complete prefix code, shared tables not
        shared.
    """
    if len(pair_tables) != 32:
        return [f"PAIR_TABLES has {len(pair_tables)} entries, expected 32"]
    problems = []
    checked = {}
    for n, table in enumerate(pair_tables):
        label = f"pair table {n}"
        if n in UNUSED_TABLES:
            if table is not None:
                problems.append(f"{label} should be None (not used by the standard)")
            continue
        if table is None:
            problems.append(f"{label} is missing")
            continue
        if len(table) != 4:
            problems.append(f"{label}: expected (size, linbits, codes, lengths)")
            continue
        size, linbits, codes, lengths = table
        if n == 0:
            if tuple(table) != (1, 0, (0,), (0,)):
                problems.append(f"{label} should be (1, 0, (0,), (0,)), got {table!r}")
            continue
        if size != TABLE_SIZES[n]:
            problems.append(f"{label}: size {size}, expected {TABLE_SIZES[n]}")
        if linbits != TABLE_LINBITS[n]:
            problems.append(f"{label}: linbits {linbits}, expected {TABLE_LINBITS[n]}")
        if len(codes) != size * size or len(lengths) != size * size:
            problems.append(f"{label}: {len(codes)} codes / {len(lengths)} lengths, expected {size * size}")
            continue
        key = (id(codes), id(lengths))
        if key not in checked:  # shared tables are checked once
            checked[key] = n
            problems += check_prefix_code(codes, lengths, label)

    for group in SHARED_GROUPS:
        first = pair_tables[group[0]]
        for n in group[1:]:
            other = pair_tables[n]
            if first is None or other is None or len(first) != 4 or len(other) != 4:
                continue
            if other[2] is not first[2] or other[3] is not first[3]:
                problems.append(f"pair table {n} does not share the code table of table {group[0]}")
    a, b = pair_tables[SHARED_GROUPS[0][0]], pair_tables[SHARED_GROUPS[1][0]]
    if a is not None and b is not None and len(a) == 4 and len(b) == 4 and (a[2] is b[2] or a[2] == b[2]):
        problems.append("pair tables 16 and 24 should have different code tables")
    return problems


def check_quad_tables(quad_tables) -> list[str]:
    """Check ``QUAD_TABLES`` (count1 tables A and B).

    Parameters
    ----------
    quad_tables : sequence
        Two ``(codes, lengths)`` pairs of 16 entries, index ``v*8 + w*4 + x*2 + y``.

    Returns
    -------
    list of str
        Problems found (empty when fine).  Besides the prefix-code checks,
        table B must be the 4-bit code ``15 - index`` (the standard sends the
        complement of vwxy).
    """
    if len(quad_tables) != 2:
        return [f"QUAD_TABLES has {len(quad_tables)} entries, expected 2"]
    problems = []
    for q, table in enumerate(quad_tables):
        label = f"count1 table {'AB'[q]}"
        if table is None or len(table) != 2:
            problems.append(f"{label}: expected (codes, lengths)")
            continue
        codes, lengths = table
        if len(codes) != 16 or len(lengths) != 16:
            problems.append(f"{label}: {len(codes)} codes / {len(lengths)} lengths, expected 16")
            continue
        problems += check_prefix_code(codes, lengths, label)
        if q == 1 and (tuple(lengths) != (4,) * 16 or tuple(codes) != tuple(range(15, -1, -1))):
            problems.append(f"{label}: expected the 4-bit codes 15 - index")
    return problems


def huffman_summary(pair_tables, quad_tables) -> dict:
    """Counts for the report.

    Returns
    -------
    dict
        ``pair_tables`` (tables present, 0 excluded), ``distinct_pair_codes``,
        ``quad_tables``, ``codewords`` (entries of the distinct code tables,
        the count1 tables included) and ``max_length``.
    """
    distinct = {}
    for n, table in enumerate(pair_tables):
        if n and table is not None and len(table) == 4:
            distinct[(id(table[2]), id(table[3]))] = table[3]
    all_lengths = list(distinct.values()) + [t[1] for t in quad_tables]
    return {
        "pair_tables": sum(1 for n, t in enumerate(pair_tables) if n and t is not None),
        "distinct_pair_codes": len(distinct),
        "quad_tables": len(quad_tables),
        "codewords": sum(len(lengths) for lengths in all_lengths),
        "max_length": max(max(lengths) for lengths in all_lengths),
    }


# ---------------------------------------------------------------------------
# Synthesis window and polyphase filterbank
# ---------------------------------------------------------------------------

def window_prototype(D) -> np.ndarray:
    """Lowpass prototype ``h[i] = (-1) ** (i // 64) * D[i]`` of the filterbank.

    Parameters
    ----------
    D : sequence of float
        The 512 synthesis window coefficients.

    Returns
    -------
    numpy.ndarray
        float64, shape (512,).
    """
    d = np.asarray(D, dtype=np.float64)
    return d * np.where((np.arange(d.size) // 64) % 2 == 0, 1.0, -1.0)


def check_window_values(D) -> list[str]:
    """Check the length of D and that each value is a 2**-16 multiple printed to 9 decimals.

    Parameters
    ----------
    D : sequence of float

    Returns
    -------
    list of str
        Problems found (empty when fine).
    """
    if len(D) != WINDOW_LENGTH:
        return [f"synthesis window has {len(D)} coefficients, expected {WINDOW_LENGTH}"]
    problems = []
    if D[0] != 0.0:
        problems.append(f"D[0] = {D[0]}, expected 0")
    for i, value in enumerate(D):
        steps = round(value / WINDOW_STEP)
        if round(steps * WINDOW_STEP, 9) != value:
            problems.append(f"D[{i}] = {value!r} is not a multiple of 2**-16 rounded to 9 decimals")
    return problems


def check_window_symmetry(D) -> list[str]:
    """Check ``h[i] == h[512 - i]`` (exactly) for i = 1..511, h from :func:`window_prototype`.

    Parameters
    ----------
    D : sequence of float

    Returns
    -------
    list of str
        One problem per mismatching pair (empty when fine).
    """
    if len(D) != WINDOW_LENGTH:
        return [f"synthesis window has {len(D)} coefficients, expected {WINDOW_LENGTH}"]
    h = window_prototype(D)
    problems = []
    for i in range(1, WINDOW_LENGTH // 2):
        if h[i] != h[WINDOW_LENGTH - i]:
            sign = "" if (i // 64) % 2 == ((WINDOW_LENGTH - i) // 64) % 2 else "-"
            problems.append(f"D[{WINDOW_LENGTH - i}] = {D[WINDOW_LENGTH - i]} but {sign}D[{i}] = "
                            f"{sign}{D[i]} expected (window symmetry)")
    return problems


def prototype_response(D, n_fft: int = 1 << 16) -> dict:
    """Frequency-domain figures of the lowpass prototype.

    Parameters
    ----------
    D : sequence of float
        The 512 synthesis window coefficients.
    n_fft : int
        FFT size (a multiple of 128).

    Returns
    -------
    dict
        ``dc_gain`` (|H(0)|), ``half_power`` (|H(1/128)|**2 / |H(0)|**2),
        ``stopband_db`` (largest |H(f)| / |H(0)| in dB for f >= 1/64 cycle/sample)
        and ``complementarity_db`` (largest deviation from 0 dB of
        (|H(f)|**2 + |H(1/64 - f)|**2) / |H(0)|**2 over 0 <= f <= 1/64).
    """
    mag = np.abs(np.fft.rfft(window_prototype(D), n_fft))
    dc = mag[0]
    edge = n_fft // 128  # bin of f = 1/128
    band = n_fft // 64  # bin of f = 1/64
    k = np.arange(band + 1)
    complementary = (mag[k] ** 2 + mag[band - k] ** 2) / dc ** 2
    return {
        "dc_gain": float(dc),
        "half_power": float((mag[edge] / dc) ** 2),
        "stopband_db": float(20 * np.log10(mag[band:].max() / dc)),
        "complementarity_db": float(np.max(np.abs(10 * np.log10(complementary)))),
    }


def check_window_lowpass(D) -> list[str]:
    """Check that D is a sampled 32-band pseudo-QMF lowpass prototype.

    Parameters
    ----------
    D : sequence of float

    Returns
    -------
    list of str
        Problems found (empty when fine); see :func:`prototype_response`.
    """
    if len(D) != WINDOW_LENGTH:
        return [f"synthesis window has {len(D)} coefficients, expected {WINDOW_LENGTH}"]
    r = prototype_response(D)
    problems = []
    if abs(r["dc_gain"] - 2 * N_SUBBANDS) > 0.01:
        problems.append(f"prototype DC gain {r['dc_gain']:.5f}, expected {2 * N_SUBBANDS}")
    if abs(r["half_power"] - 0.5) > 1e-3:
        problems.append(f"prototype power at 1/128 cycle/sample is {r['half_power']:.5f} of DC, expected 0.5")
    if r["stopband_db"] > STOPBAND_LIMIT_DB:
        problems.append(f"prototype stopband {r['stopband_db']:.1f} dB, expected below {STOPBAND_LIMIT_DB} dB")
    if r["complementarity_db"] > 0.01:
        problems.append(f"prototype not power complementary ({r['complementarity_db']:.4f} dB)")
    return problems


def analysis_filterbank(x, C) -> np.ndarray:
    """Subband analysis of ISO/IEC 11172-3 Annex C (encoder), 32 samples per step.

    Parameters
    ----------
    x : array_like
        Input samples; the length is cut to a multiple of 32.
    C : array_like
        The 512-coefficient analysis window.

    Returns
    -------
    numpy.ndarray
        Subband samples, shape (len(x) // 32, 32), row = time slot.
    """
    x = np.asarray(x, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    k = np.arange(64)
    i = np.arange(N_SUBBANDS)
    M = np.cos((2 * i[:, None] + 1) * (k[None, :] - 16) * np.pi / 64)
    fifo = np.zeros(WINDOW_LENGTH)  # X[0] is the newest sample
    out = np.empty((x.size // N_SUBBANDS, N_SUBBANDS))
    for t in range(out.shape[0]):
        fifo[N_SUBBANDS:] = fifo[:-N_SUBBANDS].copy()
        fifo[:N_SUBBANDS] = x[t * N_SUBBANDS:(t + 1) * N_SUBBANDS][::-1]
        Y = (C * fifo).reshape(8, 64).sum(axis=0)
        out[t] = M @ Y
    return out


def synthesis_filterbank(S, D) -> np.ndarray:
    """Subband synthesis of ISO/IEC 11172-3 2.4.3.2 / Annex A (decoder).

    Parameters
    ----------
    S : array_like
        Subband samples, shape (slots, 32).
    D : array_like
        The 512-coefficient synthesis window.

    Returns
    -------
    numpy.ndarray
        Output samples, shape (slots * 32,).
    """
    S = np.asarray(S, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    i = np.arange(64)
    k = np.arange(N_SUBBANDS)
    N = np.cos((16 + i[:, None]) * (2 * k[None, :] + 1) * np.pi / 64)
    V = np.zeros(1024)
    # U[64a + j] = V[128a + j] and U[64a + 32 + j] = V[128a + 96 + j], a = 0..7, j = 0..31
    a, j = np.divmod(np.arange(WINDOW_LENGTH), 64)
    u_index = 128 * a + np.where(j < 32, j, j + 64)
    out = np.empty(S.shape[0] * N_SUBBANDS)
    for t in range(S.shape[0]):
        V[64:] = V[:-64].copy()
        V[:64] = N @ S[t]
        W = V[u_index] * D
        out[t * N_SUBBANDS:(t + 1) * N_SUBBANDS] = W.reshape(16, N_SUBBANDS).sum(axis=0)
    return out


def filterbank_roundtrip(D, n_slots: int = 300, seed: int = 1234) -> tuple[int, float, float]:
    """Analysis (window D / 32) then synthesis (window D) of white noise.

    Parameters
    ----------
    D : sequence of float
        The 512 synthesis window coefficients.
    n_slots : int
        Length of the test signal in blocks of 32 samples.
    seed : int
        Seed of the noise generator.

    Returns
    -------
    delay : int
        Lag (samples) of the largest cross-correlation between output and input.
    gain : float
        Least-squares gain of the delayed input in the output.
    error_db : float
        Energy of ``output[n + delay] - input[n]`` relative to the input, in dB.
    """
    D = np.asarray(D, dtype=np.float64)
    x = np.random.default_rng(seed).standard_normal(n_slots * N_SUBBANDS)
    y = synthesis_filterbank(analysis_filterbank(x, D / N_SUBBANDS), D)
    span = x.size - 2 * WINDOW_LENGTH
    lags = np.arange(2 * WINDOW_LENGTH)
    corr = np.array([y[lag:lag + span] @ x[:span] for lag in lags])
    delay = int(lags[np.argmax(np.abs(corr))])
    ref = x[:x.size - delay]
    got = y[delay:]
    gain = float(ref @ got / (ref @ ref))
    err = got - ref
    error_db = float(10 * np.log10(max(err @ err, 1e-300) / (ref @ ref)))
    return delay, gain, error_db


def check_filterbank(D, roundtrip=None) -> list[str]:
    """Check the near-perfect reconstruction of the standard's filterbank with D.

    Parameters
    ----------
    D : sequence of float
    roundtrip : tuple, optional
        A precomputed result of :func:`filterbank_roundtrip`.

    Returns
    -------
    list of str
        Problems found (empty when fine): delay other than 481, gain not 1,
        error above the limit.
    """
    if len(D) != WINDOW_LENGTH:
        return [f"synthesis window has {len(D)} coefficients, expected {WINDOW_LENGTH}"]
    delay, gain, error_db = roundtrip or filterbank_roundtrip(D)
    problems = []
    if delay != FILTERBANK_DELAY:
        problems.append(f"filterbank delay {delay}, expected {FILTERBANK_DELAY}")
    if abs(gain - 1.0) > 1e-4:
        problems.append(f"filterbank gain {gain:.6f}, expected 1 (analysis window C = D / 32)")
    if error_db > RECONSTRUCTION_LIMIT_DB:
        problems.append(f"filterbank reconstruction error {error_db:.1f} dB, "
                        f"expected below {RECONSTRUCTION_LIMIT_DB} dB")
    return problems


# ---------------------------------------------------------------------------
# Band tables
# ---------------------------------------------------------------------------

def check_sample_rates(rates) -> list[str]:
    """Check the project's sampling-rate order.

    Parameters
    ----------
    rates : sequence of int

    Returns
    -------
    list of str
    """
    expected = (44100, 48000, 32000, 22050, 24000, 16000, 11025, 12000, 8000)
    return [] if tuple(rates) == expected else [f"SAMPLE_RATES is {tuple(rates)}, expected {expected}"]


def check_band_edges(table, n_edges: int, end: int, name: str) -> list[str]:
    """Check a table of band edges: one row per sampling rate.

    Parameters
    ----------
    table : sequence of sequence of int
        ``N_RATES`` rows of ``n_edges`` edges.
    n_edges : int
        Edges per row (number of bands + 1).
    end : int
        Required last edge (576 for long blocks, 192 for short blocks).
    name : str
        Label used in the messages.

    Returns
    -------
    list of str
        Problems found (empty when fine).
    """
    if len(table) != N_RATES:
        return [f"{name} has {len(table)} rows, expected {N_RATES}"]
    problems = []
    for r, edges in enumerate(table):
        label = f"{name}[{r}]"
        if len(edges) != n_edges:
            problems.append(f"{label}: {len(edges)} edges, expected {n_edges}")
            continue
        if edges[0] != 0 or edges[-1] != end:
            problems.append(f"{label}: runs from {edges[0]} to {edges[-1]}, expected 0 to {end}")
        for b in range(n_edges - 1):
            if edges[b + 1] <= edges[b]:
                problems.append(f"{label}: edge {b + 1} ({edges[b + 1]}) does not exceed edge {b} ({edges[b]})")
    return problems


def check_mixed_boundary(sfb_long, sfb_short) -> list[str]:
    """Check that the long part of a mixed block ends on a short-block band edge.

    Mixed blocks use long bands 0..7 (MPEG-1) or 0..5 (lower sampling rates)
    and then short bands from 3 on, so ``long[n] == 3 * short[3]``.

    Parameters
    ----------
    sfb_long, sfb_short : sequence of sequence of int

    Returns
    -------
    list of str
    """
    problems = []
    for r in range(min(len(sfb_long), len(sfb_short))):
        n_long = 8 if r < 3 else 6
        if len(sfb_long[r]) <= n_long or len(sfb_short[r]) <= 3:
            continue
        if sfb_long[r][n_long] != 3 * sfb_short[r][3]:
            problems.append(f"rate {r}: long edge {n_long} ({sfb_long[r][n_long]}) is not 3 x short edge 3 "
                            f"({sfb_short[r][3]})")
    return problems


def check_pretab(pretab) -> list[str]:
    """Check the preemphasis table: 22 values in 0..3, zero in band 21.

    Parameters
    ----------
    pretab : sequence of int

    Returns
    -------
    list of str
    """
    if len(pretab) != 22:
        return [f"PRETAB has {len(pretab)} values, expected 22"]
    problems = [f"PRETAB[{b}] = {v} outside 0..3" for b, v in enumerate(pretab) if not 0 <= v <= 3]
    if pretab[21]:
        problems.append("PRETAB[21] must be 0 (band 21 carries no scalefactor)")
    return problems


def check_slen(slen) -> list[str]:
    """Check the MPEG-1 ``scalefac_compress`` table: 16 distinct (slen1, slen2).

    Parameters
    ----------
    slen : sequence of (int, int)

    Returns
    -------
    list of str
    """
    if len(slen) != 16:
        return [f"SLEN has {len(slen)} entries, expected 16"]
    problems = []
    for i, pair in enumerate(slen):
        if len(pair) != 2 or not (0 <= pair[0] <= 4 and 0 <= pair[1] <= 3):
            problems.append(f"SLEN[{i}] = {pair!r}: expected slen1 in 0..4, slen2 in 0..3")
    if len({tuple(p) for p in slen}) != 16:
        problems.append("SLEN entries are not distinct")
    return problems


def check_lsf_partitions(nr_of_sfb) -> list[str]:
    """Check ``nr_of_sfb_block`` of ISO/IEC 13818-3.

    Parameters
    ----------
    nr_of_sfb : nested sequence, shape (6, 3, 4)
        ``[table][block kind: long, short, mixed][partition]``.

    Returns
    -------
    list of str
        Problems found: wrong shape, partitions not summing to 21 / 36 / 33,
        short values not in whole bands of 3 windows, mixed blocks not starting
        with the 6 long bands.
    """
    if len(nr_of_sfb) != 6 or any(len(t) != 3 or any(len(k) != 4 for k in t) for t in nr_of_sfb):
        return ["LSF_NR_OF_SFB must be nested 6 x 3 x 4"]
    problems = []
    kinds = ("long", "short", "mixed")
    for t, table in enumerate(nr_of_sfb):
        for kind, counts in enumerate(table):
            label = f"LSF_NR_OF_SFB[{t}][{kind}] ({kinds[kind]}) {tuple(counts)}"
            if any(c < 0 for c in counts):
                problems.append(f"{label}: negative count")
            if sum(counts) != LSF_SUMS[kind]:
                problems.append(f"{label}: sums to {sum(counts)}, expected {LSF_SUMS[kind]}")
            if kind == 1 and any(c % 3 for c in counts):
                problems.append(f"{label}: short-block counts must be multiples of 3")
            if kind == 2 and (counts[0] < 6 or (counts[0] - 6) % 3 or any(c % 3 for c in counts[1:])):
                problems.append(f"{label}: expected 6 long bands then whole short bands (multiples of 3)")
    return problems


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def run_checks() -> tuple[list[str], dict]:
    """Run every check on the project's tables.

    Returns
    -------
    problems : list of str
        Empty when every table is consistent.
    summary : dict
        Figures for the report (counts, window response, round-trip result).
    """
    pair, quad = huffman_data.PAIR_TABLES, huffman_data.QUAD_TABLES
    D = synth_window.D
    problems = []
    problems += check_pair_tables(pair)
    problems += check_quad_tables(quad)
    problems += check_window_values(D)
    problems += check_window_symmetry(D)
    summary = {"huffman": huffman_summary(pair, quad), "window_length": len(D)}
    if len(D) == WINDOW_LENGTH:
        problems += check_window_lowpass(D)
        roundtrip = filterbank_roundtrip(D)
        problems += check_filterbank(D, roundtrip)
        summary["prototype"] = prototype_response(D)
        summary["roundtrip"] = roundtrip
    problems += check_sample_rates(bands.SAMPLE_RATES)
    problems += check_band_edges(bands.SFB_LONG, LONG_EDGES, LONG_END, "SFB_LONG")
    problems += check_band_edges(bands.SFB_SHORT, SHORT_EDGES, SHORT_END, "SFB_SHORT")
    problems += check_mixed_boundary(bands.SFB_LONG, bands.SFB_SHORT)
    problems += check_pretab(bands.PRETAB)
    problems += check_slen(bands.SLEN)
    problems += check_lsf_partitions(bands.LSF_NR_OF_SFB)
    return problems, summary


def check_all() -> list[str]:
    """Run every check on the project's tables.

    Returns
    -------
    list of str
        Problems found; empty when every table is consistent.
    """
    return run_checks()[0]


def main() -> int:
    """Print a report; return (and exit with) 1 when a problem is found."""
    problems, s = run_checks()
    h = s["huffman"]
    print(f"Huffman: {h['pair_tables']} pair tables ({h['distinct_pair_codes']} distinct code tables; "
          f"16..23 and 24..31 shared) + {h['quad_tables']} count1 tables, "
          f"{h['codewords']} codewords checked, longest {h['max_length']} bits")
    if "prototype" in s:
        p = s["prototype"]
        delay, gain, error_db = s["roundtrip"]
        print(f"Synthesis window: {s['window_length']} coefficients; prototype DC gain {p['dc_gain']:.4f}, "
              f"power at 1/128 = {p['half_power']:.5f}, stopband {p['stopband_db']:.1f} dB, "
              f"complementarity {p['complementarity_db']:.4f} dB")
        print(f"Filterbank (analysis C = D/32, synthesis D): delay {delay} samples, gain {gain:.7f}, "
              f"reconstruction error {error_db:.1f} dB (limit {RECONSTRUCTION_LIMIT_DB:.0f} dB)")
    else:
        print(f"Synthesis window: {s['window_length']} coefficients")
    print(f"Bands: {len(bands.SAMPLE_RATES)} sampling rates, {LONG_EDGES - 1} long / {SHORT_EDGES - 1} short "
          f"bands; LSF partitions sum to {'/'.join(map(str, LSF_SUMS))} (long/short/mixed)")
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for line in problems:
            print(f"  - {line}")
        return 1
    print("All tables consistent.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
