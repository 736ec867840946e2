"""The orchestrator: runs the steps in the standard's order.

bitstream (:mod:`frames`) -> side info (:mod:`sideinfo`) -> main data with the
bit reservoir -> scalefactors (:mod:`scalefactors`) -> Huffman (:mod:`huffman`)
-> requantize (:mod:`requantize`) -> stereo (:mod:`stereo`) -> [restore] ->
hybrid filterbank (:mod:`hybrid`) -> polyphase synthesis (:mod:`polyphase`).

Two kernels split the path where restoration and the coefficient API plug in:

* :func:`decode_frames` turns frames ``f0..f1`` of a stream into MDCT
  coefficients ``mdct[granule, channel, 576]`` (float32) plus side information.
  It keeps no state between frames: the bit reservoir is read back from the
  preceding frames in the buffer, so any range of frames can be decoded alone.
* :func:`synthesize_granules` turns coefficients into PCM and carries the
  filterbank state (overlap and polyphase FIFO) in :class:`SynthState`.
"""
import numpy as np

from ._jit import njit
from .frames import (hdr_channels, hdr_crc, hdr_lost, hdr_lsf, hdr_mode, hdr_mode_ext, hdr_side_info_size,
                     hdr_sr_index)
from .huffman import huffman_decode
from .hybrid import hybrid_lanes
from .polyphase import BLOCK, HIST, LANES, WIDTH, shift_history, synth_block
from .requantize import requantize, reorder
from .scalefactors import read_scalefactors_lsf, read_scalefactors_mpeg1
from .sideinfo import COUNT1, LAST_NONZERO, N_FIELDS, PART2_3_LENGTH, PART2_LENGTH, read_side_info
from .stereo import stereo

# frame status bits; a frame with any of them set is concealed: its MDCT lines are zero
# (muted; the IMDCT overlap gives a short fade out and in), its timing is kept
ST_OK = 0
ST_CRC = 1  # CRC mismatch: the header or side info is damaged
ST_RESERVOIR = 2  # main_data_begin points before the available data
ST_SIDEINFO = 4  # forbidden side-info values
ST_OVERRUN = 8  # scalefactor/Huffman data ran past part2_3_length, or part2_3_length past the main data
ST_LOST = 16  # a placeholder for a frame whose header was destroyed (frames.FRAME_LOST)
ST_CONCEAL = ST_CRC | ST_RESERVOIR | ST_SIDEINFO | ST_OVERRUN | ST_LOST
# how far back (in frames) the bit reservoir is looked for: main_data_begin is at most
# 511 bytes and only a free-format frame without main data can hold none of them
RESERVOIR_MAX_FRAMES = 512
MDBUF_SIZE = 4096 + 512 + 64  # main data of one frame (<= 4096 bytes) + reservoir (<= 511) + margin


@njit
def _crc_ok(buf, off, si_pos, si_size):
    crc = 0xFFFF
    for p in range(off + 2, off + 4):
        crc = _crc_byte(crc, buf[p])
    for p in range(si_pos, si_pos + si_size):
        crc = _crc_byte(crc, buf[p])
    stored = (np.int64(buf[off + 4]) << 8) | np.int64(buf[off + 5])
    return crc == stored


@njit(inline="always")
def _crc_byte(crc, byte):
    b = np.int64(byte)
    for bit in range(7, -1, -1):
        top = (crc >> 15) & 1
        crc = (crc << 1) & 0xFFFF
        if top ^ ((b >> bit) & 1):
            crc ^= 0x8005
    return crc


@njit
def count_crc_errors(buf, offsets, headers):
    """Number of CRC-protected frames whose CRC does not match."""
    bad = 0
    for f in range(len(offsets)):
        h = headers[f]
        if hdr_crc(h):
            off = offsets[f]
            if not _crc_ok(buf, off, off + 6, hdr_side_info_size(h)):
                bad += 1
    return bad


