"""Tests of the transcribed standard tables (``mp3restore.tables``) and of the
checker that verifies them (``tools/check_tables.py``).

Besides running the whole checker on the real tables, each check is fed a
deliberately broken copy to show that it notices the damage.
"""
from __future__ import annotations

import pytest

from conftest import load_tool
from mp3restore.tables import bands, huffman_data, synth_window

ct = load_tool("check_tables")


def _replace(seq, index, value):
    """Copy of tuple ``seq`` with ``seq[index]`` replaced."""
    out = list(seq)
    out[index] = value
    return tuple(out)


def _decode(bits: str, codes, lengths):
    """Naive decoder: read bits one at a time until they form a codeword.

    Returns the list of decoded table indices; fails on a dangling tail.
    """
    lookup = {ct.codeword(c, n): i for i, (c, n) in enumerate(zip(codes, lengths))}
    out, word = [], ""
    for bit in bits:
        word += bit
        if word in lookup:
            out.append(lookup[word])
            word = ""
    assert word == "", f"bits left over: {word!r}"
    return out


# ---------------------------------------------------------------------------
# The real tables
# ---------------------------------------------------------------------------

def test_check_all_reports_no_problem():
    assert ct.check_all() == []


def test_main_exits_zero(capsys):
    assert ct.main() == 0
    assert "All tables consistent." in capsys.readouterr().out


def test_table1_decodes_hand_written_bits():
    # Table B.7, table 1: (0,0) '1', (0,1) '001', (1,0) '01', (1,1) '000'.
    size, linbits, codes, lengths = huffman_data.PAIR_TABLES[1]
    assert (size, linbits) == (2, 0)
    bits = "1" + "01" + "000" + "001" + "1"
    pairs = [divmod(i, size) for i in _decode(bits, codes, lengths)]
    assert pairs == [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]


def test_count1_table_a_decodes_hand_written_bits():
    # Table A: vwxy 0000 '1', 0001 '0101', 1000 '0111', 1111 '000001'.
    codes, lengths = huffman_data.QUAD_TABLES[0]
    bits = "0101" + "1" + "000001" + "0111"
    assert _decode(bits, codes, lengths) == [0b0001, 0b0000, 0b1111, 0b1000]


def test_escape_tables_share_codes_and_differ_in_linbits():
    t16, t23, t24 = (huffman_data.PAIR_TABLES[n] for n in (16, 23, 24))
    assert t16[2] is t23[2] and t16[3] is t23[3]
    assert t16[2] != t24[2]
    assert (t16[1], t23[1], t24[1]) == (1, 13, 4)


def test_filterbank_delay_gain_and_error():
    delay, gain, error_db = ct.filterbank_roundtrip(synth_window.D, n_slots=200, seed=7)
    assert delay == 481
    assert gain == pytest.approx(1.0, abs=1e-4)
    assert error_db < -80.0


def test_band_widths_spot_values():
    # 44.1 kHz long band 21 is the last 158 lines; 8 kHz short bands 9..11 are 2 lines wide.
    assert bands.SFB_LONG[0][22] - bands.SFB_LONG[0][21] == 158
    assert [bands.SFB_SHORT[8][b + 1] - bands.SFB_SHORT[8][b] for b in (9, 10, 11)] == [2, 2, 2]
    assert bands.SFB_LONG[6] == bands.SFB_LONG[5] and bands.SFB_SHORT[7] == bands.SFB_SHORT[5]


# ---------------------------------------------------------------------------
# The checker notices broken tables
# ---------------------------------------------------------------------------

def test_removed_code_is_incomplete():
    size, linbits, codes, lengths = huffman_data.PAIR_TABLES[5]
    problems = ct.check_prefix_code(codes[:-1], lengths[:-1], "t5")
    assert any("incomplete" in p for p in problems)


def test_removed_code_in_pair_table_is_reported():
    size, linbits, codes, lengths = huffman_data.PAIR_TABLES[7]
    broken = _replace(huffman_data.PAIR_TABLES, 7, (size, linbits, codes[:-1] + (0,), lengths[:-1] + (19,)))
    problems = ct.check_pair_tables(broken)
    assert any("pair table 7" in p for p in problems)


def test_prefix_violation_is_reported():
    # '1' is a prefix of '10'; Kraft sum 1/2 + 1/4 + 1/4 is still 1.
    problems = ct.check_prefix_code((1, 2, 0), (1, 2, 2), "bad")
    assert any("prefix" in p for p in problems)


