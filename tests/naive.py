"""Slow, obviously correct references for the decoder's numba kernels.

Everything here is written straight from the formulas and tables of
ISO/IEC 11172-3 (MPEG-1 Layer III) and ISO/IEC 13818-3 (LSF), in plain
Python / numpy, loop by loop, with no attempt at speed.  The kernels in
``mp3restore`` are compared against these functions in ``test_kernels.py``.

Only the Huffman code words and the synthesis window D (Annex B tables too
long to type twice) come from the package; every other table (scalefactor
bands, pretab, slen, LSF partitions, linbits, the IMDCT windows, the alias
coefficients) is written out again here from the standard, so that a wrong
table in the package shows up as a failure.

Bit streams are handled as Python strings of ``'0'``/``'1'`` (Huffman) or
with the ``bitstring`` package (side information, scalefactors, headers)
through the small :class:`BitReader` below, which works with bitstring 4
(``Bits(bytes=...)``) and 5 (``Bits.from_bytes``, where ``ConstBitStream`` is gone).
"""
from __future__ import annotations

import math

import numpy as np
from bitstring import Bits


class BitReader:
    """Sequential MSB-first reader over ``bitstring.Bits``: ``read(n)`` -> unsigned int."""

    def __init__(self, data: bytes, pos: int = 0):
        data = bytes(data)
        self.bits = Bits.from_bytes(data) if hasattr(Bits, "from_bytes") else Bits(bytes=data)
        self.pos = pos

    def read(self, n: int) -> int:
        if n == 0:
            return 0
        v = self.bits[self.pos:self.pos + n].uint
        self.pos += n
        return v

    def readlist(self, widths):
        return [self.read(n) for n in widths]

# ---------------------------------------------------------------------------
# Tables of the standard (11172-3 Annex B, 13818-3 Annex B)
# ---------------------------------------------------------------------------

SAMPLE_RATES = [44100, 48000, 32000, 22050, 24000, 16000, 11025, 12000, 8000]

# Table B.8: scalefactor band boundaries (in lines), long blocks, per sr_idx.
SFB_LONG = [
    [0, 4, 8, 12, 16, 20, 24, 30, 36, 44, 52, 62, 74, 90, 110, 134, 162, 196, 238, 288, 342, 418, 576],
    [0, 4, 8, 12, 16, 20, 24, 30, 36, 42, 50, 60, 72, 88, 106, 128, 156, 190, 230, 276, 330, 384, 576],
    [0, 4, 8, 12, 16, 20, 24, 30, 36, 44, 54, 66, 82, 102, 126, 156, 194, 240, 296, 364, 448, 550, 576],
    [0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576],
    [0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 114, 136, 162, 194, 232, 278, 332, 394, 464, 540, 576],
    [0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576],
    [0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576],
    [0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576],
    [0, 12, 24, 36, 48, 60, 72, 88, 108, 132, 160, 192, 232, 280, 336, 400, 476, 566, 568, 570, 572, 574, 576],
]
# Table B.8: short blocks (in lines of one window).
SFB_SHORT = [
    [0, 4, 8, 12, 16, 22, 30, 40, 52, 66, 84, 106, 136, 192],
    [0, 4, 8, 12, 16, 22, 28, 38, 50, 64, 80, 100, 126, 192],
    [0, 4, 8, 12, 16, 22, 30, 42, 58, 78, 104, 138, 180, 192],
    [0, 4, 8, 12, 18, 24, 32, 42, 56, 74, 100, 132, 174, 192],
    [0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 136, 180, 192],
    [0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 134, 174, 192],
    [0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 134, 174, 192],
    [0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 134, 174, 192],
    [0, 8, 16, 24, 36, 52, 72, 96, 124, 160, 162, 164, 166, 192],
]

# Table B.6: pretab (long sfb 0..21; sfb 21 is never transmitted).
PRETAB = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 2, 0]

# 2.4.2.7 scalefac_compress -> (slen1, slen2), MPEG-1.
SLEN = [(0, 0), (0, 1), (0, 2), (0, 3), (3, 0), (1, 1), (1, 2), (1, 3),
        (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3), (4, 2), (4, 3)]

# 13818-3 Table: nr_of_sfb[table][long, short, mixed][partition].
LSF_NR_OF_SFB = [
    [[6, 5, 5, 5], [9, 9, 9, 9], [6, 9, 9, 9]],
    [[6, 5, 7, 3], [9, 9, 12, 6], [6, 9, 12, 6]],
    [[11, 10, 0, 0], [18, 18, 0, 0], [15, 18, 0, 0]],
    [[7, 7, 7, 0], [12, 12, 12, 0], [6, 15, 12, 0]],
    [[6, 6, 6, 3], [12, 9, 9, 6], [6, 12, 9, 6]],
    [[8, 8, 5, 0], [15, 12, 9, 0], [6, 18, 9, 0]],
]

# Table B.7: linbits and the x/y range (size) of each pair table; None = not used.
PAIR_LINBITS = [0] * 16 + [1, 2, 3, 4, 6, 8, 10, 13, 4, 5, 6, 7, 8, 9, 11, 13]
PAIR_SIZE = [0, 2, 3, 3, None, 4, 4, 6, 6, 6, 8, 8, 8, 16, None, 16] + [16] * 16