@njit
def _gather_main_data(buf, offsets, sizes, headers, f, mdb, mdbuf):
    """Copy ``mdb`` reservoir bytes from the frames before ``f`` and frame ``f``'s
    own main data into ``mdbuf``; return the byte count, or -1 if the reservoir
    data is not there (start of stream, a gap or a lost frame before frame ``f``).
    ``mdbuf`` gets 16 zero bytes after the data (the bit readers peek past it)."""
    h = headers[f]
    md_start = offsets[f] + 4 + (2 if hdr_crc(h) else 0) + hdr_side_info_size(h)
    md_len = offsets[f] + sizes[f] - md_start
    if md_len < 0 or mdb + md_len + 16 > mdbuf.shape[0]:
        return -1
    need = mdb
    j = f - 1
    # walk back and copy from the end of each earlier frame's main data
    while need > 0:
        if j < 0 or offsets[j] + sizes[j] != offsets[j + 1] or hdr_lost(headers[j]) or \
                f - j > RESERVOIR_MAX_FRAMES:
            return -1
        hj = headers[j]
        s = offsets[j] + 4 + (2 if hdr_crc(hj) else 0) + hdr_side_info_size(hj)
        e = offsets[j] + sizes[j]
        n = min(need, e - s)
        if n > 0:
            dst = need - n
            for k in range(n):
                mdbuf[dst + k] = buf[e - n + k]
            need -= n
        j -= 1
    for k in range(md_len):
        mdbuf[mdb + k] = buf[md_start + k]
    total = mdb + md_len
    for k in range(total, total + 16):
        mdbuf[k] = 0
    return total


def decode_scratch():
    """The work arrays of :func:`decode_frames_with`, zeroed: main data buffer, Huffman
    values, requantized lines, scalefactors, illegal intensity positions, side
    info and non-zero extents of one frame."""
    return (np.zeros(MDBUF_SIZE, np.uint8), np.zeros(576, np.int32), np.zeros((2, 576), np.float64),
            np.zeros((2, 2, 39), np.int32), np.zeros((2, 39), np.int32), np.zeros((2, 2, N_FIELDS), np.int32),
            np.zeros(2, np.int64))


@njit
def decode_frames(buf, offsets, sizes, headers, gr_start, f0, f1, nch_out,
                  lut, roots, widths, linbits, sfb_long_all, sfb_short_all,
                  mdct, gi, sf_out, status, mdb_out):
    """Decode frames ``f0..f1`` into coefficients.

    Parameters
    ----------
    buf : uint8[:]  the stream bytes, with at least 8 zero bytes past the last frame
    offsets, sizes, headers : int64[nframes]  from :func:`mp3restore.frames.scan_frames`
        (a header with :data:`~mp3restore.frames.FRAME_LOST` set is a placeholder: muted)
    gr_start : int64[nframes + 1]  index of each frame's first granule in the stream
    mdct : float32[G, nch_out, 576]  output, row ``gr_start[f] - gr_start[f0] + gr``
    gi : int32[G, nch_out, N_FIELDS]  side information (see :mod:`sideinfo`)
    sf_out : int16[G, nch_out, 39]  scalefactors (see :mod:`scalefactors`)
    status, mdb_out : int32[f1 - f0]  frame status bits (``ST_*``) and main_data_begin

    A frame with a status bit set is concealed: its lines are zero (and its
    ``LAST_NONZERO`` 0).  Every position computed from the stream is checked
    against the main data gathered for the frame before it is read.
    """
    scratch = (np.zeros(MDBUF_SIZE, np.uint8), np.zeros(576, np.int32), np.zeros((2, 576), np.float64),
               np.zeros((2, 2, 39), np.int32), np.zeros((2, 39), np.int32), np.zeros((2, 2, N_FIELDS), np.int32),
               np.zeros(2, np.int64))
    decode_frames_with(buf, offsets, sizes, headers, gr_start, f0, f1, nch_out, lut, roots, widths, linbits,
                       sfb_long_all, sfb_short_all, mdct, gi, sf_out, status, mdb_out, scratch)


