"""Everything in an MP3 file that is not audio.

Two groups of things live here:

* **Container tags** around the audio: ID3v2 (at the start, possibly several,
  and appended at the end with a ``3DI`` footer), ID3v1 (the last 128 bytes),
  APEv1/APEv2 and Lyrics3 v1/v2.  :func:`find_tags` locates them and tells the
  frame scanner which byte range can hold audio.
* **Info frames** inside the audio: the Xing/Info tag with its LAME extension
  (:func:`parse_xing`) and the Fraunhofer VBRI tag (:func:`parse_vbri`).  Both
  sit in the payload of the first MPEG frame, which carries no audio.

It also holds the two CRC-16 variants found in MP3 files:

* :func:`crc16` -- the MPEG audio CRC (polynomial 0x8005, MSB first, initial
  value 0xFFFF; the catalogued name is CRC-16/CMS) that protects a Layer III
  header and side info.
* :func:`lame_crc16` -- the CRC LAME stores in its tag (CRC-16/ARC: the same
  polynomial, bit-reflected, i.e. 0xA001 LSB first, initial value 0).

Everything is pure Python and runs once per file; the only work that touches
more than a few kilobytes is slicing, so the cost does not grow with the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from bitstring import Bits

from .errors import InputError

__all__ = [
    "TagInfo",
    "XingTag",
    "VbriTag",
    "find_tags",
    "parse_xing",
    "parse_xing_damaged",
    "parse_vbri",
    "crc16",
    "lame_crc16",
]

# --------------------------------------------------------------------------
# Sizes and markers of the container tags
# --------------------------------------------------------------------------

_ID3V2_HEADER = 10          # "ID3" + version(2) + flags(1) + syncsafe size(4)
_ID3V2_FOOTER = 10          # "3DI" + the same nine bytes
_ID3V2_FLAG_FOOTER = 0x10   # ID3v2.4 flag: a footer follows the tag
_ID3V1_SIZE = 128
_ID3V1_EXT_SIZE = 227       # "TAG+" extended tag, directly before an ID3v1
_APE_FOOTER = 32            # APEv2 header and footer are both 32 bytes
_APE_FLAG_HAS_HEADER = 1 << 31
_APE_FLAG_IS_HEADER = 1 << 29
_LYRICS_BEGIN = b"LYRICSBEGIN"
_LYRICS_END_V1 = b"LYRICSEND"
_LYRICS_END_V2 = b"LYRICS200"
_LYRICS_V1_MAX_TEXT = 5100  # Lyrics3 v1: at most 5100 bytes of lyrics

# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TagInfo:
    """Where the container tags of a file are, and where the audio may be.

    Attributes
    ----------
    start : int
        Offset of the first byte after the leading ID3v2 tag(s).  ``0`` when
        the file does not start with a tag.
    end : int
        Offset one past the last byte before the trailing tags; ``len(buf)``
        when there are none.  ``buf[start:end]`` is the region the frame
        scanner should search; ``start <= end`` always holds.
    id3v2 : tuple of (int, int)
        ``(offset, total_size)`` of every ID3v2 tag found, in file order: the
        ones at the start and the ones appended at the end (found through
        their ``3DI`` footer).  ``total_size`` counts the 10-byte header and,
        for ID3v2.4 with the footer flag, the 10-byte footer.
    id3v1 : bool
        Whether a 128-byte ``TAG`` block is among the trailing tags
        (normally the very last thing in the file).  A 227-byte ``TAG+`` extended tag directly before it
        is counted as part of it.
    ape : tuple of (int, int) or None
        ``(offset, total_size)`` of an APEv1/APEv2 tag found through its
        ``APETAGEX`` footer; ``total_size`` includes the 32-byte header when
        the footer's flags announce one.
    lyrics3 : tuple of (int, int) or None
        ``(offset, total_size)`` of a Lyrics3 tag, from ``LYRICSBEGIN`` to the
        end of its ``LYRICSEND`` (v1) or ``LYRICS200`` (v2) marker.
    """

    start: int
    end: int
    id3v2: tuple
    id3v1: bool
    ape: tuple | None
    lyrics3: tuple | None


@dataclass(frozen=True)
class XingTag:
    """Contents of a Xing/Info tag and of its optional LAME extension.

    Every field but ``kind`` is ``None`` when it is absent (its flag is not
    set, there is no LAME extension) or when the frame ends before it.

    Attributes
    ----------
    kind : str
        ``"Xing"`` (written for VBR/ABR streams) or ``"Info"`` (CBR).
    frames : int or None
        Number of audio frames, not counting the frame holding the tag.
    bytes : int or None
        Stream size in bytes as stored by the encoder (LAME counts the tag
        frame but not any ID3v2 tag).
    toc : tuple of int or None
        The 100-entry seek table (byte positions scaled to 0..255).
    quality : int or None
        The Xing quality indicator (0 best .. 100 worst).
    encoder : str or None
        Encoder string of the LAME extension, e.g. ``"LAME3.100"``, stripped
        of NULs and spaces; ``None`` when there is no LAME extension.
    lame_revision : int or None
        Tag revision (high nibble of the byte after the encoder string).
    vbr_method : int or None
        Low nibble of that byte: 1 CBR, 2 ABR, 3..5 VBR methods, 8 CBR 2-pass,
        9 ABR 2-pass, 0 unknown.
    lowpass : int or None
        Lowpass frequency in Hz (the stored byte times 100); ``None`` when the
        byte is 0.
    delay : int or None
        Encoder delay in samples (12 bits): samples the encoder added at the
        start, LAME's 576.  A decoder's own delay (529 for the polyphase
        filterbank) is not included.
    padding : int or None
        Encoder padding in samples (12 bits) added at the end.  For LAME,
        ``frames * samples_per_frame == delay + samples + padding``.
    bitrate : int or None
        The ABR target bitrate, the CBR bitrate or the VBR minimum bitrate
        in kbps (255 means 255 or more).
    music_length : int or None
        Bytes from the first byte of the tag frame to the last byte of the
        last audio frame, as stored by the encoder.
    tag_crc_ok : bool or None
        Whether the CRC over the tag frame up to the CRC field, computed with
        :func:`lame_crc16`, matches the stored one; ``None`` when the frame is
        too short to hold the CRC or there is no LAME extension.
    """

    kind: str
    frames: int | None = None
    bytes: int | None = None
    toc: tuple | None = None
    quality: int | None = None
    encoder: str | None = None
    lame_revision: int | None = None
    vbr_method: int | None = None
    lowpass: int | None = None
    delay: int | None = None
    padding: int | None = None
    bitrate: int | None = None
    music_length: int | None = None
    tag_crc_ok: bool | None = None


@dataclass(frozen=True)
class VbriTag:
    """Contents of a Fraunhofer VBRI tag.

    Attributes
    ----------
    version : int
        VBRI version (1 for every known file).
    delay : int
        Encoder delay as stored (samples).
    quality : int
        Encoder quality indicator.
    bytes : int
        Stream size in bytes.
    frames : int
        Number of audio frames.
    toc : tuple of int
        Seek table: byte sizes of successive stretches of frames, already
        multiplied by the stored scale factor.  Entries cut off by the end of
        the frame are left out.
    """

    version: int
    delay: int
    quality: int
    bytes: int
    frames: int
    toc: tuple


# --------------------------------------------------------------------------
# CRCs
# --------------------------------------------------------------------------


def _make_msb_table(poly: int) -> tuple:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ poly) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
        table.append(crc)
    return tuple(table)


def _make_lsb_table(poly_reflected: int) -> tuple:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc >> 1) ^ poly_reflected) if crc & 1 else (crc >> 1)
        table.append(crc)
    return tuple(table)


_CRC16_MPEG_TABLE = _make_msb_table(0x8005)
_CRC16_ARC_TABLE = _make_lsb_table(0xA001)   # 0x8005 bit-reversed


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """MPEG audio CRC-16, as used for the Layer III header CRC.

    Polynomial 0x8005 (x^16 + x^15 + x^2 + 1), most significant bit first,
    initial value 0xFFFF, no final XOR (catalogued as CRC-16/CMS; the check
    value of ``b"123456789"`` is 0xAEE7).  For a protected Layer III frame
    the CRC runs over header bytes 2 and 3 and then the side info, and is
    stored big-endian in bytes 4-5 of the frame.

    The decoder's numba kernel has its own copy of this routine for speed;
    this one exists as the independent reference that the test suite checks
    the kernel against.

    Parameters
    ----------
    data : bytes-like
        Bytes to feed in.
    crc : int, optional
        Running value, to continue an earlier computation (default: the
        initial value 0xFFFF).

    Returns
    -------
    int
        The 16-bit CRC.
    """
    table = _CRC16_MPEG_TABLE
    crc &= 0xFFFF
    for byte in bytes(data):
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc


def lame_crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16 of the LAME tag (and of LAME's "music CRC").

    This is *not* the MPEG variant of :func:`crc16`: LAME uses the
    bit-reflected form of the same polynomial (0xA001, least significant bit
    first), initial value 0, no final XOR -- catalogued as CRC-16/ARC, check
    value 0xBB3D.  The tag CRC covers the tag frame from its first header
    byte up to (not including) the CRC field itself, which is 190 bytes for
    an MPEG-1 stereo frame without header CRC.

    Parameters
    ----------
    data : bytes-like
        Bytes to feed in.
    crc : int, optional
        Running value (default 0).

    Returns
    -------
    int
        The 16-bit CRC.
    """
    table = _CRC16_ARC_TABLE
    crc &= 0xFFFF
    for byte in bytes(data):
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


