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


@njit
def scan_frames(buf, start, end, offsets, headers, sizes):
    """Locate the Layer III frames in ``buf[start:end]``.

    Parameters
    ----------
    buf : uint8 array, readable up to ``end + 4``
    offsets, headers, sizes : int64 arrays of capacity ``(end - start) // MIN_FRAME + 1``
        Filled with the frames found.

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
    n = 0
    skipped = 0
    truncated = 0
    other_layer = 0
    free_size = 0
    pos = start
    expect = -1  # position right after the last accepted frame
    while pos + 4 <= end:
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
        if hdr_bitrate(h) == 0 and (size <= 0 or pos + size + 4 > end or
                                    (read32(buf, pos + size) & 0xFFFFFC00) != (h & 0xFFFFFC00)):
            fs = _free_format_size(buf, pos, end, h)
            if fs > 0:
                free_size = fs
                size = fs + ((h >> 9) & 1)
            elif pos == expect and free_size > 0:
                size = free_size + ((h >> 9) & 1)
            else:
                size = 0
        if size < 4 + hdr_side_info_size(h):
            pos += 1
            skipped += 1
            continue
        if pos + size > end:
            if pos == expect:
                truncated = 1
                break
            pos += 1
            skipped += 1
            continue
        ok = False
        if pos == expect:
            ok = True  # contiguous with the previous frame
        elif pos + size == end:
            ok = n == 0 or _same_stream(h, headers[n - 1])
        elif pos + size + 4 <= end:
            h2 = read32(buf, pos + size)
            ok = hdr_valid(h2) and _same_stream(h, h2)
        if not ok:
            pos += 1
            skipped += 1
            continue
        offsets[n] = pos
        headers[n] = h
        sizes[n] = size
        n += 1
        pos += size
        expect = pos
    return n, skipped, truncated, other_layer