@njit
def decode_frames_with(buf, offsets, sizes, headers, gr_start, f0, f1, nch_out,
                       lut, roots, widths, linbits, sfb_long_all, sfb_short_all,
                       mdct, gi, sf_out, status, mdb_out, scratch):
    """:func:`decode_frames` with its work arrays passed in: ``scratch`` from
    :func:`decode_scratch` (zeroed before each call).  The decoder's path: no
    array allocation in the kernel, which saves compiling numba's ``np.zeros``
    for six shapes and types (~0.5 s of the first run)."""
    mdbuf, ix, xr, sfs, is_max, gis, nz = scratch
    g_base = gr_start[f0]
    for f in range(f0, f1):
        h = headers[f]
        off = offsets[f]
        lsf = hdr_lsf(h)
        nch = hdr_channels(h)
        sr_idx = hdr_sr_index(h)
        sfb_long = sfb_long_all[sr_idx]
        sfb_short = sfb_short_all[sr_idx]
        ngr = 1 if lsf else 2
        st = ST_OK
        if hdr_lost(h):
            st = ST_LOST
            mdb = 0
            nbytes = -1
            gis[:] = 0
            sfs[:] = 0
        else:
            crc = hdr_crc(h)
            si_pos = off + 4 + (2 if crc else 0)
            si_size = hdr_side_info_size(h)
            if crc and not _crc_ok(buf, off, si_pos, si_size):
                st |= ST_CRC
            mdb, ok = read_side_info(buf, si_pos * 8, lsf, nch, gis, 0)
            if not ok:
                st |= ST_SIDEINFO
            nbytes = _gather_main_data(buf, offsets, sizes, headers, f, mdb, mdbuf)
            if nbytes < 0:
                st |= ST_RESERVOIR
            elif st != ST_OK:
                nbytes = -1  # damaged header or side info: conceal the frame (muted), keep its timing
        mdb_out[f - f0] = mdb
        total_bits = max(nbytes, 0) * 8
        mode_ext = hdr_mode_ext(h)
        joint = hdr_mode(h) == 1 and nch == 2
        intensity = joint and (mode_ext & 1) != 0
        bitpos = 0
        for gr in range(ngr):
            row = gr_start[f] - g_base + gr
            for ch in range(nch):
                g = gis[gr, ch]
                if nbytes < 0:
                    xr[ch, :] = 0.0
                    nz[ch] = 0
                    continue
                p2 = bitpos
                end = p2 + g[PART2_3_LENGTH]
                bitpos = end
                if end > total_bits:
                    st |= ST_OVERRUN
                    end = total_bits
                if p2 > end:  # part2_3_length of an earlier granule ran past the main data
                    p2 = end
                sf = sfs[gr, ch]
                if lsf:
                    pos = read_scalefactors_lsf(mdbuf, p2, g, intensity and ch == 1, sf, is_max[ch])
                else:
                    pos = read_scalefactors_mpeg1(mdbuf, p2, g, gr, sf, sfs[0, ch], is_max[ch])
                g[PART2_LENGTH] = pos - p2
                if pos > end:
                    st |= ST_OVERRUN
                    pos = end
                count1, last, overrun = huffman_decode(mdbuf, pos, end, g, sfb_long, sfb_short, sr_idx,
                                                        lut, roots, widths, linbits, ix)
                if overrun:
                    st |= ST_OVERRUN
                g[COUNT1] = count1
                g[LAST_NONZERO] = last
                nz[ch] = last
                requantize(ix, last, g, sf, sfb_long, sfb_short, sr_idx, xr[ch])
            if joint and nbytes >= 0:
                stereo(xr, gis[gr, 1], sfs[gr, 1], is_max[1], mode_ext, lsf, sfb_long, sfb_short,
                       sr_idx, nz[0], nz[1])
            for ch in range(nch_out):
                c = ch if ch < nch else 0
                g = gis[gr, c]
                reorder(g, xr[c], sfb_short, mdct[row, ch])
                for k in range(N_FIELDS):
                    gi[row, ch, k] = g[k]
                for k in range(39):
                    sf_out[row, ch, k] = sfs[gr, c, k]
        if st & ST_OVERRUN:
            # the frame's audio data is damaged: conceal all of it
            for gr in range(ngr):
                row = gr_start[f] - g_base + gr
                for ch in range(nch_out):
                    mdct[row, ch, :] = 0.0
                    gi[row, ch, LAST_NONZERO] = 0
        status[f - f0] = st