# --------------------------------------------------------------------------
# Container tags
# --------------------------------------------------------------------------


def _as_view(buf) -> memoryview:
    """A flat byte view of ``buf`` without copying it."""
    if isinstance(buf, str):
        raise InputError("expected bytes-like data, got str")
    try:
        view = memoryview(buf)
    except TypeError:
        raise InputError(
            f"expected bytes, bytearray, memoryview or a uint8 array, "
            f"got {type(buf).__name__}") from None
    if view.ndim != 1 or view.itemsize != 1:
        if not view.c_contiguous:
            raise InputError("expected a 1-D byte buffer")
        view = view.cast("B")
    return view


def _syncsafe(raw: bytes) -> int | None:
    """Value of a 4-byte syncsafe integer, or None if a byte has bit 7 set."""
    if len(raw) != 4 or any(b & 0x80 for b in raw):
        return None
    b3, b2, b1, b0 = Bits(raw).unpack("pad1, uint7, pad1, uint7, pad1, uint7, pad1, uint7")
    return (b3 << 21) | (b2 << 14) | (b1 << 7) | b0


def _id3v2_total(head: bytes, magic: bytes) -> int | None:
    """Total size of an ID3v2 tag from its 10-byte header or footer.

    Returns None when ``head`` is not a valid header/footer with ``magic``
    (``b"ID3"`` or ``b"3DI"``): versions must not be 0xFF and every size byte
    must be below 0x80.  The total counts the header and, for ID3v2.4 with
    the footer flag, the footer.  A footer always implies both.
    """
    if len(head) < _ID3V2_HEADER or head[:3] != magic:
        return None
    major, revision, flags = head[3], head[4], head[5]
    if major == 0xFF or revision == 0xFF:
        return None
    size = _syncsafe(head[6:10])
    if size is None:
        return None
    total = _ID3V2_HEADER + size
    if magic == b"3DI" or (major >= 4 and flags & _ID3V2_FLAG_FOOTER):
        total += _ID3V2_FOOTER
    return total


