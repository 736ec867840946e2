"""Step 2: Layer III side information (ISO/IEC 11172-3 2.4.1.7, 13818-3 2.4.1.7).

The side information of one frame is written into an ``int32`` array
``gi[granule, channel, field]`` whose field indices are the constants below
(the order of the standard's ``granule_info``, plus derived fields).
``scfsi`` (MPEG-1 only) is stored per granule in field ``SCFSI`` as 4 bits.
"""
from ._jit import njit
from .bits import getbits

# field indices of the per-granule, per-channel side information array
PART2_3_LENGTH = 0
BIG_VALUES = 1
GLOBAL_GAIN = 2
SCALEFAC_COMPRESS = 3
WINDOW_SWITCHING = 4
BLOCK_TYPE = 5
MIXED_BLOCK = 6
TABLE_SELECT = 7  # 7, 8, 9
SUBBLOCK_GAIN = 10  # 10, 11, 12
REGION0_COUNT = 13
REGION1_COUNT = 14
PREFLAG = 15
SCALEFAC_SCALE = 16
COUNT1TABLE_SELECT = 17
SCFSI = 18
# derived while decoding the main data
COUNT1 = 19  # number of quadruples decoded in the count1 region
LAST_NONZERO = 20  # index of the highest non-zero Huffman line + 1 (0 when all zero)
PART2_LENGTH = 21  # bits used by the scalefactors
N_FIELDS = 22

FIELD_NAMES = (
    "part2_3_length", "big_values", "global_gain", "scalefac_compress",
    "window_switching", "block_type", "mixed_block",
    "table_select0", "table_select1", "table_select2",
    "subblock_gain0", "subblock_gain1", "subblock_gain2",
    "region0_count", "region1_count", "preflag", "scalefac_scale",
    "count1table_select", "scfsi", "count1", "last_nonzero", "part2_length",
)


@njit
def read_bits(buf, pos, n):
    """:func:`~mp3restore.bits.getbits` as a call.  numba inlines ``getbits`` (and
    types and lowers it again) at every use, which for the side info's 34 reads made
    this kernel's compile several times longer; LLVM inlines this small function
    anyway.  Also used by the scalefactor readers."""
    return getbits(buf, pos, n)


@njit
def read_side_info(buf, pos, lsf, nch, gi, g0):
    """Parse one frame's side information starting at bit ``pos`` of ``buf``.

    Writes ``gi[g0 + gr, ch, :]`` for each granule (2 for MPEG-1, 1 for LSF).
    Returns ``(main_data_begin, ok)``; ``ok`` is False when a field has a
    value the standard forbids (block_type 0 with window switching, big_values
    over 288), which the caller treats as a damaged frame.
    """
    ok = True
    if lsf:
        main_data_begin, pos = read_bits(buf, pos, 8)
        pos += 1 if nch == 1 else 2  # private bits
        ngr = 1
    else:
        main_data_begin, pos = read_bits(buf, pos, 9)
        pos += 5 if nch == 1 else 3
        for ch in range(nch):
            v, pos = read_bits(buf, pos, 4)
            gi[g0 + 1, ch, SCFSI] = v
            gi[g0, ch, SCFSI] = 0
        ngr = 2
    for gr in range(ngr):
        for ch in range(nch):
            g = gi[g0 + gr, ch]
            v, pos = read_bits(buf, pos, 12)
            g[PART2_3_LENGTH] = v
            v, pos = read_bits(buf, pos, 9)
            if v > 288:
                ok = False
                v = 288
            g[BIG_VALUES] = v
            v, pos = read_bits(buf, pos, 8)
            g[GLOBAL_GAIN] = v
            v, pos = read_bits(buf, pos, 9 if lsf else 4)
            g[SCALEFAC_COMPRESS] = v
            ws, pos = read_bits(buf, pos, 1)
            g[WINDOW_SWITCHING] = ws
            if ws:
                v, pos = read_bits(buf, pos, 2)
                if v == 0:
                    ok = False
                g[BLOCK_TYPE] = v
                v, pos = read_bits(buf, pos, 1)
                g[MIXED_BLOCK] = v
                for i in range(2):
                    v, pos = read_bits(buf, pos, 5)
                    g[TABLE_SELECT + i] = v
                g[TABLE_SELECT + 2] = 0
                for i in range(3):
                    v, pos = read_bits(buf, pos, 3)
                    g[SUBBLOCK_GAIN + i] = v
                # implicit region counts (11172-3 2.4.2.7)
                if g[BLOCK_TYPE] == 2 and g[MIXED_BLOCK] == 0:
                    g[REGION0_COUNT] = 8
                else:
                    g[REGION0_COUNT] = 7
                g[REGION1_COUNT] = 36
            else:
                g[BLOCK_TYPE] = 0
                g[MIXED_BLOCK] = 0
                for i in range(3):
                    v, pos = read_bits(buf, pos, 5)
                    g[TABLE_SELECT + i] = v
                for i in range(3):
                    g[SUBBLOCK_GAIN + i] = 0
                v, pos = read_bits(buf, pos, 4)
                g[REGION0_COUNT] = v
                v, pos = read_bits(buf, pos, 3)
                g[REGION1_COUNT] = v
            if lsf:
                g[PREFLAG] = 0  # derived from scalefac_compress later
            else:
                v, pos = read_bits(buf, pos, 1)
                g[PREFLAG] = v
            v, pos = read_bits(buf, pos, 1)
            g[SCALEFAC_SCALE] = v
            v, pos = read_bits(buf, pos, 1)
            g[COUNT1TABLE_SELECT] = v
            g[COUNT1] = 0
            g[LAST_NONZERO] = 0
            g[PART2_LENGTH] = 0
    return main_data_begin, ok