# Table B.9: alias reduction coefficients.
ALIAS_C = [-0.6, -0.535, -0.33, -0.185, -0.095, -0.041, -0.0142, -0.0037]

BITRATES_MPEG1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, None]
BITRATES_LSF = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, None]


def n_long_mixed(sr_idx):
    """Long bands of a mixed block: those below line 36 (3 * sfb_short[3])."""
    edge = 3 * SFB_SHORT[sr_idx][3]
    return sum(1 for b in range(22) if SFB_LONG[sr_idx][b + 1] <= edge)


# ---------------------------------------------------------------------------
# Frame header (2.4.1.3 / 2.4.2.3)
# ---------------------------------------------------------------------------

def parse_header(data: bytes):
    """Parse a 4-byte header with bitstring; None when it is not a valid Layer III header.

    Rejected: no sync, reserved version (01), not Layer III (layer bits 01),
    bitrate index 15, sample rate index 3.  Emphasis 2 (reserved) is accepted,
    as the project decided (the ISO conformance stream l3-hecommon has it).
    """
    s = BitReader(data[:4])
    sync, ver, layer, prot, br, sr, pad, priv, mode, mext, copy, orig, emph = s.readlist(
        [11, 2, 2, 1, 4, 2, 1, 1, 2, 2, 1, 1, 2])
    if sync != 0x7FF or ver == 1 or layer != 1 or br == 15 or sr == 3:
        return None
    version = {3: 0, 2: 1, 0: 2}[ver]  # 0 = MPEG-1, 1 = MPEG-2, 2 = MPEG-2.5
    lsf = version != 0
    sr_idx = version * 3 + sr
    rate = SAMPLE_RATES[sr_idx]
    kbps = (BITRATES_LSF if lsf else BITRATES_MPEG1)[br]
    nch = 1 if mode == 3 else 2
    if kbps:
        size = (72 if lsf else 144) * kbps * 1000 // rate + pad
    else:
        size = 0
    return dict(version=version, lsf=lsf, sr_idx=sr_idx, samplerate=rate, bitrate=kbps,
                crc=prot == 0, padding=pad, mode=mode, mode_ext=mext, channels=nch,
                frame_size=size, granules=1 if lsf else 2,
                side_info_size=(9 if nch == 1 else 17) if lsf else (17 if nch == 1 else 32))


def make_header(version=0, sr=0, br=9, pad=0, mode=1, mode_ext=0, crc=False, emph=0):
    """Build a header's 4 bytes from field values (version 0/1/2 = MPEG-1/2/2.5)."""
    ver = {0: 3, 1: 2, 2: 0}[version]
    bits = ("11111111111" + format(ver, "02b") + "01" + ("0" if crc else "1") + format(br, "04b")
            + format(sr, "02b") + str(pad) + "0" + format(mode, "02b") + format(mode_ext, "02b")
            + "00" + format(emph, "02b"))
    return int(bits, 2).to_bytes(4, "big")


# ---------------------------------------------------------------------------
# Side information (11172-3 2.4.1.7, 13818-3 2.4.1.7)
# ---------------------------------------------------------------------------

def parse_side_info(data: bytes, bitpos: int, lsf: bool, nch: int):
    """Return ``(main_data_begin, scfsi[ch], granules[gr][ch] -> dict, bits_read)``.

    Field values are exactly the transmitted ones (nothing implicit is filled in).
    """
    s = BitReader(data, bitpos)
    scfsi = [0] * nch
    if lsf:
        mdb = s.read(8)
        s.read(1 if nch == 1 else 2)
        ngr = 1
    else:
        mdb = s.read(9)
        s.read(5 if nch == 1 else 3)
        for ch in range(nch):
            scfsi[ch] = s.read(4)
        ngr = 2
    grs = []
    for gr in range(ngr):
        chs = []
        for ch in range(nch):
            d = {}
            d["part2_3_length"] = s.read(12)
            d["big_values"] = s.read(9)
            d["global_gain"] = s.read(8)
            d["scalefac_compress"] = s.read(9 if lsf else 4)
            d["window_switching"] = s.read(1)
            if d["window_switching"]:
                d["block_type"] = s.read(2)
                d["mixed_block"] = s.read(1)
                d["table_select"] = [s.read(5), s.read(5)]
                d["subblock_gain"] = [s.read(3) for _ in range(3)]
            else:
                d["table_select"] = [s.read(5) for _ in range(3)]
                d["region0_count"] = s.read(4)
                d["region1_count"] = s.read(3)
            if not lsf:
                d["preflag"] = s.read(1)
            d["scalefac_scale"] = s.read(1)
            d["count1table_select"] = s.read(1)
            chs.append(d)
        grs.append(chs)
    return mdb, scfsi, grs, s.pos - bitpos


# ---------------------------------------------------------------------------
# Scalefactors (11172-3 2.4.1.7 / 2.4.2.7; 13818-3 2.4.3.2)
# ---------------------------------------------------------------------------