def test_duplicate_codeword_is_reported():
    problems = ct.check_prefix_code((1, 1, 0), (1, 1, 1), "dup")
    assert any("repeats" in p for p in problems)
    assert any("over-full" in p for p in problems)


def test_code_too_long_for_its_length_is_reported():
    assert any("does not fit" in p for p in ct.check_prefix_code((1, 4), (1, 1), "fit"))
    assert any("outside" in p for p in ct.check_prefix_code((0, 1), (0, 1), "len0"))


def test_unshared_escape_table_is_reported():
    size, linbits, codes, lengths = huffman_data.PAIR_TABLES[18]
    copy = (size, linbits, tuple(list(codes)), tuple(list(lengths)))
    problems = ct.check_pair_tables(_replace(huffman_data.PAIR_TABLES, 18, copy))
    assert problems == ["pair table 18 does not share the code table of table 16"]


def test_wrong_linbits_and_size_are_reported():
    size, linbits, codes, lengths = huffman_data.PAIR_TABLES[21]
    problems = ct.check_pair_tables(_replace(huffman_data.PAIR_TABLES, 21, (size, 7, codes, lengths)))
    assert any("linbits 7" in p for p in problems)
    problems = ct.check_pair_tables(_replace(huffman_data.PAIR_TABLES, 4, huffman_data.PAIR_TABLES[5]))
    assert any("table 4 should be None" in p for p in problems)


def test_swapped_quad_codes_are_reported():
    codes, lengths = huffman_data.QUAD_TABLES[0]
    swapped = _replace(_replace(codes, 0, codes[1]), 1, codes[0])  # lengths 1 and 4 now hold the wrong codes
    problems = ct.check_quad_tables(((swapped, lengths), huffman_data.QUAD_TABLES[1]))
    assert problems


def test_window_typo_is_reported():
    D = synth_window.D
    typo = _replace(D, 300, D[300] + 1e-6)
    assert any("D[300]" in p for p in ct.check_window_values(typo))
    assert any("D[300]" in p or "D[212]" in p for p in ct.check_window_symmetry(typo))


def test_window_sign_error_is_reported():
    D = synth_window.D
    flipped = _replace(D, 100, -D[100])
    assert ct.check_window_values(flipped) == []  # still on the grid...
    assert ct.check_window_symmetry(flipped)  # ...but the symmetry is broken
    assert ct.check_filterbank(flipped)  # and so is the reconstruction


def test_window_symmetry_rule():
    D = synth_window.D
    for i in range(1, 256):
        if i % 64:
            assert D[512 - i] == -D[i]
        else:
            assert D[512 - i] == D[i]


def test_wrong_analysis_scale_is_reported():
    # Both windows come from D, so doubling it makes the round trip 4 times too loud.
    doubled = tuple(2 * v for v in synth_window.D)
    assert any("gain" in p for p in ct.check_filterbank(doubled))


def test_band_edge_errors_are_reported():
    long_rows = _replace(bands.SFB_LONG, 3, _replace(bands.SFB_LONG[3], 10, bands.SFB_LONG[3][9]))
    assert any("SFB_LONG[3]" in p for p in ct.check_band_edges(long_rows, 23, 576, "SFB_LONG"))
    short_rows = _replace(bands.SFB_SHORT, 0, bands.SFB_SHORT[0][:-1] + (190,))
    assert any("0 to 190" in p for p in ct.check_band_edges(short_rows, 14, 192, "SFB_SHORT"))


def test_mixed_boundary_error_is_reported():
    long_rows = _replace(bands.SFB_LONG, 0, _replace(bands.SFB_LONG[0], 8, 38))
    assert ct.check_mixed_boundary(long_rows, bands.SFB_SHORT)


def test_lsf_partition_errors_are_reported():
    nr = [[list(k) for k in t] for t in bands.LSF_NR_OF_SFB]
    nr[1][1][2] = 11  # short counts now sum to 35 and 11 is not a whole band
    problems = ct.check_lsf_partitions(nr)
    assert any("sums to 35" in p for p in problems)
    assert any("multiples of 3" in p for p in problems)


def test_small_table_errors_are_reported():
    assert ct.check_pretab(bands.PRETAB[:-1])
    assert ct.check_slen(_replace(bands.SLEN, 3, bands.SLEN[2]))
    assert ct.check_sample_rates(bands.SAMPLE_RATES[::-1])
