"""Step 1 of the data path: frame headers and frame synchronisation.

ISO/IEC 11172-3 clause 2.4.2.3 (header), 13818-3 clause 2.4.2.3 (LSF) and the
common MPEG-2.5 extension (version bits ``00``).

A header is handled as a 32-bit integer ``h`` (big endian, sync in the top 11
bits).  :func:`scan_frames` walks a byte buffer and returns the offset, size
and header of every Layer III frame it can confirm.  Resynchronisation after
damage needs two consecutive headers that agree (version, layer, sample rate),
so junk that happens to contain ``0xFFE`` does not start a false frame.
"""
import numpy as np

from ._jit import njit
from .bits import popcount

# ISO/IEC 11172-3 Table 2.4.2.3 / 13818-3: Layer III bit rates in kbit/s.
BITRATES_MPEG1 = np.array([0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0], np.int32)
BITRATES_LSF = np.array([0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0], np.int32)
# Sample rate index order used throughout: 0-2 MPEG-1, 3-5 MPEG-2, 6-8 MPEG-2.5.
SAMPLE_RATES = np.array([44100, 48000, 32000, 22050, 24000, 16000, 11025, 12000, 8000], np.int32)

MODE_NAMES = ("stereo", "joint", "dual", "mono")
VERSION_NAMES = {0: "1", 1: "2", 2: "2.5"}

# Largest Layer III frame: MPEG-1 free format can go to 640 kbit/s at 32 kHz
# (2880 bytes + padding); LSF free format is allowed up to 160*2 kbit/s here.
MAX_FRAME = 4096
MIN_FRAME = 24  # 8 kbit/s at 24 kHz, LSF
# Smallest frame scan_frames accepts: header + LSF mono side info (a free-format
# frame can be that small); index arrays are sized with it.
MIN_ANY_FRAME = 13
# Bit 32 of a header array entry: a placeholder for a frame whose header was
# destroyed (inferred from the spacing of its neighbours).  Bits 0..31 are a
# copy of the preceding frame's header; the decoder mutes it and the bit
# reservoir does not reach across it.
FRAME_LOST = np.int64(1) << 32


@njit
def hdr_valid(h):
    """True when ``h`` is a syntactically valid Layer III header."""
    if (h >> 21) & 0x7FF != 0x7FF:
        return False
    if (h >> 19) & 3 == 1:  # reserved version
        return False
    if (h >> 17) & 3 != 1:  # layer bits 01 = Layer III
        return False
    if (h >> 12) & 15 == 15:
        return False
    if (h >> 10) & 3 == 3:
        return False
    # emphasis 2 is reserved, but the ISO reference decodes such frames
    # (l3-hecommon has one), so it is not a reason to reject a header
    return True


@njit
def hdr_any_layer(h):
    """True for a plausible MPEG audio header of any layer (used to name Layer I/II input)."""
    return (
        (h >> 21) & 0x7FF == 0x7FF
        and (h >> 19) & 3 != 1
        and (h >> 17) & 3 != 0
        and (h >> 12) & 15 != 15
        and (h >> 10) & 3 != 3
    )


@njit
def hdr_lost(h):
    """True for a placeholder entry (:data:`FRAME_LOST`), not a frame read from the stream."""
    return (h >> 32) & 1 != 0


@njit
def hdr_version(h):
    """0 = MPEG-1, 1 = MPEG-2 (LSF), 2 = MPEG-2.5."""
    v = (h >> 19) & 3
    if v == 3:
        return 0
    if v == 2:
        return 1
    return 2


@njit
def hdr_sr_index(h):
    """Index into :data:`SAMPLE_RATES` (0..8)."""
    return hdr_version(h) * 3 + ((h >> 10) & 3)


@njit
def hdr_lsf(h):
    return hdr_version(h) != 0


@njit
def hdr_crc(h):
    """True when a 16-bit CRC follows the header (protection_bit == 0)."""
    return (h >> 16) & 1 == 0


@njit
def hdr_mode(h):
    return (h >> 6) & 3


@njit
def hdr_mode_ext(h):
    return (h >> 4) & 3


@njit
def hdr_channels(h):
    return 1 if hdr_mode(h) == 3 else 2


@njit
def hdr_granules(h):
    return 1 if hdr_lsf(h) else 2


@njit
def hdr_samples(h):
    return 576 * hdr_granules(h)


@njit
def hdr_bitrate(h):
    """Bit rate in kbit/s, 0 for free format."""
    i = (h >> 12) & 15
    if hdr_lsf(h):
        return BITRATES_LSF[i]
    return BITRATES_MPEG1[i]


@njit
def hdr_side_info_size(h):
    if hdr_lsf(h):
        return 9 if hdr_channels(h) == 1 else 17
    return 17 if hdr_channels(h) == 1 else 32