@njit
def _emit(O, nb, rows, row0, ch, C, flat):
    """Write the ``nb`` granules of a polyphase block (``O[j, 18 b + t]``) to the PCM rows."""
    for b in range(nb):
        base = ((row0 + rows[b]) * 576) * C + ch
        for t in range(18):
            col = 18 * b + t
            o = flat[base + t * 32 * C:base + (t + 1) * 32 * C]
            for j in range(32):
                o[j * C] = O[j, col]


@njit
def _count_beyond(O, nb, rows, limit, cols, beyond):
    """``beyond[rows[b]] +=`` the samples of block granule ``b`` (``O[j, 18 b + t]``) with
    ``|x| > limit``, counted on the block while it is in cache (``cols``: int32[LANES] scratch)."""
    lim = np.float32(limit)
    n = 18 * nb
    for i in range(n):
        cols[i] = 0
    for j in range(32):
        row = O[j]
        for i in range(n):  # whole rows, in float32 and int32: it vectorises
            cols[i] += np.int32(abs(row[i]) > lim)
    for b in range(nb):
        c = np.int32(0)
        for t in range(18 * b, 18 * b + 18):
            c += cols[t]
        beyond[rows[b]] += c


@njit
def _copy_history(src, dst):
    """``dst[:, :HIST] = src[:, :HIST]`` (a loop: an array assignment would compile
    numba's shape-mismatch error message, seconds of compile time)."""
    for m in range(32):
        for s in range(HIST):
            dst[m, s] = src[m, s]


@njit
def synthesize_granules(mdct, block_type, mixed, coded, overlap, ring, newest, pcm, row0, beyond, limit):
    """Hybrid + polyphase synthesis of ``mdct[g, ch, 576]`` into ``pcm``.

    Parameters
    ----------
    mdct : float32[G, C, 576]
    block_type, mixed : int32[G, C]
    coded : int32[G]
        Channels coded in each granule: a mono frame of a stereo stream (1 < C)
        is synthesized on channel 0 and copied; the other channels' filterbank
        state is left as it was, as the ISO reference decoder does (l3-he_mode).
    overlap : float64[C, 576], ring : float64[C, 32, 15], newest : int64[C]
        Filterbank state, updated in place: the IMDCT overlap in the layout of
        :func:`~mp3restore.hybrid.hybrid_lanes` (``overlap[ch, t * 32 + sb]``)
        and the polyphase history of :func:`~mp3restore.polyphase.synth_block`
        (``ring[ch]`` = columns 0..14 of its ``H``: the DCT outputs ``A[m]`` of the
        last 15 slots, oldest first).  ``newest`` is not used.
    pcm : float32[N, C]  output; granule ``g`` goes to rows ``(row0 + g) * 576 ...``
    beyond : int32[G] or int32[0]
        When it has ``G`` entries: ``beyond[g]`` = the samples of granule ``g`` (its coded
        channels) with ``|x| > limit`` (the restoration's headroom check, without a
        second pass over the PCM).

    Each channel runs on its own: the hybrid filterbank granule by granule,
    the polyphase filterbank on blocks of ``polyphase.BLOCK`` granules.
    """
    G = mdct.shape[0]
    C = mdct.shape[1]
    X = np.empty(576, np.float64)
    Z = np.empty(576, np.float64)
    S = np.empty((32, LANES), np.float64)
    H = np.empty((32, WIDTH), np.float64)
    O = np.empty((32, LANES), np.float32)  # the window rounds to the PCM type
    rows = np.empty(BLOCK, np.int64)
    flat = pcm.reshape(-1)
    count = len(beyond) >= G
    cols = np.empty(LANES, np.int32)
    if count:
        for g in range(G):
            beyond[g] = 0
    for ch in range(C):
        _copy_history(ring[ch], H)
        nb = 0
        for g in range(G):
            if ch >= coded[g]:
                continue
            hybrid_lanes(mdct[g, ch], block_type[g, ch], mixed[g, ch], overlap[ch], X, Z, S, 18 * nb)
            rows[nb] = g
            nb += 1
            if nb == BLOCK:
                synth_block(S, H, 18 * nb, O)
                _emit(O, nb, rows, row0, ch, C, flat)
                if count:
                    _count_beyond(O, nb, rows, limit, cols, beyond)
                shift_history(H, 18 * nb)
                nb = 0
        if nb > 0:
            synth_block(S, H, 18 * nb, O)
            _emit(O, nb, rows, row0, ch, C, flat)
            if count:
                _count_beyond(O, nb, rows, limit, cols, beyond)
            shift_history(H, 18 * nb)
        _copy_history(H, ring[ch])
    for g in range(G):
        for ch in range(min(C, coded[g]), C):
            for i in range((row0 + g) * 576, (row0 + g + 1) * 576):
                pcm[i, ch] = pcm[i, 0]


