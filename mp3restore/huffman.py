"""Step 4: Huffman decoding of the big_values and count1 regions
(ISO/IEC 11172-3 2.4.2.7 / 2.4.3.4, tables of Annex B Table B.7).

The code tables (``tables.huffman_data``) are turned into flat lookup tables
once per process (:func:`lookup_tables`): a root table indexed by the next
``ROOT_BITS`` bits and, for longer codes, second-level tables.  An entry
``e >= 0`` is a leaf, ``(bits_used_at_this_level << 16) | value``; ``e < 0``
points at a sub-table, ``-e = (offset << 4) | width``.  Pair values are
``x * 16 + y``, quad values ``v * 8 + w * 4 + x * 2 + y``.  Table 0 (no bits)
has root offset -1.
"""
from functools import lru_cache

import numpy as np

from ._jit import njit
from .bits import peek
from .sideinfo import (BIG_VALUES, BLOCK_TYPE, COUNT1TABLE_SELECT, MIXED_BLOCK, REGION0_COUNT,
                       REGION1_COUNT, TABLE_SELECT, WINDOW_SWITCHING)

ROOT_BITS = 8


def _build(entries, lut, width):
    """Append a table for ``entries`` [(code, length, value)] of ``width`` bits to ``lut``."""
    base = len(lut)
    lut.extend([0] * (1 << width))
    longer = {}
    for code, length, value in entries:
        if length <= width:
            shift = width - length
            first = code << shift
            for k in range(1 << shift):
                lut[base + first + k] = (length << 16) | value
        else:
            prefix = code >> (length - width)
            rest = length - width
            longer.setdefault(prefix, []).append((code & ((1 << rest) - 1), rest, value))
    for prefix, sub in sorted(longer.items()):
        sub_width = max(length for _, length, _ in sub)
        offset = _build(sub, lut, sub_width)
        lut[base + prefix] = -((offset << 4) | sub_width)
    return base


@lru_cache(maxsize=None)
def lookup_tables():
    """Return ``(lut int32[:], roots int32[34], widths int32[34], linbits int32[34])``.

    Indices 0..31 are the pair tables (table_select), 32 and 33 the count1
    tables A and B.
    """
    from .tables.huffman_data import PAIR_TABLES, QUAD_TABLES

    lut = []
    roots = np.full(34, -1, np.int32)
    widths = np.zeros(34, np.int32)
    linbits = np.zeros(34, np.int32)
    built = {}
    for n, table in enumerate(PAIR_TABLES):
        if table is None or n == 0:
            continue
        size, lb, codes, lengths = table
        linbits[n] = lb
        key = id(codes)
        if key not in built:
            entries = [(c, l, (i // size) * 16 + (i % size)) for i, (c, l) in enumerate(zip(codes, lengths))]
            built[key] = _build(entries, lut, min(ROOT_BITS, max(lengths)))
        roots[n] = built[key]
        widths[n] = min(ROOT_BITS, max(lengths))
    for q, (codes, lengths) in enumerate(QUAD_TABLES):
        entries = [(c, l, i) for i, (c, l) in enumerate(zip(codes, lengths))]
        roots[32 + q] = _build(entries, lut, max(lengths))
        widths[32 + q] = max(lengths)
    return np.array(lut, np.int32), roots, widths, linbits


@njit(inline="always")
def _decode_symbol(buf, pos, lut, root, width):
    e = lut[root + peek(buf, pos, width)]
    while e < 0:
        pos += width
        e = -e
        width = e & 15
        e = lut[(e >> 4) + peek(buf, pos, width)]
    return e & 0xFFFF, pos + (e >> 16)


@njit
def region_bounds(g, sfb_long, sfb_short, sr_idx):
    """Ends (in lines) of regions 0 and 1 of the big_values part (2.4.2.7)."""
    if g[WINDOW_SWITCHING]:
        if sr_idx >= 6:  # MPEG-2.5 (no standard; the values mpg123 uses)
            if g[BLOCK_TYPE] == 2 and g[MIXED_BLOCK] == 0:
                r1 = sfb_long[6]
            else:
                r1 = sfb_long[8]
        elif g[BLOCK_TYPE] == 2:
            r1 = 36
        else:
            r1 = sfb_long[8]
        r2 = 576
    else:
        i1 = min(g[REGION0_COUNT] + 1, 22)
        i2 = min(g[REGION0_COUNT] + g[REGION1_COUNT] + 2, 22)
        r1 = sfb_long[i1]
        r2 = sfb_long[i2]
    bv = 2 * g[BIG_VALUES]
    return min(r1, bv), min(r2, bv)


@njit
def huffman_decode(buf, pos, end, g, sfb_long, sfb_short, sr_idx, lut, roots, widths, linbits, out):
    """Decode the Huffman-coded lines of one granule and channel into ``out`` (int32[576]).

    Reads from bit ``pos`` up to bit ``end`` (the end of part2_3_length).
    Returns ``(count1, last_nonzero, overrun)``; ``overrun`` is True when the
    big_values part alone went past ``end`` (damaged data; the lines are then
    decoded on as the data goes, as the reference decoders do, until the end
    of ``buf``: whatever the stream says, nothing outside ``buf`` is read).
    ``buf`` must hold 10 readable bytes past ``end``.
    """
    r1, r2 = region_bounds(g, sfb_long, sfb_short, sr_idx)
    bv = 2 * g[BIG_VALUES]
    # a pair reads at most 47 bits and a peek 4 bytes from its position: past this
    # bit position the next pair could read outside ``buf``
    limit = max((buf.shape[0] - 12) * 8, end)
    i = 0
    last = 0
    for region in range(3):
        stop = r1 if region == 0 else (r2 if region == 1 else bv)
        tab = g[TABLE_SELECT + region]
        root = roots[tab]
        if root < 0:  # table 0 (or the unused 4 and 14): zeros
            while i < stop:
                out[i] = 0
                out[i + 1] = 0
                i += 2
            continue
        width = widths[tab]
        lb = linbits[tab]
        while i < stop:
            if pos > limit:
                break  # damaged data ran to the end of the buffer: stop reading
            v, pos = _decode_symbol(buf, pos, lut, root, width)
            x = v >> 4
            y = v & 15
            if x != 0:
                if lb and x == 15:
                    x += peek(buf, pos, lb)
                    pos += lb
                if peek(buf, pos, 1):
                    x = -x
                pos += 1
                last = i + 1
            if y != 0:
                if lb and y == 15:
                    y += peek(buf, pos, lb)
                    pos += lb
                if peek(buf, pos, 1):
                    y = -y
                pos += 1
                last = i + 2
            out[i] = x
            out[i + 1] = y
            i += 2
    overrun = pos > end
    if overrun:
        for k in range(i, 576):
            out[k] = 0
        return 0, last, overrun
    # count1 region: quadruples until the part2_3 bits are used up
    tab = 32 + g[COUNT1TABLE_SELECT]
    root = roots[tab]
    width = widths[tab]
    count1 = 0
    while i <= 572 and pos < end:
        v, p = _decode_symbol(buf, pos, lut, root, width)
        for k in range(4):
            a = (v >> (3 - k)) & 1
            if a:
                if peek(buf, p, 1):
                    a = -1
                p += 1
            out[i + k] = a
        if p > end:
            # the last quadruple ran past part2_3_length: discard it (as the
            # reference decoders do)
            for k in range(4):
                out[i + k] = 0
            pos = p
            break
        for k in range(4):
            if out[i + k] != 0:
                last = i + k + 1
        pos = p
        i += 4
        count1 += 1
    for k in range(i, 576):
        out[k] = 0
    return count1, last, overrun