@njit
def hdr_frame_size(h, free_size):
    """Frame length in bytes; ``free_size`` (without padding) is used for free format."""
    pad = (h >> 9) & 1
    br = hdr_bitrate(h)
    if br == 0:
        if free_size <= 0:
            return 0
        return free_size + pad
    sr = SAMPLE_RATES[hdr_sr_index(h)]
    k = 72 if hdr_lsf(h) else 144
    return k * br * 1000 // sr + pad


@njit
def read32(buf, pos):
    return (
        (np.int64(buf[pos]) << 24)
        | (np.int64(buf[pos + 1]) << 16)
        | (np.int64(buf[pos + 2]) << 8)
        | np.int64(buf[pos + 3])
    )


@njit
def _same_stream(h1, h2):
    """Headers that can belong to one stream: same version, layer, rate, free-ness."""
    m = 0xFFFE0C00  # sync, version, layer, sample rate
    if (h1 & m) != (h2 & m):
        return False
    return (((h1 >> 12) & 15) == 0) == (((h2 >> 12) & 15) == 0)


@njit
def _free_format_size(buf, pos, end, h):
    """Find the size (without padding) of a free-format frame by locating the next header."""
    pad = (h >> 9) & 1
    start = pos + 4 + hdr_side_info_size(h)
    stop = min(end - 4, pos + MAX_FRAME + 1)
    for q in range(start, stop + 1):
        if buf[q] == 0xFF:
            h2 = read32(buf, q)
            if (h2 & 0xFFFFFC00) == (h & 0xFFFFFC00) and hdr_valid(h2):
                return q - pos - pad
    return 0


# header bits that stay the same from frame to frame of one stream: sync, version,
# layer, protection, sample rate
STREAM_BITS = 0xFFFF0C00


@njit
def _confirmed(buf, q, end, h, depth):
    """True when a valid header of ``h``'s stream is at ``q`` (and, for ``depth`` 2,
    also right after that frame), or ``q`` is the end of the data."""
    for _ in range(depth):
        if q == end:
            return True
        if q + 4 > end:
            return False
        h2 = read32(buf, q)
        if not (hdr_valid(h2) and _same_stream(h, h2)) or hdr_bitrate(h2) == 0:
            return False
        q += hdr_frame_size(h2, 0)
    return True


@njit
def repair_header(buf, pos, end, hp, cbr):
    """The header of the frame at ``pos`` right after a frame with header ``hp``,
    when the one read there is damaged in its bit rate or padding (it does not
    lead to the next frame) or in at most 2 of its :data:`STREAM_BITS`; -1 when
    no repair leads to the next header (or the end of the data).

    The stream bits are taken from ``hp`` and the other bits from the damaged
    header.  The bit rate: in a CBR run (``cbr``: the frames before all had
    ``hp``'s bit rate) the previous one, if it leads to a header, else the
    frame's own; in VBR the frame's own if it leads to a header (the previous
    one instead if that gives a shorter frame confirmed by two headers: a
    flipped bit that doubles the bit rate also lands on a header) and no repair
    if it does not (the next header is more likely destroyed than this bit rate
    damaged, and a longer frame would swallow the next one); when the damaged
    bit rate index is not a bit rate (0 or 15), the lowest bit rate whose frame
    is followed by two headers.
    """
    raw = read32(buf, pos)
    if hdr_bitrate(hp) == 0 or popcount(np.uint64((raw ^ hp) & STREAM_BITS)) > 2:
        return -1
    if (raw & 0xFFFE0C00) == (hp & 0xFFFE0C00):
        base = raw  # same stream: only the bit rate or padding can be wrong
    else:
        base = (hp & STREAM_BITS) | (raw & ~STREAM_BITS & 0xFFFFFFFF)
    own = (base >> 12) & 15
    prev = (hp >> 12) & 15
    own_pad = (base >> 9) & 1
    plausible = 1 <= own <= 14
    own_size = hdr_frame_size(base, 0) if plausible else 0
    own_ok = plausible and pos + own_size <= end and _confirmed(buf, pos + own_size, end, base, 1)
    if own == prev and own_ok:
        return base
    if cbr:
        for p in range(2):
            hc = (base & ~0xF200) | (prev << 12) | ((own_pad ^ p) << 9)
            size = hdr_frame_size(hc, 0)
            if pos + size <= end and _confirmed(buf, pos + size, end, hc, 1):
                return hc
        return base if own_ok else -1
    if plausible:
        if not own_ok:
            return -1
        hc = (base & ~0xF000) | (prev << 12)
        size = hdr_frame_size(hc, 0)
        if size < own_size and _confirmed(buf, pos + size, end, hc, 2):
            return hc
        return base
    for b in range(1, 15):
        for p in range(2):
            hc = (base & ~0xF200) | (b << 12) | ((own_pad ^ p) << 9)
            size = hdr_frame_size(hc, 0)
            if pos + size <= end and _confirmed(buf, pos + size, end, hc, 2):
                return hc
    return -1


