"""Step 4: Huffman decoding of the big_values and count1 regions
(ISO/IEC 11172-3 2.4.2.7 / 2.4.3.4, tables of Annex B Table B.7).

The code tables (``tables.huffman_data``) are turned into flat lookup tables
once per process (:func:`lookup_tables`): a root table indexed by the next
``ROOT_BITS`` bits and, for longer codes, second-level tables.  An entry
``e >= 0`` is a leaf, ``(bits_used_at_this_level << 16) | value`` (bits 16..20;
``value`` in bits 0..7); ``e < 0`` points at a sub-table, ``-e = (offset << 4) | width``.
Root entries of pair tables whose code, linbits-free values and sign bits all lie
within the root's bits also carry the whole pair (:func:`_mark_fast_pairs`): bit 15
set, sign of x in bit 8, of y in bit 9, code plus sign bits in bits 21..25.  Pair values are
``x * 16 + y``, quad values ``v * 8 + w * 4 + x * 2 + y``.  Table 0 (no bits)
has root offset -1.
"""
from functools import lru_cache

import numpy as np

from ._jit import njit
from .bits import peek
from .sideinfo import (BIG_VALUES, BLOCK_TYPE, COUNT1TABLE_SELECT, MIXED_BLOCK, REGION0_COUNT,
                       REGION1_COUNT, TABLE_SELECT, WINDOW_SWITCHING)

ROOT_BITS = 10


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
    lut = np.array(lut, np.int32)
    _mark_fast_pairs(lut, roots, widths, linbits)
    return lut, roots, widths, linbits


FAST = 0x8000


def _mark_fast_pairs(lut, roots, widths, linbits):
    """Mark the root entries that hold a whole pair, signs included (see module doc)."""
    for n in range(1, 32):
        r = int(roots[n])
        if r < 0:
            continue
        w = int(widths[n])
        lb = int(linbits[n])
        for idx in range(1 << w):
            e = int(lut[r + idx])
            if e < 0 or e & FAST:
                continue
            length = (e >> 16) & 31
            x = (e >> 4) & 15
            y = e & 15
            if lb and (x == 15 or y == 15):
                continue  # linbits follow
            bit = w - length
            nsign = int(x != 0) + int(y != 0)
            if nsign > bit:
                continue
            sx = sy = 0
            if x:
                bit -= 1
                sx = (idx >> bit) & 1
            if y:
                bit -= 1
                sy = (idx >> bit) & 1
            lut[r + idx] = e | FAST | (sx << 8) | (sy << 9) | ((length + nsign) << 21)


@njit(inline="always")
def _decode_symbol(buf, pos, lut, root, width):
    e = lut[root + peek(buf, pos, width)]
    while e < 0:
        pos += width
        e = -e
        width = e & 15
        e = lut[(e >> 4) + peek(buf, pos, width)]
    return e & 0xFF, pos + ((e >> 16) & 31)


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


# the Huffman decoder reads through a bit cache held in local variables: ``cache``
# holds ``n`` valid bits (its low ``n`` bits, MSB first), the bytes of ``buf`` up to
# ``bp``; the bit position is ``bp * 8 - n``.  A refill tops it up to 49..56 bits,
# enough for any pair (at most 19 + 2 * (13 + 1) = 47 bits) or quadruple.
_M48 = (1 << 48) - 1


@njit(inline="always")
def _refill(buf, cache, n, bp):
    while n <= 48:
        cache = ((cache & _M48) << 8) | np.int64(buf[bp])
        bp += 1
        n += 8
    return cache, n, bp


@njit(inline="always")
def _cached_symbol(cache, n, lut, root, width):
    """Decode one code from the cache (``n`` must cover it); return ``(value, n)``."""
    e = lut[root + ((cache >> (n - width)) & ((1 << width) - 1))]
    while e < 0:
        n -= width
        e = -e
        width = e & 15
        e = lut[(e >> 4) + ((cache >> (n - width)) & ((1 << width) - 1))]
    return e & 0xFF, n - ((e >> 16) & 31)


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
    # bit cache (see above); a refill at bit position p reads bytes up to p // 8 + 6
    bp = pos >> 3
    cache = np.int64(0)
    n = 0
    cache, n, bp = _refill(buf, cache, n, bp)
    n -= pos & 7
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
        lbmask = (1 << lb) - 1
        wmask = (1 << width) - 1
        while i < stop:
            if bp * 8 - n > limit:
                break  # damaged data ran to the end of the buffer: stop reading
            cache, n, bp = _refill(buf, cache, n, bp)
            e = lut[root + ((cache >> (n - width)) & wmask)]
            if e >= 0 and (e & FAST) != 0:
                # the whole pair in one entry (no linbits; signs in the entry)
                n -= (e >> 21) & 31
                sx = (e >> 8) & 1
                sy = (e >> 9) & 1
                x = (((e >> 4) & 15) ^ -sx) + sx
                y = ((e & 15) ^ -sy) + sy
                if y != 0:
                    last = i + 2
                elif x != 0:
                    last = i + 1
                out[i] = x
                out[i + 1] = y
                i += 2
                continue
            v, n = _cached_symbol(cache, n, lut, root, width)
            x = v >> 4
            y = v & 15
            # a non-zero value is followed by its linbits (x == 15 of a table with
            # linbits) and its sign bit; the sign is applied without branches
            if lb and x == 15:
                n -= lb
                x += (cache >> n) & lbmask
            sx = np.int64(x != 0)
            n -= sx
            b = (cache >> n) & sx
            x = (x ^ -b) + b
            if lb and y == 15:
                n -= lb
                y += (cache >> n) & lbmask
            sy = np.int64(y != 0)
            n -= sy
            b = (cache >> n) & sy
            y = (y ^ -b) + b
            if sy:
                last = i + 2
            elif sx:
                last = i + 1
            out[i] = x
            out[i + 1] = y
            i += 2
    pos = bp * 8 - n
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
        cache, n, bp = _refill(buf, cache, n, bp)
        v, n = _cached_symbol(cache, n, lut, root, width)
        for k in range(4):
            a = (v >> (3 - k)) & 1
            n -= a
            b = (cache >> n) & a
            out[i + k] = (a ^ -b) + b
        p = bp * 8 - n
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