def _read(s, n):
    return s.read(n)


def parse_scalefactors_mpeg1(data, bitpos, sfc, ws, bt, mixed, gr, scfsi, sf_gr0):
    """Return ``(long, short, bits)``: ``long[sfb]`` (dict) and ``short[(sfb, w)]`` (dict)
    with the transmitted (or, with scfsi, copied) values."""
    s = BitReader(data, bitpos)
    slen1, slen2 = SLEN[sfc]
    long, short = {}, {}
    if ws and bt == 2:
        if mixed:
            for sfb in range(8):
                long[sfb] = _read(s, slen1)
            first = 3
        else:
            first = 0
        for sfb in range(first, 12):
            for w in range(3):
                short[(sfb, w)] = _read(s, slen1 if sfb < 6 else slen2)
    else:
        groups = [range(0, 6), range(6, 11), range(11, 16), range(16, 21)]
        for g, bands in enumerate(groups):
            copy = gr == 1 and (scfsi >> (3 - g)) & 1
            for sfb in bands:
                if copy:
                    long[sfb] = sf_gr0[sfb]
                else:
                    long[sfb] = _read(s, slen1 if sfb < 11 else slen2)
    return long, short, s.pos - bitpos


def lsf_slen(sfc, intensity_right):
    """13818-3 2.4.3.2: ``(slen[4], table, preflag, intensity_scale)`` from scalefac_compress."""
    if intensity_right:
        iscale = sfc & 1
        x = sfc >> 1
        if x < 180:
            return [x // 36, (x % 36) // 6, (x % 36) % 6, 0], 3, 0, iscale
        if x < 244:
            x -= 180
            return [(x % 64) >> 4, (x % 16) >> 2, x % 4, 0], 4, 0, iscale
        x -= 244
        return [x // 3, x % 3, 0, 0], 5, 0, iscale
    if sfc < 400:
        return [(sfc >> 4) // 5, (sfc >> 4) % 5, (sfc % 16) >> 2, sfc % 4], 0, 0, 0
    if sfc < 500:
        x = sfc - 400
        return [(x >> 2) // 5, (x >> 2) % 5, x % 4, 0], 1, 0, 0
    x = sfc - 500
    return [x // 3, x % 3, 0, 0], 2, 1, 0


def parse_scalefactors_lsf(data, bitpos, sfc, ws, bt, mixed, intensity_right):
    """Return ``(values, illegal, preflag, bits)``: the transmitted scalefactors in
    bitstream order, the illegal intensity position of each, and preflag."""
    s = BitReader(data, bitpos)
    slen, tab, preflag, _ = lsf_slen(sfc, intensity_right)
    kind = (2 if mixed else 1) if (ws and bt == 2) else 0
    values, illegal = [], []
    for part in range(4):
        for _ in range(LSF_NR_OF_SFB[tab][kind][part]):
            values.append(_read(s, slen[part]))
            illegal.append(2 ** slen[part] - 1)
    return values, illegal, preflag, s.pos - bitpos


def sf_layout(long, short, sr_idx, mixed_lsf_nlong=None):
    """Pack ``long``/``short`` dicts into the kernel's documented int32[39] layout
    (long: sf[sfb]; short: sf[sfb*3+w]; mixed: n_long long bands, then short
    sfb 3.. at n_long + (sfb-3)*3 + w).  Missing entries are 0."""
    out = [0] * 39
    if short:
        if long:
            nl = len(long) if mixed_lsf_nlong is None else mixed_lsf_nlong
            for sfb, v in long.items():
                out[sfb] = v
            for (sfb, w), v in short.items():
                out[nl + (sfb - 3) * 3 + w] = v
        else:
            for (sfb, w), v in short.items():
                out[sfb * 3 + w] = v
    else:
        for sfb, v in long.items():
            out[sfb] = v
    return out


# ---------------------------------------------------------------------------
# Huffman coding (2.4.2.7, Annex B Table B.7)
# ---------------------------------------------------------------------------

def region_bounds(f, sr_idx):
    """Ends of regions 0 and 1 (in lines) for MPEG-1/MPEG-2, as 2.4.2.7 defines them.

    Window switching: region0_count is implicit (8 for pure short blocks: 3
    short bands x 3 windows = line 36; else 7: long band 8), region 1 runs to
    the end.  Long blocks: region0 = region0_count + 1 bands, region1 =
    region1_count + 1 more bands.  Both are cut at 2 * big_values.
    """
    L = SFB_LONG[sr_idx]
    if f["window_switching"]:
        if f["block_type"] == 2:
            r1 = 3 * SFB_SHORT[sr_idx][3]
        else:
            r1 = L[7 + 1]
        r2 = 576
    else:
        r1 = L[min(f["region0_count"] + 1, 22)]
        r2 = L[min(f["region0_count"] + 1 + f["region1_count"] + 1, 22)]
    bv = 2 * f["big_values"]
    return min(r1, bv), min(r2, bv)


def pair_code(tables, t, x, y):
    """Code word bits (str) for the pair (x, y) with pair table ``t``, with linbits and signs."""
    size, lb, codes, lengths = tables[t]
    ax, ay = abs(x), abs(y)
    cx = min(ax, 15) if lb else ax
    cy = min(ay, 15) if lb else ay
    assert cx < size and cy < size
    k = cx * size + cy
    bits = format(codes[k], "0%db" % lengths[k]) if lengths[k] else ""
    if lb and cx == 15:
        assert ax - 15 < 2 ** lb
        bits += format(ax - 15, "0%db" % lb)
    if ax:
        bits += "1" if x < 0 else "0"
    if lb and cy == 15:
        assert ay - 15 < 2 ** lb
        bits += format(ay - 15, "0%db" % lb)
    if ay:
        bits += "1" if y < 0 else "0"
    return bits


def quad_code(quad_tables, t, q):
    """Code word bits for the quadruple q = (v, w, x, y) in {-1, 0, 1} with count1 table t."""
    codes, lengths = quad_tables[t]
    k = sum((1 if q[j] else 0) << (3 - j) for j in range(4))
    bits = format(codes[k], "0%db" % lengths[k])
    for a in q:
        if a:
            bits += "1" if a < 0 else "0"
    return bits


def encode_granule(pair_tables, quad_tables, f, sr_idx, ix, n_quads):
    """Huffman-encode lines ``ix`` (big_values pairs then ``n_quads`` quadruples)."""
    r1, r2 = region_bounds(f, sr_idx)
    bits = []
    i = 0
    while i < 2 * f["big_values"]:
        reg = 0 if i < r1 else (1 if i < r2 else 2)
        t = f["table_select"][reg]
        if t == 0:
            assert ix[i] == 0 and ix[i + 1] == 0
        else:
            bits.append(pair_code(pair_tables, t, int(ix[i]), int(ix[i + 1])))
        i += 2
    for _ in range(n_quads):
        bits.append(quad_code(quad_tables, f["count1table_select"], [int(v) for v in ix[i:i + 4]]))
        i += 4
    return "".join(bits)


class NaiveHuffman:
    """Bit-by-bit dictionary decoder built from the code tables."""

    def __init__(self, pair_tables, quad_tables):
        self.pair = {}
        for t, table in enumerate(pair_tables):
            if table is None or t == 0:
                continue
            size, lb, codes, lengths = table
            self.pair[t] = ({format(c, "0%db" % l): (k // size, k % size)
                             for k, (c, l) in enumerate(zip(codes, lengths))}, lb)
        self.quad = []
        for codes, lengths in quad_tables:
            self.quad.append({format(c, "0%db" % l): tuple((k >> (3 - j)) & 1 for j in range(4))
                              for k, (c, l) in enumerate(zip(codes, lengths))})

    @staticmethod
    def _bit(bits, pos):
        return bits[pos] if pos < len(bits) else "0"

    def _symbol(self, bits, pos, table):
        word = ""
        while word not in table:
            word += self._bit(bits, pos)
            pos += 1
            assert len(word) <= 19, "no code word matches"
        return table[word], pos

    def _int(self, bits, pos, n):
        v = 0
        for _ in range(n):
            v = 2 * v + int(self._bit(bits, pos))
            pos += 1
        return v, pos

    def decode(self, bits, pos, end, f, sr_idx):
        """Decode one granule/channel from the bit string ``bits`` between ``pos`` and ``end``.

        Returns ``(ix[576], count1, last_nonzero, overrun)``: count1 quadruples
        are read while bits of part2_3_length remain; a quadruple that needs
        bits past ``end`` is not part of the granule and is dropped.
        """
        ix = [0] * 576
        r1, r2 = region_bounds(f, sr_idx)
        i = 0
        while i < 2 * f["big_values"]:
            reg = 0 if i < r1 else (1 if i < r2 else 2)
            t = f["table_select"][reg]
            if t in self.pair:
                table, lb = self.pair[t]
                (x, y), pos = self._symbol(bits, pos, table)
                vals = []
                for v in (x, y):
                    if lb and v == 15:
                        e, pos = self._int(bits, pos, lb)
                        v += e
                    if v:
                        sgn, pos = self._int(bits, pos, 1)
                        v = -v if sgn else v
                    vals.append(v)
                ix[i], ix[i + 1] = vals
            i += 2
        overrun = pos > end
        count1 = 0
        while i + 4 <= 576 and pos < end:
            q, p = self._symbol(bits, pos, self.quad[f["count1table_select"]])
            vals = []
            for a in q:
                if a:
                    sgn, p = self._int(bits, p, 1)
                    a = -1 if sgn else 1
                vals.append(a)
            if p > end:
                break
            ix[i:i + 4] = vals
            pos = p
            i += 4
            count1 += 1
        nz = [k for k in range(576) if ix[k] != 0]
        last = nz[-1] + 1 if nz else 0
        return ix, count1, last, overrun


# ---------------------------------------------------------------------------
# Requantization (2.4.3.4.7) and reordering (2.4.3.4.8)
# ---------------------------------------------------------------------------

def requantize(ix, f, sf_long, sf_short, sr_idx):
    """Line by line: xr = sign(is) |is|^(4/3) 2^(gain/4) 2^-(scalefac_multiplier * ...).

    ``f``: dict with global_gain, scalefac_scale, preflag, subblock_gain,
    window_switching, block_type, mixed_block.  ``sf_long[sfb]`` and
    ``sf_short[sfb][w]`` are the scalefactors.  Lines stay in Huffman order.
    """
    L = SFB_LONG[sr_idx]
    S = SFB_SHORT[sr_idx]
    mult = 0.5 * (1 + f["scalefac_scale"])
    short = f["window_switching"] and f["block_type"] == 2
    mixed_edge = 3 * S[3] if (short and f["mixed_block"]) else 0
    xr = np.zeros(576)
    for i in range(576):
        if ix[i] == 0:
            continue
        mag = abs(int(ix[i])) ** (4.0 / 3.0)
        sign = -1.0 if ix[i] < 0 else 1.0
        if not short or i < mixed_edge:
            b = max(k for k in range(22) if L[k] <= i)
            e = 0.25 * (f["global_gain"] - 210) - mult * (sf_long[b] + f["preflag"] * PRETAB[b])
        else:
            s = max(k for k in range(13) if 3 * S[k] <= i)
            width = S[s + 1] - S[s]
            w = (i - 3 * S[s]) // width
            e = (0.25 * (f["global_gain"] - 210 - 8 * f["subblock_gain"][w])
                 - mult * sf_short[s][w])
        xr[i] = sign * mag * 2.0 ** e
    return xr


def reorder(xr, short, mixed, sr_idx):
    """Short blocks: build each window's spectrum, then lay out subband by subband:
    ``out[sb*18 + w*6 + k] = window w, frequency line sb*6 + k``."""
    xr = np.asarray(xr, np.float64)
    if not short:
        return xr.copy()
    S = SFB_SHORT[sr_idx]
    spec = np.zeros((3, 192))
    first = 3 if mixed else 0
    for s in range(first, 13):
        width = S[s + 1] - S[s]
        for w in range(3):
            for j in range(width):
                spec[w, S[s] + j] = xr[3 * S[s] + w * width + j]
    out = np.zeros(576)
    for sb in range(32):
        for w in range(3):
            for k in range(6):
                out[sb * 18 + w * 6 + k] = spec[w, sb * 6 + k]
    if mixed:
        out[:36] = xr[:36]
    return out


# ---------------------------------------------------------------------------
# Stereo (11172-3 2.4.3.4.9, 13818-3 2.4.3.2)
# ---------------------------------------------------------------------------

def is_factors(pos, lsf, intensity_scale):
    """(k_left, k_right) for intensity position ``pos`` (legal)."""
    if lsf:
        io = 2.0 ** -0.25 if intensity_scale == 0 else 2.0 ** -0.5
        if pos == 0:
            return 1.0, 1.0
        if pos % 2 == 1:
            return io ** ((pos + 1) // 2), 1.0
        return 1.0, io ** (pos // 2)
    if pos == 6:
        return 1.0, 0.0
    r = math.tan(pos * math.pi / 12)
    return r / (1 + r), 1 / (1 + r)


def stereo_long(xl, xr_, ms, intensity, lsf, sf_right, illegal, intensity_scale, sr_idx):
    """Joint stereo of a long-block granule, line by line.

    Intensity bands: every band above the highest band holding a non-zero
    right-channel line; band 21 (not transmitted) takes band 20's position.
    In an intensity band with the illegal position the lines are treated as
    mid/side (if ms is on) or left alone.  Below: mid/side if on.
    """
    L = SFB_LONG[sr_idx]
    left = np.array(xl, np.float64)
    right = np.array(xr_, np.float64)
    nz = [i for i in range(576) if right[i] != 0.0]
    top = nz[-1] if nz else -1
    first_is = 22
    if intensity:
        first_is = 0 if top < 0 else max(b for b in range(22) if L[b] <= top) + 1
    outl = left.copy()
    outr = right.copy()
    for i in range(576):
        b = max(k for k in range(22) if L[k] <= i)
        if b >= first_is:
            k = min(b, 20)
            pos = sf_right[k]
            if pos != illegal[k]:
                kl, kr = is_factors(pos, lsf, intensity_scale)
                outl[i] = left[i] * kl
                outr[i] = left[i] * kr
                continue
        if ms:
            outl[i] = (left[i] + right[i]) / math.sqrt(2)
            outr[i] = (left[i] - right[i]) / math.sqrt(2)
    return outl, outr


def stereo_short(xl, xr_, ms, lsf, sf_right, illegal, intensity_scale, sr_idx):
    """Intensity + mid/side for a pure short-block granule (Huffman order),
    window by window; sfb 12 takes sfb 11's position.  ``sf_right[s][w]``."""
    S = SFB_SHORT[sr_idx]
    left = np.array(xl, np.float64)
    right = np.array(xr_, np.float64)
    outl, outr = left.copy(), right.copy()
    for w in range(3):
        spans = [(3 * S[s] + w * (S[s + 1] - S[s]), S[s + 1] - S[s]) for s in range(13)]
        first_is = 0
        for s in range(13):
            lo, width = spans[s]
            if any(right[lo:lo + width] != 0.0):
                first_is = s + 1
        for s in range(13):
            lo, width = spans[s]
            k = min(s, 11)
            for i in range(lo, lo + width):
                if s >= first_is and sf_right[k][w] != illegal[k][w]:
                    kl, kr = is_factors(sf_right[k][w], lsf, intensity_scale)
                    outl[i] = left[i] * kl
                    outr[i] = left[i] * kr
                elif ms:
                    outl[i] = (left[i] + right[i]) / math.sqrt(2)
                    outr[i] = (left[i] - right[i]) / math.sqrt(2)
    return outl, outr


def stereo_mixed(xl, xr_, ms, lsf, sf_long, ill_long, sf_short, ill_short, intensity_scale, sr_idx):
    """Intensity + mid/side for a mixed block (Huffman order), following the ISO
    reference decoder: each window's short bands (3..12) take intensity above
    that window's highest band with a non-zero right line (from band 3 when
    there is none); the long bands (below line 3 * sfb_short[3]) take it above
    the right channel's last non-zero long line, but only when no window has a
    non-zero short line.  ``sf_long[b]``, ``sf_short[s][w]`` (s = 3..11) and
    the matching illegal positions."""
    S = SFB_SHORT[sr_idx]
    L = SFB_LONG[sr_idx]
    nl = n_long_mixed(sr_idx)
    edge = 3 * S[3]
    left = np.array(xl, np.float64)
    right = np.array(xr_, np.float64)
    outl, outr = left.copy(), right.copy()

    def apply(i, pos, illegal):
        if pos != illegal:
            kl, kr = is_factors(pos, lsf, intensity_scale)
            outl[i] = left[i] * kl
            outr[i] = left[i] * kr
        elif ms:
            outl[i] = (left[i] + right[i]) / math.sqrt(2)
            outr[i] = (left[i] - right[i]) / math.sqrt(2)

    def plain_ms(i):
        if ms:
            outl[i] = (left[i] + right[i]) / math.sqrt(2)
            outr[i] = (left[i] - right[i]) / math.sqrt(2)

    any_short = False
    for w in range(3):
        spans = {s: (3 * S[s] + w * (S[s + 1] - S[s]), S[s + 1] - S[s]) for s in range(3, 13)}
        first_is = 3
        for s in range(3, 13):
            lo, width = spans[s]
            if any(right[lo:lo + width] != 0.0):
                first_is = s + 1
                any_short = True
        for s in range(3, 13):
            lo, width = spans[s]
            k = min(s, 11)
            for i in range(lo, lo + width):
                if s >= first_is:
                    apply(i, sf_short[k][w], ill_short[k][w])
                else:
                    plain_ms(i)
    nz = [i for i in range(edge) if right[i] != 0.0]
    first_long = nl if any_short else (0 if not nz else max(b for b in range(nl) if L[b] <= nz[-1]) + 1)
    for i in range(edge):
        b = max(k for k in range(nl) if L[k] <= i)
        if b >= first_long:
            apply(i, sf_long[b], ill_long[b])
        else:
            plain_ms(i)
    return outl, outr


def crc16(data: bytes) -> int:
    """CRC-16 of 2.4.3.1: generator x^16 + x^15 + x^2 + 1, register preset to all ones."""
    crc = 0xFFFF
    for byte in data:
        for bit in range(7, -1, -1):
            top = (crc >> 15) & 1
            crc = (crc << 1) & 0xFFFF
            if top ^ ((byte >> bit) & 1):
                crc ^= 0x8005
    return crc


# ---------------------------------------------------------------------------
# Hybrid filterbank (2.4.3.4.10)
# ---------------------------------------------------------------------------

def antialias(x, long_subbands):
    """Butterflies on the ``long_subbands - 1`` boundaries between consecutive subbands."""
    x = np.array(x, np.float64)
    for sb in range(1, long_subbands):
        for i in range(8):
            c = ALIAS_C[i]
            cs = 1 / math.sqrt(1 + c * c)
            ca = c / math.sqrt(1 + c * c)
            lo = x[18 * sb - 1 - i]
            hi = x[18 * sb + i]
            x[18 * sb - 1 - i] = lo * cs - hi * ca
            x[18 * sb + i] = hi * cs + lo * ca
    return x


def imdct(X):
    """x_i = sum_k X_k cos(pi/(2n) (2i + 1 + n/2)(2k + 1)), n = 2 len(X)."""
    n = 2 * len(X)
    return np.array([sum(X[k] * math.cos(math.pi / (2 * n) * (2 * i + 1 + n / 2) * (2 * k + 1))
                         for k in range(n // 2)) for i in range(n)])


def window(block_type, i):
    """Window of 2.4.3.4.10.2 for long block types 0, 1, 3 (i = 0..35) and 2 (i = 0..11)."""
    if block_type == 0:
        return math.sin(math.pi / 36 * (i + 0.5))
    if block_type == 1:
        if i < 18:
            return math.sin(math.pi / 36 * (i + 0.5))
        if i < 24:
            return 1.0
        if i < 30:
            return math.sin(math.pi / 12 * (i - 18 + 0.5))
        return 0.0
    if block_type == 3:
        if i < 6:
            return 0.0
        if i < 12:
            return math.sin(math.pi / 12 * (i - 6 + 0.5))
        if i < 18:
            return 1.0
        return math.sin(math.pi / 36 * (i + 0.5))
    return math.sin(math.pi / 12 * (i + 0.5))


def imdct_block(X18, block_type):
    """36 windowed output values of one subband (short: three 12-point IMDCTs at 6, 12, 18)."""
    if block_type != 2:
        z = imdct(X18)
        return np.array([z[i] * window(block_type, i) for i in range(36)])
    out = np.zeros(36)
    for w in range(3):
        z = imdct(X18[6 * w:6 * w + 6])
        for i in range(12):
            out[6 + 6 * w + i] += z[i] * window(2, i)
    return out


def hybrid(x, block_type, mixed, overlap):
    """One granule: alias reduction, IMDCT of all 32 subbands, overlap-add, frequency
    inversion.  Returns ``(y[576], new_overlap[576])`` with ``y[sb*18 + t]``.

    The two lowest subbands of a block with mixed_block_flag set use the
    normal window (type 0) whatever the block type, as the ISO reference
    decoder does (the project follows it for types 1 and 3 too); alias
    reduction is skipped for pure short blocks and limited to the sb 0/1
    boundary for mixed short blocks.
    """
    short = block_type == 2
    if not short:
        x = antialias(x, 32)
    elif mixed:
        x = antialias(x, 2)
    else:
        x = np.array(x, np.float64)
    y = np.zeros(576)
    new = np.zeros(576)
    for sb in range(32):
        bt = block_type
        if mixed and sb < 2:
            bt = 0
        z = imdct_block(x[18 * sb:18 * sb + 18], bt)
        for t in range(18):
            y[18 * sb + t] = z[t] + overlap[18 * sb + t]
            new[18 * sb + t] = z[18 + t]
        if sb % 2 == 1:
            for t in range(1, 18, 2):
                y[18 * sb + t] = -y[18 * sb + t]
    return y, new


# ---------------------------------------------------------------------------
# Polyphase synthesis (2.4.3.2.2, Figure A.2)
# ---------------------------------------------------------------------------

class Synthesis:
    """The standard's flow chart: V FIFO of 1024, matrixing with N, U, W = U*D, sums of 16."""

    def __init__(self, D):
        self.D = np.asarray(D, np.float64)
        self.V = np.zeros(1024)
        self.N = np.array([[math.cos((16 + i) * (2 * k + 1) * math.pi / 64) for k in range(32)]
                           for i in range(64)])

    def slot(self, S):
        V = self.V
        for i in range(1023, 63, -1):
            V[i] = V[i - 64]
        for i in range(64):
            V[i] = sum(self.N[i][k] * S[k] for k in range(32))
        U = np.zeros(512)
        for i in range(8):
            for j in range(32):
                U[i * 64 + j] = V[i * 128 + j]
                U[i * 64 + 32 + j] = V[i * 128 + 96 + j]
        W = U * self.D
        return np.array([sum(W[j + 32 * i] for i in range(16)) for j in range(32)])

    def granule(self, y):
        """18 slots of ``y[sb*18 + t]`` -> 576 samples."""
        return np.concatenate([self.slot([y[k * 18 + t] for k in range(32)]) for t in range(18)])


# ---------------------------------------------------------------------------
# A whole frame: side info -> bit reservoir -> scalefactors -> Huffman ->
# requantization -> stereo -> reordering
# ---------------------------------------------------------------------------

def walk_frames(data: bytes, start: int, n: int):
    """The first ``n`` frames from ``start``, each ``(offset, header dict)``, one after the other."""
    out = []
    pos = start
    while len(out) < n and pos + 4 <= len(data):
        hdr = parse_header(data[pos:pos + 4])
        if hdr is None or not hdr["frame_size"] or pos + hdr["frame_size"] > len(data):
            break
        out.append((pos, hdr))
        pos += hdr["frame_size"]
    return out


def decode_frames(data: bytes, frames, huffman: NaiveHuffman):
    """Decode ``frames`` (from :func:`walk_frames`, consecutive) to MDCT input lines.

    The bit reservoir: main data of a frame starts ``main_data_begin`` bytes
    before the end of its side information, counting only the main data parts
    (after header, CRC and side info) of the frames before it.  A frame whose
    main data begins before the first frame is muted (``muted`` True, zeros).

    Returns one dict per frame: ``hdr``, ``mdb``, ``muted``, ``md`` (bytes),
    ``gr[gr][ch]`` (dict of the side info plus ``part2_start``, ``part2_length``,
    ``sf39``, ``is_max39``, ``ix``, ``count1``, ``last``, ``overrun``) and
    ``mdct[gr][ch]`` (float64[576], reordered as the kernels lay it out).
    """
    reservoir = b""
    out = []
    for off, hdr in frames:
        si = off + 4 + (2 if hdr["crc"] else 0)
        side = data[si:si + hdr["side_info_size"]]
        nch, lsf, sr_idx = hdr["channels"], hdr["lsf"], hdr["sr_idx"]
        mdb, scfsi, grs, _ = parse_side_info(side, 0, lsf, nch)
        own = data[si + hdr["side_info_size"]:off + hdr["frame_size"]]
        fr = dict(hdr=hdr, mdb=mdb, muted=mdb > len(reservoir), gr=grs, mdct=[])
        md = (reservoir[len(reservoir) - mdb:] if mdb else b"") + own
        fr["md"] = md
        reservoir += own
        out.append(fr)
        if fr["muted"]:
            fr["mdct"] = [[np.zeros(576) for _ in range(nch)] for _ in grs]
            continue
        bits = "".join(format(b, "08b") for b in md)
        joint = hdr["mode"] == 1 and nch == 2
        intensity = joint and bool(hdr["mode_ext"] & 1)
        ms = joint and bool(hdr["mode_ext"] & 2)
        bitpos = 0
        sf_gr0 = [[0] * 39 for _ in range(nch)]
        for gr, chs in enumerate(grs):
            xrs = []
            parts = []
            for ch, d in enumerate(chs):
                ws = d["window_switching"]
                bt = d.get("block_type", 0)
                mixed = d.get("mixed_block", 0)
                short = ws and bt == 2
                d["part2_start"] = bitpos
                sf_long = [0] * 22
                sf_short = [[0, 0, 0] for _ in range(13)]
                if lsf:
                    vals, illegal, preflag, nb = parse_scalefactors_lsf(
                        md, bitpos, d["scalefac_compress"], ws, bt, mixed, intensity and ch == 1)
                    d["preflag"] = preflag
                    d["sf39"] = vals + [0] * (39 - len(vals))
                    d["is_max39"] = illegal + [-1] * (39 - len(vals))
                    il_long = [-1] * 22
                    il_short = [[-1] * 3 for _ in range(13)]
                    nl = n_long_mixed(sr_idx) if (short and mixed) else 0
                    if not short:
                        for b in range(21):
                            sf_long[b], il_long[b] = vals[b], illegal[b]
                    else:
                        for b in range(nl):
                            sf_long[b], il_long[b] = vals[b], illegal[b]
                        for s in range(3 if mixed else 0, 12):
                            for w in range(3):
                                k = nl + (s - (3 if mixed else 0)) * 3 + w
                                sf_short[s][w], il_short[s][w] = vals[k], illegal[k]
                else:
                    long, shrt, nb = parse_scalefactors_mpeg1(md, bitpos, d["scalefac_compress"], ws, bt, mixed,
                                                              gr, scfsi[ch], sf_gr0[ch])
                    d["sf39"] = sf_layout(long, shrt, sr_idx)
                    d["is_max39"] = [7] * (len(long) + len(shrt)) + [-1] * (39 - len(long) - len(shrt))
                    if gr == 0:
                        sf_gr0[ch] = list(d["sf39"])
                    for b, v in long.items():
                        sf_long[b] = v
                    for (sb, w), v in shrt.items():
                        sf_short[sb][w] = v
                    il_long = [7] * 22
                    il_short = [[7] * 3 for _ in range(13)]
                d["part2_length"] = nb
                end = bitpos + d["part2_3_length"]
                f = dict(d)
                if ws:
                    f["table_select"] = d["table_select"] + [0]
                ix, c1, last, over = huffman.decode(bits, bitpos + nb, end, f, sr_idx)
                d.update(ix=ix, count1=c1, last=last, overrun=over)
                g = dict(d)
                g.setdefault("subblock_gain", [0, 0, 0])
                g.setdefault("block_type", 0)
                g.setdefault("mixed_block", 0)
                xrs.append(requantize(ix, g, sf_long, sf_short, sr_idx))
                parts.append((sf_long, il_long, sf_short, il_short, short, mixed))
                bitpos = end
            if joint and (ms or intensity):
                sf_long, il_long, sf_short, il_short, short, mixed = parts[1]
                iscale = chs[1]["scalefac_compress"] & 1 if lsf else 0
                if not intensity:
                    l = (xrs[0] + xrs[1]) / math.sqrt(2)
                    r = (xrs[0] - xrs[1]) / math.sqrt(2)
                elif not short:
                    l, r = stereo_long(xrs[0], xrs[1], ms, True, lsf, sf_long, il_long, iscale, sr_idx)
                elif not mixed:
                    l, r = stereo_short(xrs[0], xrs[1], ms, lsf, sf_short, il_short, iscale, sr_idx)
                else:
                    l, r = stereo_mixed(xrs[0], xrs[1], ms, lsf, sf_long, il_long, sf_short, il_short,
                                        iscale, sr_idx)
                xrs = [l, r]
            fr["mdct"].append([reorder(xrs[ch], parts[ch][4], parts[ch][5], sr_idx) for ch in range(nch)])
    return out