_NO_COUNT = np.zeros(0, np.int32)


class SynthState:
    """Filterbank state of one stream: IMDCT overlap and polyphase history per channel
    (layouts: see :func:`synthesize_granules`)."""

    def __init__(self, channels):
        self.overlap = np.zeros((channels, 576), np.float64)
        self.ring = np.zeros((channels, 32, HIST), np.float64)
        self.newest = np.zeros(channels, np.int64)

    def run(self, mdct, block_type, mixed, coded, pcm, beyond=None, limit=1.0):
        """Synthesize ``mdct`` (float32[G, C, 576]) into ``pcm`` (float32[G * 576, C]);
        with ``beyond`` (int32[G]), also count each granule's samples beyond +-``limit``."""
        if beyond is None:
            beyond = _NO_COUNT
        elif len(beyond) < len(mdct):
            raise ValueError(f"beyond has {len(beyond)} entries for {len(mdct)} granules")
        synthesize_granules(mdct, block_type, mixed, coded, self.overlap, self.ring, self.newest, pcm, 0,
                            beyond, limit)


@njit
def _per_granule(headers, gr_start, f0, f1, joint):
    out = np.empty(gr_start[f1] - gr_start[f0], np.int32)
    for f in range(f0, f1):
        h = headers[f]
        if joint:
            v = hdr_mode_ext(h) if hdr_mode(h) == 1 else 0
        else:
            v = hdr_channels(h)
        for i in range(gr_start[f] - gr_start[f0], gr_start[f + 1] - gr_start[f0]):
            out[i] = v
    return out


def granule_channels(headers, gr_start, f0, f1):
    """Coded channel count of each granule of frames ``f0..f1`` (int32[G])."""
    return _per_granule(headers, gr_start, f0, f1, False)


def granule_joint(headers, gr_start, f0, f1):
    """Joint-stereo mode extension of each granule of frames ``f0..f1`` (int32[G]):
    bit 2 mid/side, bit 1 intensity; 0 for other modes."""
    return _per_granule(headers, gr_start, f0, f1, True)


class FrameDecoder:
    """Decodes ranges of frames of one :class:`~mp3restore.stream.Stream` into
    coefficients, reusing its output buffers between calls."""

    def __init__(self, stream, max_frames):
        from .huffman import lookup_tables
        from .tables.bands import SFB_LONG, SFB_SHORT

        self.stream = stream
        self.lut, self.roots, self.widths, self.linbits = lookup_tables()
        self.sfb_long = np.array(SFB_LONG, np.int64)
        self.sfb_short = np.array(SFB_SHORT, np.int64)
        C = stream.channels
        G = 2 * max_frames
        self.mdct = np.zeros((G, C, 576), np.float32)
        self.gi = np.zeros((G, C, N_FIELDS), np.int32)
        self.sf = np.zeros((G, C, 39), np.int16)
        self.status = np.zeros(max_frames, np.int32)
        self.mdb = np.zeros(max_frames, np.int32)
        self.scratch = decode_scratch()

    def decode(self, f0, f1):
        """Decode frames ``f0..f1``; return ``(G, views of mdct, gi, sf, status, mdb)``."""
        s = self.stream
        G = int(s.gr_start[f1] - s.gr_start[f0])
        n = f1 - f0
        for a in self.scratch:
            a.fill(0)
        decode_frames_with(s.buf, s.offsets, s.sizes, s.headers, s.gr_start, f0, f1, s.channels,
                           self.lut, self.roots, self.widths, self.linbits, self.sfb_long, self.sfb_short,
                           self.mdct, self.gi, self.sf, self.status, self.mdb, self.scratch)
        return G, self.mdct[:G], self.gi[:G], self.sf[:G], self.status[:n], self.mdb[:n]