def _leading_id3v2(view: memoryview, tags: list) -> int:
    """Skip the ID3v2 tags at the start; return the first offset after them.

    A tag whose claimed size runs past the end of the file is *not* skipped
    and ends the search: nothing can follow it, so it is either a truncated
    file (no audio either way) or a corrupt size, and in the latter case
    leaving ``start`` at the tag lets the frame scanner find the audio that
    really follows.  A tag that ends inside the file is skipped whatever
    follows it (the frame scanner resynchronises over padding or garbage).
    """
    n = len(view)
    pos = 0
    while pos + _ID3V2_HEADER <= n:
        total = _id3v2_total(bytes(view[pos:pos + _ID3V2_HEADER]), b"ID3")
        if total is None or pos + total > n:
            break
        tags.append((pos, total))
        pos += total
    return pos


def _ape_at(view: memoryview, pos: int, floor: int) -> tuple | None:
    """An APE tag whose footer ends at ``pos``, as (offset, total_size)."""
    if pos - _APE_FOOTER < floor:
        return None
    footer = bytes(view[pos - _APE_FOOTER:pos])
    if footer[:8] != b"APETAGEX":
        return None
    version = int.from_bytes(footer[8:12], "little")
    size = int.from_bytes(footer[12:16], "little")   # items + footer
    flags = int.from_bytes(footer[20:24], "little")
    if flags & _APE_FLAG_IS_HEADER or size < _APE_FOOTER:
        return None                                   # a header, not a footer
    total = size
    if version >= 2000 and flags & _APE_FLAG_HAS_HEADER:
        total += _APE_FOOTER
    if pos - total < floor:
        return None
    return (pos - total, total)