@njit
def _stream_goes_on(buf, pos, stop, end, hp, free_size):
    """Position of the first header of ``hp``'s stream followed by another one in
    ``pos..stop``, or -1."""
    for q in range(pos, min(stop, end - 4)):
        if buf[q] != 0xFF:
            continue
        h = read32(buf, q)
        if not (hdr_valid(h) and _same_stream(h, hp)):
            continue
        size = hdr_frame_size(h, free_size)
        if size >= 4 + hdr_side_info_size(h) and q + size + 4 <= end:
            h2 = read32(buf, q + size)
            if hdr_valid(h2) and _same_stream(h2, hp):
                return q
    return -1


# the state of a scan that goes on in parts (:func:`scan_frames_part`): an int64 array
_S_POS, _S_N, _S_SKIPPED, _S_TRUNCATED, _S_SKIPPED_AT_CUT, _S_OTHER, _S_FREE, _S_EXPECT, _S_RUN, _S_ON_AT, \
    _S_OFF_UNTIL = range(11)
SCAN_STATE_SIZE = 11


@njit
def scan_state(start):
    """A new scan state for :func:`scan_frames_part`, positioned at ``start``."""
    state = np.zeros(SCAN_STATE_SIZE, np.int64)
    state[_S_POS] = start
    state[_S_EXPECT] = -1
    state[_S_ON_AT] = -1
    return state


@njit
def scan_frames(buf, start, end, offsets, headers, sizes):
    """Locate the Layer III frames in ``buf[start:end]``.

    A header is accepted

    * right after the previous frame when it belongs to the same stream
      (version, layer, sample rate) and has the same bit rate; or
    * anywhere (a resynchronisation, or a change of bit rate or sample rate
      right after the previous frame) when the frame is followed by another
      valid header of the same stream, or ends the data.

    So a header whose bit-rate or rate bits are damaged (it would give a
    wrong frame length) is not trusted unless the next header confirms it.
    When the header right after the previous frame is not accepted as it is,
    :func:`repair_header` tries to mend it (a few flipped bits); ``headers``
    then holds the repaired header, which differs from the bytes at the
    frame's offset.
    Every loop step advances by at least one byte: the time is linear in the
    input size (a free-format header costs a search of at most ``MAX_FRAME``
    bytes, and only headers that can start a free-format stream trigger one).

    Parameters
    ----------
    buf : uint8 array, readable up to ``end + 4``
    offsets, headers, sizes : int64 arrays
        Filled with the frames found; the scan stops when they are full, so
        give them a capacity of ``(end - start) // MIN_ANY_FRAME + 1``.

    Returns
    -------
    n : int
        Number of frames.
    skipped : int
        Bytes skipped while searching for sync (junk, damage).
    truncated : int
        1 when the data ends inside a frame (the partial frame is not returned).
    other_layer : int
        Number of confirmed Layer I/II headers seen (to name such input).
    """
    state = scan_state(start)
    scan_frames_part(buf, end, end, offsets, headers, sizes, state)
    return scan_result(state)


@njit
def scan_result(state):
    """``(n, skipped, truncated, other_layer)`` of a finished scan (see :func:`scan_frames`)."""
    skipped = state[_S_SKIPPED]
    if state[_S_TRUNCATED]:
        skipped = state[_S_SKIPPED_AT_CUT]  # the cut frame's bytes are not junk
    return state[_S_N], skipped, state[_S_TRUNCATED], state[_S_OTHER]