def _lyrics3_at(view: memoryview, pos: int, floor: int) -> tuple | None:
    """A Lyrics3 v1/v2 tag ending at ``pos``, as (offset, total_size)."""
    marker = bytes(view[max(floor, pos - 9):pos])
    if marker == _LYRICS_END_V2:
        digits = bytes(view[max(floor, pos - 15):pos - 9])
        if len(digits) != 6 or not digits.isdigit():
            return None
        total = int(digits) + 15          # size field counts up to itself
        start = pos - total
        if start < floor or bytes(view[start:start + 11]) != _LYRICS_BEGIN:
            return None
        return (start, total)
    if marker == _LYRICS_END_V1:
        lo = max(floor, pos - 9 - _LYRICS_V1_MAX_TEXT - len(_LYRICS_BEGIN))
        window = bytes(view[lo:pos - 9])
        i = window.find(_LYRICS_BEGIN)
        if i < 0:
            return None
        return (lo + i, pos - (lo + i))
    return None


def _appended_id3v2_at(view: memoryview, pos: int, floor: int) -> tuple | None:
    """An ID3v2 tag whose ``3DI`` footer ends at ``pos``."""
    if pos - _ID3V2_FOOTER < floor:
        return None
    footer = bytes(view[pos - _ID3V2_FOOTER:pos])
    total = _id3v2_total(footer, b"3DI")
    if total is None or pos - total < floor:
        return None
    start = pos - total
    header = bytes(view[start:start + _ID3V2_HEADER])
    if _id3v2_total(header, b"ID3") != total:
        return None
    return (start, total)


def find_tags(buf) -> TagInfo:
    """Locate the container tags of an MP3 file.

    Leading ID3v2 tags are skipped one after another.  Trailing tags are
    peeled off from the end in whatever order they appear -- ID3v1 (with a
    ``TAG+`` block before it), APEv1/v2, Lyrics3 v1/v2 and ID3v2 with a
    footer -- until none matches; each kind except ID3v2 is taken once.
    Sizes are validated rather than trusted: a trailing tag whose size would
    reach into the leading tags or before the file is ignored, and a leading
    ID3v2 tag whose size runs past the end of the file is not skipped (see
    ``start`` below).  Nothing here raises for bad tag data.

    Parameters
    ----------
    buf : bytes, bytearray, memoryview or numpy.ndarray
        The whole file (a 1-D ``uint8`` array is fine).  It is not copied;
        only small slices are.

    Returns
    -------
    TagInfo
        Tag positions.  ``buf[info.start:info.end]`` is where audio can be.

    Raises
    ------
    InputError
        If ``buf`` is not a byte buffer.

    Notes
    -----
    An ID3v2 header that claims more bytes than the file holds (e.g. 200 MB
    in a 1 kB file) is treated as not a tag: ``start`` stays at its offset so
    that the frame scanner searches for audio there, and it is not listed in
    ``id3v2``.  Skipping it would leave no audio at all.  An ``ID3`` whose
    size bytes are not syncsafe (a byte >= 0x80) or whose version bytes are
    0xFF is not a tag either.
    """
    view = _as_view(buf)
    n = len(view)
    leading: list = []
    start = _leading_id3v2(view, leading)

    trailing: list = []
    id3v1 = False
    ape = None
    lyrics3 = None
    end = n
    while end > start:
        if not id3v1 and end - _ID3V1_SIZE >= start and \
                bytes(view[end - _ID3V1_SIZE:end - _ID3V1_SIZE + 3]) == b"TAG":
            id3v1 = True
            end -= _ID3V1_SIZE
            if end - _ID3V1_EXT_SIZE >= start and \
                    bytes(view[end - _ID3V1_EXT_SIZE:end - _ID3V1_EXT_SIZE + 4]) == b"TAG+":
                end -= _ID3V1_EXT_SIZE
            continue
        if ape is None:
            found = _ape_at(view, end, start)
            if found is not None:
                ape = found
                end = found[0]
                continue
        if lyrics3 is None:
            found = _lyrics3_at(view, end, start)
            if found is not None:
                lyrics3 = found
                end = found[0]
                continue
        found = _appended_id3v2_at(view, end, start)
        if found is not None:
            trailing.append(found)
            end = found[0]
            continue
        break

    return TagInfo(start=start, end=end,
                   id3v2=tuple(leading) + tuple(reversed(trailing)),
                   id3v1=id3v1, ape=ape, lyrics3=lyrics3)


def tags_in_gap(buf, lo: int, hi: int) -> tuple:
    """The bytes ``lo..hi`` between two audio frames less the container tags at their ends.

    Files joined with ``cat`` leave the tags of the files in the middle of the
    stream: the trailing tags of one (ID3v1, APE, Lyrics3, ID3v2 with a footer)
    followed by the leading ID3v2 tag(s) of the next.  Tags are peeled off from
    the end (an ID3v2 tag ending right there, then the trailing kinds) and ID3v2
    tags from the start; a tag is taken only when its size fits the gap exactly
    at that end.  Returns ``(lo2, hi2)``: what is left (``lo2 >= hi2`` when the
    gap is nothing but tags).
    """
    view = _as_view(buf)
    if hi - lo < _ID3V2_HEADER:
        return lo, hi
    while hi > lo:
        # an ID3v2 tag (the next file's leading tag) ending at hi
        region = bytes(view[lo:hi])
        found = None
        i = region.find(b"ID3")
        while i >= 0:
            if _id3v2_total(region[i:i + _ID3V2_HEADER], b"ID3") == len(region) - i:
                found = lo + i
                break
            i = region.find(b"ID3", i + 1)
        if found is None and hi - _ID3V1_SIZE >= lo and \
                bytes(view[hi - _ID3V1_SIZE:hi - _ID3V1_SIZE + 3]) == b"TAG":
            found = hi - _ID3V1_SIZE
            if found - _ID3V1_EXT_SIZE >= lo and \
                    bytes(view[found - _ID3V1_EXT_SIZE:found - _ID3V1_EXT_SIZE + 4]) == b"TAG+":
                found -= _ID3V1_EXT_SIZE
        for at in (_ape_at, _lyrics3_at, _appended_id3v2_at):
            if found is None:
                t = at(view, hi, lo)
                found = None if t is None else t[0]
        if found is not None:
            hi = found
            continue
        # an ID3v2 tag starting at lo (the previous file's tag, or one followed by junk)
        total = _id3v2_total(bytes(view[lo:lo + _ID3V2_HEADER]), b"ID3")
        if total is not None and lo + total <= hi:
            lo += total
            continue
        break
    return lo, hi