@njit
def scan_frames_part(buf, stop, end, offsets, headers, sizes, state):
    """Go on with the scan of :func:`scan_frames` whose ``state`` (from
    :func:`scan_state`) is given, until its position reaches ``stop`` (the scan
    still reads ahead up to ``end`` to confirm frames); return True when the scan
    is finished (the data or the index arrays are exhausted), then
    :func:`scan_result` gives its result.  Scanning ``start..end`` in parts
    finds exactly what one :func:`scan_frames` call finds, and reads nothing
    before the position it starts a part at: the bytes behind can be dropped.
    """
    cap = offsets.shape[0]
    n = state[_S_N]
    skipped = state[_S_SKIPPED]
    truncated = state[_S_TRUNCATED]
    skipped_at_cut = state[_S_SKIPPED_AT_CUT]
    other_layer = state[_S_OTHER]
    free_size = state[_S_FREE]
    pos = state[_S_POS]
    expect = state[_S_EXPECT]  # position right after the last accepted frame
    run = state[_S_RUN]  # frames accepted in a row with the same bit rate
    on_at = state[_S_ON_AT]  # after a gap: where the previous stream goes on (-1: not known)
    off_until = state[_S_OFF_UNTIL]  # ... and up to where it was looked for in vain
    while pos + 4 <= end and n < cap and pos < stop:
        if pos == expect:
            h = read32(buf, pos)
            hp = headers[n - 1]
            if not (hdr_valid(h) and _same_stream(h, hp) and hdr_bitrate(h) == hdr_bitrate(hp)):
                hr = repair_header(buf, pos, end, hp, run >= 4)
                if hr >= 0:
                    size = hdr_frame_size(hr, 0)
                    run = run + 1 if hdr_bitrate(hr) == hdr_bitrate(hp) else 0
                    offsets[n] = pos
                    headers[n] = hr
                    sizes[n] = size
                    n += 1
                    pos += size
                    expect = pos
                    truncated = 0
                    continue
        if buf[pos] != 0xFF:
            pos += 1
            skipped += 1
            continue
        h = read32(buf, pos)
        if not hdr_valid(h):
            if pos != expect and hdr_any_layer(h) and other_layer < 1000000:
                other_layer += 1
            pos += 1
            skipped += 1
            continue
        size = hdr_frame_size(h, free_size)
        if hdr_bitrate(h) == 0 and not (
                free_size > 0 and (pos == expect or pos + size == end or (
                    pos + size + 4 <= end and (read32(buf, pos + size) & 0xFFFFFC00) == (h & 0xFFFFFC00)))):
            # free format without a known frame length (or one that does not lead to the
            # next header): find it from the next header, and take it only when the
            # header after that agrees too (a length found by a search confirms itself)
            size = 0
            fs = _free_format_size(buf, pos, end, h)
            if fs > 0:
                q = pos + fs + ((h >> 9) & 1)
                q2 = q + fs + ((read32(buf, q) >> 9) & 1)
                if q2 == end or (q2 + 4 <= end and (read32(buf, q2) & 0xFFFFFC00) == (h & 0xFFFFFC00)):
                    free_size = fs
                    size = fs + ((h >> 9) & 1)
        if size < 4 + hdr_side_info_size(h):
            pos += 1
            skipped += 1
            continue
        if pos + size > end:
            if pos == expect and truncated == 0:
                # the data ends inside this frame (or its header is damaged:
                # the search goes on, and a frame found later clears the flag)
                truncated = 1
                skipped_at_cut = skipped
            pos += 1
            skipped += 1
            continue
        ok = False
        if pos == expect and _same_stream(h, headers[n - 1]) and hdr_bitrate(h) == hdr_bitrate(headers[n - 1]):
            ok = True  # contiguous with the previous frame, same kind of frame
        elif pos + size + 4 <= end:
            h2 = read32(buf, pos + size)
            ok = hdr_valid(h2) and _same_stream(h, h2)
            if ok and n > 0 and not _same_stream(h, headers[n - 1]):
                # another stream than before (version, rate, free format): the header
                # after the next must agree too, and the stream before must not go on
                # nearby (patterns in the audio data can look like a stream of their own)
                if hdr_bitrate(h) != 0:
                    ok = _confirmed(buf, pos + size, end, h, 2)
                if ok:
                    # (the search remembers what it found, so each byte is searched once)
                    if on_at <= pos and off_until < pos + 1 + MAX_FRAME:
                        q = _stream_goes_on(buf, max(pos + 1, off_until), pos + 1 + MAX_FRAME, end,
                                            headers[n - 1], free_size)
                        if q >= 0:
                            on_at = q
                        else:
                            off_until = pos + 1 + MAX_FRAME
                    ok = on_at <= pos
        else:  # the frame ends the data (up to 3 bytes after it)
            ok = n == 0 or _same_stream(h, headers[n - 1])
        if not ok:
            pos += 1
            skipped += 1
            continue
        run = run + 1 if pos == expect and hdr_bitrate(h) == hdr_bitrate(headers[n - 1]) else 0
        on_at = -1
        off_until = 0
        offsets[n] = pos
        headers[n] = h
        sizes[n] = size
        n += 1
        pos += size
        expect = pos
        truncated = 0
    state[_S_N] = n
    state[_S_SKIPPED] = skipped
    state[_S_TRUNCATED] = truncated
    state[_S_SKIPPED_AT_CUT] = skipped_at_cut
    state[_S_OTHER] = other_layer
    state[_S_FREE] = free_size
    state[_S_POS] = pos
    state[_S_EXPECT] = expect
    state[_S_RUN] = run
    state[_S_ON_AT] = on_at
    state[_S_OFF_UNTIL] = off_until
    return not (pos + 4 <= end and n < cap)