# --------------------------------------------------------------------------
# Info frames
# --------------------------------------------------------------------------

_XING_FLAG_FRAMES = 0x1
_XING_FLAG_BYTES = 0x2
_XING_FLAG_TOC = 0x4
_XING_FLAG_QUALITY = 0x8
_TOC_ENTRIES = 100

# Offsets inside the 36-byte LAME extension (after the Xing fields).
_LAME_ENCODER = 0           # 9 bytes, e.g. "LAME3.100"
_LAME_REV_METHOD = 9        # revision (4 bits) | VBR method (4 bits)
_LAME_LOWPASS = 10          # lowpass / 100
# 11..18: replay gain (peak 4 bytes, radio 2, audiophile 2)
# 19: encoding flags (4 bits) | ATH type (4 bits)
_LAME_BITRATE = 20          # ABR / CBR / VBR-min bitrate, kbps
_LAME_DELAY_PADDING = 21    # 3 bytes: delay (12 bits) | padding (12 bits)
# 24: misc (noise shaping, stereo mode, unwise, source rate)
# 25: mp3gain; 26..27: surround (3 bits) + preset (11 bits)
_LAME_MUSIC_LENGTH = 28     # 4 bytes
# 32..33: music CRC (lame_crc16 of the audio frames)
_LAME_TAG_CRC = 34          # 2 bytes: lame_crc16 of the frame up to here
_LAME_SIZE = 36


def _u32(data: bytes, pos: int) -> int | None:
    if pos + 4 > len(data):
        return None
    return int.from_bytes(data[pos:pos + 4], "big")


def _looks_like_encoder(raw: bytes) -> bool:
    """Printable ASCII beginning with a letter, NULs allowed (LAME, Lavc...)."""
    if len(raw) < 4 or not (chr(raw[0]).isalpha() and raw[0] < 0x80):
        return False
    return all(b == 0 or 0x20 <= b < 0x7F for b in raw)


def parse_xing(frame: bytes, side_info_size: int, crc: bool) -> XingTag | None:
    """Read a Xing/Info tag and its LAME extension from the first frame.

    Parameters
    ----------
    frame : bytes-like
        The whole first MPEG frame, header included.
    side_info_size : int
        Layer III side info size of that frame: 32 (MPEG-1 stereo),
        17 (MPEG-1 mono, MPEG-2/2.5 stereo) or 9 (MPEG-2/2.5 mono).
    crc : bool
        Whether the frame carries a 16-bit header CRC.

    Returns
    -------
    XingTag or None
        ``None`` when the frame holds no ``Xing``/``Info`` tag.  Fields that
        are absent, or that a truncated frame cuts off, are ``None``.

    Notes
    -----
    The tag begins right after the side info, at
    ``4 + (2 if crc) + side_info_size``.  LAME, however, ignores the CRC
    when placing it (it writes the tag at ``4 + side_info_size`` even in a
    CRC-protected frame, overwriting the end of the side info area, and
    FFmpeg reads it there), so with ``crc`` both offsets are tried.

    The LAME extension follows the Xing fields that are present (for LAME,
    which always sets all four flags, that is 120 bytes after the tag start,
    156 in an MPEG-1 stereo frame).  It is accepted only when its 9-byte
    encoder string is printable ASCII starting with a letter.
    """
    data = bytes(frame)
    base = 4 + side_info_size
    offsets = (base + 2, base) if crc else (base,)
    for pos in offsets:
        magic = data[pos:pos + 4]
        if magic in (b"Xing", b"Info"):
            break
    else:
        return None

    fields: dict = {"kind": magic.decode("ascii")}
    pos += 4
    flags = _u32(data, pos)
    if flags is None:
        return XingTag(**fields)
    pos += 4

    if flags & _XING_FLAG_FRAMES:
        fields["frames"] = _u32(data, pos)
        pos += 4
    if flags & _XING_FLAG_BYTES:
        fields["bytes"] = _u32(data, pos)
        pos += 4
    if flags & _XING_FLAG_TOC:
        if pos + _TOC_ENTRIES <= len(data):
            fields["toc"] = tuple(data[pos:pos + _TOC_ENTRIES])
        pos += _TOC_ENTRIES
    if flags & _XING_FLAG_QUALITY:
        fields["quality"] = _u32(data, pos)
        pos += 4

    fields.update(_parse_lame(data, pos))
    return XingTag(**fields)


def _parse_lame(data: bytes, lame: int) -> dict:
    """Fields of a LAME extension starting at ``data[lame]`` (may be cut)."""
    encoder = data[lame + _LAME_ENCODER:lame + _LAME_ENCODER + 9]
    if len(encoder) < 9 or not _looks_like_encoder(encoder):
        return {}
    out: dict = {"encoder": encoder.replace(b"\0", b"").decode("ascii").strip()}

    def byte(off):
        return data[lame + off] if lame + off < len(data) else None

    rev_method = byte(_LAME_REV_METHOD)
    if rev_method is not None:
        out["lame_revision"] = rev_method >> 4
        out["vbr_method"] = rev_method & 0x0F
    lowpass = byte(_LAME_LOWPASS)
    if lowpass:
        out["lowpass"] = lowpass * 100
    out["bitrate"] = byte(_LAME_BITRATE)

    dp = data[lame + _LAME_DELAY_PADDING:lame + _LAME_DELAY_PADDING + 3]
    if len(dp) == 3:
        out["delay"], out["padding"] = Bits(dp).unpack("uint12, uint12")

    out["music_length"] = _u32(data, lame + _LAME_MUSIC_LENGTH)

    crc_at = lame + _LAME_TAG_CRC
    if crc_at + 2 <= len(data):
        stored = int.from_bytes(data[crc_at:crc_at + 2], "big")
        out["tag_crc_ok"] = lame_crc16(data[:crc_at]) == stored
    return out


# --------------------------------------------------------------------------
# Damaged Info frames
# --------------------------------------------------------------------------

_LAME_CRC_FROM_TAG = 8 + 4 + 4 + _TOC_ENTRIES + 4 + _LAME_TAG_CRC  # all four Xing flags, as LAME writes
_SYNDROMES: dict = {}


def _lame_crc_syndromes(length: int) -> dict:
    """``{lame_crc16 difference: (byte, bit)}`` of every single-bit error in ``length`` bytes.

    CRC-16/ARC starts from 0 and has no final XOR, so it is linear: flipping
    one bit changes the CRC by the CRC of that bit alone, a different value
    for each of the ``8 * length`` positions (the polynomial's period is far
    longer), so one flipped bit can be found and undone.
    """
    if length not in _SYNDROMES:
        table = _CRC16_ARC_TABLE
        out = {}
        for bit in range(8):
            crc = table[1 << bit]  # the CRC of that byte alone
            for after in range(length):  # then ``after`` zero bytes
                out[crc] = (length - 1 - after, bit)
                crc = (crc >> 8) ^ table[crc & 0xFF]
        _SYNDROMES[length] = out
    return _SYNDROMES[length]


def _repair_lame_crc(data: bytes, crc_at: int) -> bytes | None:
    """``data`` with the one flipped bit before ``crc_at`` undone so that the LAME tag
    CRC stored at ``crc_at`` matches (``data`` itself when it matches, or when only
    the stored CRC has a flipped bit); ``None`` when no single bit explains it."""
    if crc_at + 2 > len(data):
        return None
    diff = lame_crc16(data[:crc_at]) ^ int.from_bytes(data[crc_at:crc_at + 2], "big")
    if diff & (diff - 1) == 0:
        return data
    hit = _lame_crc_syndromes(crc_at).get(diff)
    if hit is None:
        return None
    fixed = bytearray(data)
    fixed[hit[0]] ^= 1 << hit[1]
    return bytes(fixed)


def _bit_distance(a: bytes, b: bytes) -> int:
    return sum(bin(x ^ y).count("1") for x, y in zip(a, b)) + 8 * abs(len(a) - len(b))


def parse_xing_damaged(frame: bytes, side_info_size: int, crc: bool) -> XingTag | None:
    """:func:`parse_xing` for a frame that may be damaged.

    * A LAME tag whose CRC does not match because of one flipped bit in the
      first 190 bytes of the frame (header, side info, Xing fields, LAME
      fields) is repaired: the CRC tells which bit it was.
    * A tag whose ``Xing``/``Info`` magic has up to 2 flipped bits is read
      when the frame otherwise looks like an Info frame: its side information
      is all zero and the flags say which fields follow (or the repaired LAME
      CRC matches).
    * Otherwise the fields are read as they are (a ``tag_crc_ok`` of False
      says they may be wrong).
    """
    data = bytes(frame)
    base = 4 + side_info_size
    starts = (base + 2, base) if crc else (base,)
    tag = parse_xing(data, side_info_size, crc)
    if tag is not None and tag.tag_crc_ok:
        return tag
    for pos in starts:
        fixed = _repair_lame_crc(data, pos + _LAME_CRC_FROM_TAG)
        if fixed is not None and fixed is not data:
            t = parse_xing(fixed, side_info_size, crc)
            if t is not None and t.tag_crc_ok:
                return t
    if tag is not None:
        return tag
    # the magic itself is damaged
    side_info = data[4 + (2 if crc else 0):base]
    if any(side_info):
        return None
    for pos in starts:
        for magic in (b"Info", b"Xing"):
            if _bit_distance(data[pos:pos + 4], magic) <= 2:
                patched = data[:pos] + magic + data[pos + 4:]
                fixed = _repair_lame_crc(patched, pos + _LAME_CRC_FROM_TAG) or patched
                t = parse_xing(fixed, side_info_size, crc)
                flags = _u32(fixed, pos + 4)
                if t is not None and (t.tag_crc_ok or (flags is not None and flags <= 0xF)):
                    return t
    return None


_VBRI_OFFSET = 4 + 32
_VBRI_FIXED = 26            # "VBRI" .. frames per TOC entry


def parse_vbri(frame: bytes) -> VbriTag | None:
    """Read a Fraunhofer VBRI tag from the first frame.

    The tag sits 32 bytes after the header whatever the MPEG version and
    channel mode: ``"VBRI"``, version (2 bytes), delay (2), quality (2),
    stream bytes (4), frames (4), TOC entry count (2), TOC scale factor (2),
    bytes per entry (2), frames per entry (2), then the entries, all
    big-endian.

    Parameters
    ----------
    frame : bytes-like
        The whole first MPEG frame, header included.

    Returns
    -------
    VbriTag or None
        ``None`` when there is no ``VBRI`` tag or the frame ends inside its
        fixed 26-byte part.  TOC entries are multiplied by the scale factor;
        entries past the end of the frame, or of an unusable width (not 1 to
        4 bytes), are left out.
    """
    data = bytes(frame)
    head = data[_VBRI_OFFSET:_VBRI_OFFSET + _VBRI_FIXED]
    if len(head) < _VBRI_FIXED or head[:4] != b"VBRI":
        return None
    (version, delay, quality, nbytes, frames, entries, scale, width,
     _frames_per_entry) = Bits(head[4:]).unpack(
        "uint16, uint16, uint16, uint32, uint32, uint16, uint16, uint16, uint16")
    toc: tuple = ()
    if 1 <= width <= 4:
        table = data[_VBRI_OFFSET + _VBRI_FIXED:]
        count = min(entries, len(table) // width)
        toc = tuple(int.from_bytes(table[i * width:(i + 1) * width], "big") * scale
                    for i in range(count))
    return VbriTag(version=version, delay=delay, quality=quality,
                   bytes=nbytes, frames=frames, toc=toc)
