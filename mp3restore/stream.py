"""Opening a stream: input normalisation, tags, frame index, stream summary.

Everything here is done once per file and does not decode audio.
"""
from __future__ import annotations

import mmap
import os
import warnings
from dataclasses import dataclass, field, asdict
from stat import S_ISFIFO, S_ISREG, S_ISSOCK

import numpy as np

from . import frames as fr
from ._jit import njit
from .decoder import ST_CRC as _ST_CRC, ST_LOST as _ST_LOST, ST_OVERRUN as _ST_OVERRUN
from .decoder import ST_RESERVOIR as _ST_RESERVOIR, ST_SIDEINFO as _ST_SIDEINFO, _crc_ok
from .sideinfo import N_FIELDS, PART2_3_LENGTH, read_side_info
from .errors import (EmptyInputError, InputError, Mp3RestoreWarning, NotMpegAudioError, StreamError,
                     UnsupportedStreamError)

PAD = 64  # zero bytes kept after the data so kernels can peek past the end
# the kernels read at most this many bytes past the end of the audio data (a bit reader's
# 4-byte peek at the end of a frame's side information); PAD covers it
PEEK = 8

# Regular files (of at least MAP_MIN_SIZE bytes) are mapped copy-on-write instead of read, and
# the pages behind the frame scan and the decoder are given back (Stream.release), so memory
# does not grow with the file's length.  Only where pages can be given back (madvise
# MADV_DONTNEED); elsewhere (Windows) files are read.  Bytes, file objects and stdin are read.
MAP_MIN_SIZE = 1
_CAN_MAP = hasattr(mmap.mmap, "madvise") and hasattr(mmap, "MADV_DONTNEED")
PAGE = mmap.PAGESIZE
# bytes scanned (or checked for damage) between two releases of the pages behind
SCAN_PART = 1 << 20


class MappedFile:
    """A regular file mapped copy-on-write, seen as a uint8 array (``buf``).

    ``buf`` is ``n + min(PAD, room)`` long, ``room`` being the zero bytes the
    last page holds past the end of the file (the kernels may peek there); a
    file whose audio data ends closer to such a page's end than :data:`PEEK` is
    read instead (:func:`open_stream` checks it).  Writes to ``buf`` (repaired
    frame headers) stay in this process; their pages are kept (``pin``) when the
    others are given back (``release``).  As with any mapped file, a file that
    another process truncates while it is decoded ends the process (SIGBUS), and
    one changed in place is decoded partly changed.
    """

    def __init__(self, fh, n):
        self.n = n
        self._mm = mmap.mmap(fh.fileno(), n, access=mmap.ACCESS_COPY)
        room = (-n) % PAGE
        data = np.frombuffer(self._mm, np.uint8)
        # the rest of the last page is mapped too (zeros): the view reaches into it
        self.buf = np.lib.stride_tricks.as_strided(data, shape=(n + min(PAD, room),), strides=(1,))
        self._pinned = set()

    def pin(self, lo, hi):
        """Never give back the pages holding bytes ``lo..hi`` (they were written to)."""
        self._pinned.update(range(lo // PAGE, (hi - 1) // PAGE + 1))

    def release(self, lo, hi):
        """Give back the pages wholly inside bytes ``lo..hi`` (the file's bytes are read again
        if they are needed later)."""
        if self._mm is None:
            return
        a = -(-max(lo, 0) // PAGE)
        b = min(hi, self.n) // PAGE
        if self._pinned:
            pages = [p for p in sorted(self._pinned) if a <= p < b] + [b]
        else:
            pages = [b]
        for p in pages:
            if p > a:
                try:
                    self._mm.madvise(mmap.MADV_DONTNEED, a * PAGE, (p - a) * PAGE)
                except (OSError, ValueError):
                    return
            a = max(a, p + 1)

    def close(self):
        """Unmap the file (left to the garbage collector when views of ``buf`` are still alive)."""
        mm, self._mm = self._mm, None
        self.buf = None
        if mm is not None:
            try:
                mm.close()
            except BufferError:
                pass


def _map_file(name):
    """A :class:`MappedFile` of the regular file ``name``, or None when it is not mapped
    (too small, not a regular file, mapping not possible here): it is read then."""
    if not _CAN_MAP:
        return None
    try:
        if not S_ISREG(os.stat(name).st_mode):
            return None  # a pipe, a device: read (opening a FIFO here could block)
        with open(name, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not S_ISREG(st.st_mode) or st.st_size < max(MAP_MIN_SIZE, 1):
                return None
            return MappedFile(fh, st.st_size)
    except (OSError, ValueError):
        return None  # read_input gives the error, if there is one


def read_input(file) -> tuple[np.ndarray, int, str | None]:
    """Return ``(buf, n, name)``: the input's bytes in a uint8 array of ``n + PAD``.

    ``file`` is a path (str or os.PathLike), bytes-like, or a binary file
    object with ``read``.
    """
    name = None
    if isinstance(file, (str, os.PathLike)):
        name = os.fspath(file)
        try:
            with open(name, "rb") as fh:
                st = os.fstat(fh.fileno())
                if S_ISFIFO(st.st_mode) or S_ISSOCK(st.st_mode):  # a pipe (``<(...)``): read to its end
                    data = fh.read()
                    buf = np.zeros(len(data) + PAD, np.uint8)
                    buf[:len(data)] = np.frombuffer(data, np.uint8)
                    return buf, len(data), name
                size = st.st_size
                buf = np.zeros(size + PAD, np.uint8)
                got = fh.readinto(memoryview(buf)[:size])
        except FileNotFoundError:
            raise InputError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{name}: is a directory") from None
        except OSError as e:
            raise InputError(f"{name}: {e.strerror or e}") from None
        return buf, got, name
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = memoryview(file).cast("B")
    elif hasattr(file, "read"):
        name = getattr(file, "name", None)
        data = file.read()
        if isinstance(data, str):
            raise InputError("file object is in text mode: open it with 'rb'")
        data = memoryview(data).cast("B")
    elif isinstance(file, np.ndarray) and file.dtype == np.uint8:
        data = memoryview(np.ascontiguousarray(file).reshape(-1))
    else:
        raise InputError(f"cannot read MPEG audio from a {type(file).__name__}: give a path, bytes or a binary file")
    n = len(data)
    buf = np.zeros(n + PAD, np.uint8)
    buf[:n] = np.frombuffer(data, np.uint8)
    return buf, n, name if isinstance(name, str) else None


@dataclass(frozen=True)
class StreamInfo:
    """Summary of a stream, found without decoding audio (``mp3restore.info``)."""

    version: str  # "1", "2" or "2.5" (of the first frame; "mixed" when it changes)
    layer: int
    samplerate: int
    channels: int  # largest channel count in the stream (the output's)
    mode: str  # stereo / joint / dual / mono, or "mixed"
    bitrate_mode: str  # "cbr", "vbr", "abr" (LAME tag) or "free"
    bitrate: float  # average, kbit/s
    frames: int  # audio frames (the Xing/Info frame is not counted)
    samples: int  # samples per channel returned with gapless=True
    samples_decoded: int  # samples per channel of a full decode (gapless=False)
    duration: float  # seconds, of ``samples``
    encoder: str | None
    delay: int | None
    padding: int | None
    lowpass: int | None  # Hz, from the LAME tag
    crc: bool  # frames carry a CRC
    crc_errors: int  # frames whose CRC does not match
    tag: str | None  # "Xing", "Info", "VBRI" or None
    gapless: bool  # trimming information was found
    skipped_bytes: int  # junk or damaged bytes skipped between frames
    truncated: bool  # the data ends inside a frame
    tags: tuple = field(default_factory=tuple)  # names of ID3v2/ID3v1/APE/Lyrics3 tags found
    # frames concealed (muted, timing kept): lost headers, missing reservoir data, forbidden side
    # info, CRC mismatches, part2_3_length beyond the main data (see Stream.damage); found
    # without decoding. Frames whose Huffman data overruns are found when decoding (Mp3File.info
    # is updated then)
    concealed_frames: int = 0
    concealed_positions: tuple = field(default_factory=tuple)  # audio frame indices, the first 100
    # Xing/Info/VBRI tag frames after the first audio frame: each starts another encoded file
    # appended to this one; they are skipped, not decoded as a frame of silence (as FFmpeg does;
    # the gapless trim is the first file's delay and the last one's padding, the junctions keep
    # theirs)
    appended_streams: int = 0

    def as_dict(self):
        return asdict(self)


@dataclass
class Stream:
    """A parsed stream: bytes plus the frame index (audio frames only)."""

    buf: np.ndarray
    offsets: np.ndarray  # int64[n]
    sizes: np.ndarray  # int64[n]
    headers: np.ndarray  # int64[n]
    gr_start: np.ndarray  # int64[n + 1], first granule of each frame (output granule numbering)
    first: int  # first frame that produces audio (see _first_decodable)
    channels: int
    samplerate: int
    trim_start: int  # first sample kept with gapless=True
    trim_end: int  # one past the last sample kept with gapless=True
    info: StreamInfo
    name: str | None = None
    damage: np.ndarray | None = None  # int32[n]: status bits found without decoding (see _frame_damage)
    strict: bool = False  # raise StreamError at damage instead of concealing it
    label: str = "input"
    decode_concealed: set = field(default_factory=set)  # frames concealed that only decoding found
    source: MappedFile | None = None  # the mapping behind ``buf`` (a file mapped, not read)

    def release(self, lo, hi):
        """Give back the memory of bytes ``lo..hi`` of a mapped file (they are read again from
        the file if a later decode needs them); nothing for input held in memory."""
        if self.source is not None:
            self.source.release(lo, hi)

    @property
    def closed(self):
        return self.buf is None

    def close(self):
        """Drop the bytes (unmap a mapped file); the stream cannot be decoded afterwards."""
        self.buf = None
        source, self.source = self.source, None
        if source is not None:
            source.close()

    def note_status(self, f0, status):
        """Record the status bits :func:`~mp3restore.decoder.decode_frames` gave frames
        ``f0..f0 + len(status)``; in strict mode raise :class:`StreamError` at a concealed frame."""
        from .decoder import ST_CONCEAL

        bad = np.flatnonzero(np.asarray(status) & ST_CONCEAL)
        if len(bad) == 0:
            return
        bad = bad + f0
        bad = bad[bad >= self.first]
        if self.damage is not None:
            bad = bad[self.damage[bad] == 0]
        if len(bad) == 0:
            return
        if self.strict:
            f = int(bad[0])
            raise StreamError(f"{self.label}: frame {f - self.first} (byte {int(self.offsets[f])}) is damaged: "
                              f"{describe_status(int(np.asarray(status)[f - f0]))}")
        self.decode_concealed.update(int(f) for f in bad)

    def finish_decode(self):
        """After a decode: warn about (and add to ``info``) frames that decoding had to conceal
        beyond those ``info`` already reported."""
        if not self.decode_concealed:
            return
        known = set(int(f) for f in np.flatnonzero(self.damage)) if self.damage is not None else set()
        new = sorted(self.decode_concealed - known)
        self.decode_concealed.clear()
        if not new:
            return
        if self.damage is not None:
            self.damage[np.array(new, np.int64)] |= _ST_OVERRUN
        positions = tuple(int(f) - self.first for f in np.flatnonzero(self.damage[self.first:] != 0) + self.first)
        from dataclasses import replace

        self.info = replace(self.info, concealed_frames=len(positions), concealed_positions=positions[:100])
        warnings.warn(f"{self.label}: {len(new)} more frame(s) with damaged audio data concealed (muted) while "
                      f"decoding, at frame(s) {_list([f - self.first for f in new])}", Mp3RestoreWarning,
                      stacklevel=3)

    @property
    def nframes(self):
        """Frames in the index, including leading ones without audio (``first``)."""
        return len(self.offsets)

    @property
    def ngranules(self):
        return int(self.gr_start[-1])

    @property
    def nsamples(self):
        return self.ngranules * 576


def _frame_bytes(buf, off, size):
    return bytes(buf[off:off + size])


def _list(xs, limit=10):
    xs = list(xs)
    more = f" (+{len(xs) - limit} more)" if len(xs) > limit else ""
    return ", ".join(str(x) for x in xs[:limit]) + more


def open_stream(file, strict=False) -> Stream:
    """Read ``file`` and index its Layer III frames; raise a specific error if there are none.

    Damage is concealed and reported (:class:`StreamInfo` ``concealed_frames``,
    ``truncated``, ``crc_errors``, with a :class:`Mp3RestoreWarning`); with
    ``strict`` it raises :class:`StreamError` instead.
    """
    mapped = _map_file(os.fspath(file)) if isinstance(file, (str, os.PathLike)) else None
    if mapped is None:
        buf, n, name = read_input(file)
    else:
        buf, n, name = mapped.buf, mapped.n, os.fspath(file)
    try:
        return _open_stream(buf, n, name, mapped, strict)
    except BaseException:
        if mapped is not None:
            mapped.close()
        raise


# Files that are not raw MPEG audio, recognised by their first bytes (after any ID3v2 tag): their
# data can hold byte patterns that look like frame headers, so a frame scan alone would report
# Layer I/II or decode noise.  They are named unless Layer III frames fill most of the file
# (_open_stream).  (offset, magic, what it is)
_CONTAINERS = (
    (0, b"fLaC", "a FLAC file"),
    (0, b"OggS", "an Ogg file (Vorbis, Opus or FLAC)"),
    (4, b"ftyp", "an MP4/M4A file (ISO base media)"),
    (0, b"\x1aE\xdf\xa3", "a Matroska/WebM file"),
    (0, b"0&\xb2u\x8ef\xcf\x11", "an ASF/WMA file"),
    (0, b"MAC ", "a Monkey's Audio file"),
    (0, b"wvpk", "a WavPack file"),
    (0, b"caff", "a Core Audio file"),
    (0, b".snd", "a Sun/NeXT audio file"),
    (0, b"MThd", "a MIDI file"),
)
_WAVE_MPEG = (0x0050, 0x0055)  # WAVE_FORMAT_MPEG, WAVE_FORMAT_MPEGLAYER3 (RFC 2361)


def _foreign_container(head: bytes) -> str | None:
    """What the file is when its first bytes ``head`` (up to 4 KB from the audio data's
    start) show a container or format that is not MPEG audio, else None.  RIFF: a WAVE file
    whose format tag is MPEG, and RIFF RMP3, are MPEG audio (the scan skips the RIFF chunks);
    other WAVE files, AIFF and AVI are not."""
    for off, magic, what in _CONTAINERS:
        if head[off:off + len(magic)] == magic:
            return what
    if head[:4] == b"\x7f\xfe\x80\x01":
        return "a DTS stream"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "an AIFF file"
    if head[:4] != b"RIFF":
        return None
    kind = head[8:12]
    if kind == b"RMP3":
        return None
    if kind != b"WAVE":
        return f"a RIFF {kind.decode('latin-1').strip() or '?'} file"
    pos = 12
    while pos + 8 <= len(head):
        cid, size = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        if cid == b"fmt ":
            if pos + 10 > len(head):
                return None
            tag = int.from_bytes(head[pos + 8:pos + 10], "little")
            if tag == 0xFFFE and pos + 34 <= len(head):  # WAVE_FORMAT_EXTENSIBLE: the subformat's first two bytes
                tag = int.from_bytes(head[pos + 32:pos + 34], "little")
            if tag in _WAVE_MPEG:
                return None
            return "a WAV file of " + ("PCM audio" if tag in (1, 3, 0xFFFE) else f"audio format 0x{tag:04x}")
        pos += 8 + size + (size & 1)
    return None  # no format chunk in the first bytes: leave it to the scan


def _cut_first_frame(buf, start, end) -> int:
    """The size of the Layer III frame whose header starts ``buf[start:end]`` when the data
    ends inside it (a file cut short), else 0."""
    if end - start < 4:
        return 0
    h = int(fr.read32(buf, start))
    if not fr.hdr_valid(h) or fr.hdr_bitrate(h) == 0:
        return 0
    size = int(fr.hdr_frame_size(h, 0))
    return size if start + size > end else 0


def _codec_mark(head: bytes) -> str | None:
    """The codec whose stream ``head`` starts like by its first two bytes (raw ADTS AAC,
    AC-3), else None.  Named only when no Layer III frame was found: two bytes are too short a
    mark to reject a file for (a damaged MP3 can start so, and its frames still decode)."""
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:  # 12 sync bits, layer 00
        return "an ADTS AAC stream"
    if head[:2] == b"\x0b\x77":
        return "an AC-3 or E-AC-3 stream"
    return None


def _text_hint(head: bytes) -> str:
    """``"; it is text"`` (naming an HTML page) when ``head`` is 512 bytes of printable ASCII,
    as a web page or error message saved under an .mp3 name is."""
    if not head or not all(b in (9, 10, 13) or 32 <= b < 127 for b in head):
        return ""
    lower = head.lower()
    return "; it is text" + (": an HTML page" if b"<html" in lower or b"<!doctype" in lower else "")


def _open_stream(buf, n, name, mapped, strict):
    from .tags import find_tags, parse_vbri, parse_xing_damaged

    label = name or "input"
    if n == 0:
        raise EmptyInputError(f"{label}: empty input")
    tags = find_tags(memoryview(buf)[:n])
    start, end = tags.start, tags.end
    tag_names = []
    if tags.id3v2:
        tag_names.append("ID3v2")
    if tags.ape:
        tag_names.append("APE")
    if tags.lyrics3:
        tag_names.append("Lyrics3")
    if tags.id3v1:
        tag_names.append("ID3v1")
    if end <= start:
        raise EmptyInputError(f"{label}: only tags ({', '.join(tag_names) or 'none'}), no audio")
    head = bytes(buf[start:min(end, start + 4096)])  # the first bytes: what else the input may be
    foreign = _foreign_container(head)
    if mapped is not None and end + PEEK > len(buf):
        # the audio data ends too close to the end of the file's last page for the kernels'
        # peeks: read the file instead (rare: the end of the file's size in a page)
        buf = np.zeros(n + PAD, np.uint8)
        buf[:n] = mapped.buf[:n]
        mapped.close()
        mapped = None
    cap = (end - start) // fr.MIN_ANY_FRAME + 2
    offsets = np.empty(cap, np.int64)
    headers = np.empty(cap, np.int64)
    sizes = np.empty(cap, np.int64)
    if mapped is None:
        count, skipped, truncated, other = fr.scan_frames(buf, start, end, offsets, headers, sizes)
        repaired = _repair_headers(buf, offsets[:count], headers[:count], None)
    else:
        # in parts, giving back the pages behind (the scan reads nothing before its position)
        state = fr.scan_state(start)
        parts = []
        done = False
        k = 0
        while not done:
            lo = int(state[fr._S_POS])
            done = fr.scan_frames_part(buf, lo + SCAN_PART, end, offsets, headers, sizes, state)
            c = int(state[fr._S_N])
            parts.append(_repair_headers(buf, offsets[k:c], headers[k:c], mapped) + k)
            k = c
            mapped.release(0 if lo == start else lo, int(state[fr._S_POS]))
        count, skipped, truncated, other = (int(x) for x in fr.scan_result(state))
        repaired = np.concatenate(parts)
    # another format's file: named, unless its frames fill most of it (MP3 data behind a wrong
    # header, as some recorders write a PCM WAV header before MP3 frames: it decodes)
    if foreign is not None and int(sizes[:count].sum()) < (end - start) // 2:
        raise NotMpegAudioError(f"{label}: {foreign}, not MPEG audio (mp3restore reads MP3 streams: "
                                "extract or convert the audio first, e.g. with ffmpeg)")
    if count == 0:
        codec = _codec_mark(head)
        # Layer I/II: their headers, at least one per 2.5 KB (the largest Layer II frame is
        # 1.7 KB; other data passes for such a header about once per 8 KB), unless the data
        # starts like another codec's stream (AAC data has more of them)
        if other >= 2 and other * 2500 >= end - start and codec is None:
            raise UnsupportedStreamError(f"{label}: MPEG audio Layer I/II, only Layer III is supported")
        if tag_names:
            raise EmptyInputError(f"{label}: only tags ({', '.join(tag_names)}), no MPEG audio frames")
        first = _cut_first_frame(buf, start, end)
        if first:
            raise EmptyInputError(f"{label}: no complete frame: the data ends inside its first frame "
                                  f"({end - start} of {first} bytes)")
        hint = f"; it starts like {codec}" if codec else _text_hint(head[:512])
        raise NotMpegAudioError(f"{label}: not MPEG audio (no Layer III frame found{hint})")
    offsets = offsets[:count].copy()
    headers = headers[:count].copy()
    sizes = sizes[:count].copy()
    # a frame at the very start whose successor's header is destroyed (so it was not confirmed)
    if offsets[0] > start:
        lead = _leading_frames(buf, start, int(offsets[0]), int(headers[0]), int(sizes[0]))
        if lead:
            skipped -= sum(x[2] for x in lead)
            offsets = np.concatenate([np.array([x[0] for x in lead], np.int64), offsets])
            headers = np.concatenate([np.array([x[1] for x in lead], np.int64), headers])
            sizes = np.concatenate([np.array([x[2] for x in lead], np.int64), sizes])
    # frames whose header was destroyed: placeholders, so the timing is kept
    gaps = _junk_gaps(buf, offsets, sizes)
    gaps_before = sum(hi - lo for _, lo, hi in gaps)
    offsets, headers, sizes = _fill_gaps(buf, offsets, headers, sizes, gaps, end, bool(truncated))

    # Xing / Info / VBRI tag frame: parsed, never decoded as audio
    h0 = int(headers[0])
    si0 = int(fr.hdr_side_info_size(h0))
    crc0 = bool(fr.hdr_crc(h0))
    first_frame = _frame_bytes(buf, offsets[0], sizes[0])
    xing = parse_xing_damaged(first_frame, si0, crc0)
    vbri = parse_vbri(first_frame) if xing is None else None
    recovered_tag = False
    if xing is not None or vbri is not None:
        if len(offsets) == 1:
            raise EmptyInputError(f"{label}: only a {'VBRI' if vbri else xing.kind} tag frame, no audio frames")
        offsets, headers, sizes = offsets[1:], headers[1:], sizes[1:]
    elif offsets[0] > start:
        # the tag frame's header may be destroyed: look for the tag in the bytes before the first frame
        c = _find_lost_tag_frame(buf, start, int(offsets[0]), si0)
        if c is not None:
            xing = parse_xing_damaged(_frame_bytes(buf, c, int(offsets[0]) - c), si0, False)
            skipped -= int(offsets[0]) - c
            recovered_tag = True

    tagged = xing is not None or vbri is not None
    # tag frames further on start another encoded file appended to this one (`cat a.mp3 b.mp3`):
    # not audio (as audio their zero side info is a frame of silence, a gap in the middle)
    inner = _inner_tag_frames(buf, offsets, sizes, headers, mapped)
    end_padding = None  # the last appended file's padding: the stream ends with that file
    if len(inner):
        if len(inner) == len(offsets):
            raise EmptyInputError(f"{label}: only tag frames, no audio frames")
        k = int(inner[-1])
        hk = int(headers[k])
        last_tag = parse_xing_damaged(_frame_bytes(buf, offsets[k], sizes[k]), int(fr.hdr_side_info_size(hk)),
                                      bool(fr.hdr_crc(hk)))
        end_padding = last_tag.padding if last_tag is not None else None
        keep = np.ones(len(offsets), np.bool_)
        keep[inner] = False
        offsets, headers, sizes = offsets[keep], headers[keep], sizes[keep]
    first = _first_decodable(buf, offsets, sizes, headers, tagged)
    ngr = np.where((headers >> 19) & 3 == 3, 2, 1).astype(np.int64)
    ngr[:first] = 0  # leading frames without their reservoir data give no audio
    gr_start = np.zeros(len(headers) + 1, np.int64)
    np.cumsum(ngr, out=gr_start[1:])
    total = int(gr_start[-1]) * 576

    nch = np.where((headers >> 6) & 3 == 3, 1, 2)
    channels = int(nch.max())
    sr = int(fr.SAMPLE_RATES[fr.hdr_sr_index(int(headers[first]))])
    spf = 576 * int(ngr[first])
    nframes = len(headers) - first

    # gapless trimming (LAME/Info tag), as mpg123 and FFmpeg do it
    trim_start, trim_end, gapless = 0, total, False
    if xing is not None and xing.delay is not None and xing.padding is not None:
        trim_start, trim_end = _gapless_range(xing, nframes, spf, total, end_padding)
        gapless = True

    # damage found without decoding audio
    damage = _damage(buf, offsets, sizes, headers, first, mapped)
    crc_errors = int(np.count_nonzero(damage & _ST_CRC))
    any_crc = bool(np.any(((headers >> 16) & 1) == 0))
    concealed = np.flatnonzero(damage[first:])
    lost = int(np.count_nonzero(damage[first:] & _ST_LOST))
    problems = []
    if len(concealed):
        what = [f"{n} {name}" for n, name in ((lost, "lost (header destroyed)"),
                                             (np.count_nonzero(damage[first:] & _ST_CRC), "CRC mismatch"),
                                             (np.count_nonzero(damage[first:] & ~(_ST_LOST | _ST_CRC)),
                                              "damaged side info or reservoir")) if n]
        problems.append(f"{len(concealed)} damaged frame(s) concealed (muted, timing kept: "
                        f"{', '.join(what)}) at frame(s) {_list(concealed)}")
    if len(repaired):
        problems.append(f"{len(repaired)} frame header(s) with damaged bits repaired from their neighbours")
    if truncated:
        problems.append("the data ends inside a frame (truncated): decoded up to the last complete frame")
    if gaps_before and strict:
        problems.append(f"{gaps_before} byte(s) of junk between frames")
    if recovered_tag and strict:
        problems.append("the header of the Xing/Info tag frame is damaged")
    rate_fields = (headers[first:] >> 10) & 3 | ((headers[first:] >> 19) & 3) << 2  # sampling frequency, version
    changes = np.flatnonzero(rate_fields[1:] != rate_fields[:-1]) + 1
    if len(changes):
        f = int(changes[0])
        to = int(fr.SAMPLE_RATES[fr.hdr_sr_index(int(headers[first + f]))])
        problems.append(f"the sample rate changes from {sr} Hz to {to} Hz at frame {f} (another stream "
                        f"appended?); frames at other rates than {sr} Hz are decoded as they are, so they play at the "
                        "wrong speed")
    if problems:
        if strict:
            raise StreamError(f"{label}: {problems[0]}")
        for text in problems:
            warnings.warn(f"{label}: {text}", Mp3RestoreWarning, stacklevel=4)

    bitrates = _bitrates(headers)
    if np.all(bitrates == 0):
        bmode = "free"
    elif xing is not None and xing.kind == "Info":
        bmode = "cbr"
    elif xing is not None and xing.vbr_method == 2:  # LAME: ABR
        bmode = "abr"
    elif xing is not None or vbri is not None:
        bmode = "vbr"
    else:
        bmode = "cbr" if np.all(bitrates == bitrates[0]) else "vbr"
    audio_bytes = int(sizes.sum())
    dur_all = total / sr
    avg = audio_bytes * 8 / dur_all / 1000 if dur_all > 0 else 0.0
    versions = {int(fr.hdr_version(int(h))) for h in np.unique(headers & 0x180000)}
    modes = np.unique((headers >> 6) & 3)
    ns = trim_end - trim_start
    info = StreamInfo(
        version=fr.VERSION_NAMES[versions.pop()] if len(versions) == 1 else "mixed",
        layer=3,
        samplerate=sr,
        channels=channels,
        mode=fr.MODE_NAMES[int(modes[0])] if len(modes) == 1 else "mixed",
        bitrate_mode=bmode,
        bitrate=round(avg, 3),
        frames=nframes,
        samples=ns,
        samples_decoded=total,
        duration=ns / sr,
        encoder=(xing.encoder if xing is not None else None),
        delay=(xing.delay if xing is not None else (vbri.delay if vbri is not None else None)),
        padding=(xing.padding if xing is not None else None),
        lowpass=(xing.lowpass if xing is not None else None),
        crc=any_crc,
        crc_errors=crc_errors,
        tag=(xing.kind if xing is not None else ("VBRI" if vbri is not None else None)),
        gapless=gapless,
        skipped_bytes=int(skipped),
        truncated=bool(truncated),
        tags=tuple(tag_names),
        concealed_frames=len(concealed),
        concealed_positions=tuple(int(f) for f in concealed[:100]),
        appended_streams=len(inner),
    )
    return Stream(buf, offsets, sizes, headers, gr_start, first, channels, sr, trim_start, trim_end, info, name,
                  damage=damage, strict=bool(strict), label=label, source=mapped)


def _repair_headers(buf, offsets, headers, mapped):
    """Write the headers the scanner repaired (a few flipped bits) into the buffer, so the
    CRC check, the decoder and the inspection tools all see them; return their indices.
    (The pages of a mapped file written to are kept when the others are given back.)"""
    raw = _be32(buf, offsets)
    repaired = np.flatnonzero(raw != headers)
    for i in repaired:
        off = int(offsets[i])
        if mapped is not None:
            mapped.pin(off, off + 4)
        buf[off:off + 4] = np.frombuffer(int(headers[i]).to_bytes(4, "big"), np.uint8)
    return repaired


def describe_status(st):
    """Words for the status bits of :func:`~mp3restore.decoder.decode_frames`."""
    names = ((_ST_CRC, "CRC mismatch"), (_ST_RESERVOIR, "bit reservoir data missing"),
             (_ST_SIDEINFO, "forbidden side information"), (_ST_OVERRUN, "Huffman data overrun"),
             (_ST_LOST, "header destroyed (frame lost)"))
    return ", ".join(n for bit, n in names if st & bit) or "ok"


def _gapless_range(xing, nframes, spf, total, end_padding=None):
    """``(trim_start, trim_end)`` from a LAME tag's delay and padding, kept sane for any values.
    ``end_padding``: the padding of the last file appended to this one (from its own tag), used
    instead of the first tag's when given.

    The tag's frame count is used only when it can be right: when it is
    smaller than the frames in the file (damage, or frames appended) or the
    tag's CRC does not match, the file's own count is used; a larger count
    (a truncated file) puts the end past the decoded samples, so nothing is
    cut there.  A delay or padding larger than the stream leaves an empty
    range, never an error.
    """
    nfr = nframes
    if xing.frames and xing.frames > nframes and xing.tag_crc_ok is not False:
        nfr = xing.frames
    start_s = min(xing.delay + 529, total)
    end_s = nfr * spf - (xing.padding if end_padding is None else end_padding) + 529
    end_s = max(start_s, min(end_s, total))
    return start_s, end_s


_MAGIC = {m: int.from_bytes(m, "big") for m in (b"Xing", b"Info", b"VBRI")}


def _inner_tag_frames(buf, offsets, sizes, headers, mapped=None):
    """Indices of the frames that are Xing/Info/VBRI tag frames (int64, usually none).

    A tag frame has its magic right after the side info (``4 + si``, or
    ``6 + si`` with a CRC; VBRI at byte 36) and all-zero side info before it,
    which no audio frame that carries data has.  Checked on many frames at
    once: four bytes per frame, then the zero test on the few candidates; in
    parts for a mapped file (:func:`_parts`)."""
    found = [_tag_frames_in(buf, offsets[f:g], sizes[f:g], headers[f:g]) + f
             for f, g in _parts(offsets, 0, mapped)]
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def _be32(buf, pos):
    """The big-endian 32-bit words at byte positions ``pos`` (int64 array) of ``buf``."""
    return (buf[pos].astype(np.int64) << 24) | (buf[pos + 1].astype(np.int64) << 16) | \
        (buf[pos + 2].astype(np.int64) << 8) | buf[pos + 3].astype(np.int64)


def _tag_frames_in(buf, offsets, sizes, headers):
    """:func:`_inner_tag_frames` of one part (indices into it)."""
    h = headers
    real = ((h >> 32) & 1) == 0
    lsf = ((h >> 19) & 3) != 3
    mono = ((h >> 6) & 3) == 3
    crc = ((h >> 16) & 1) == 0
    si = np.where(lsf, np.where(mono, 9, 17), np.where(mono, 17, 32)).astype(np.int64)
    ends = offsets + sizes
    found = np.zeros(len(offsets), np.bool_)
    xing = (b"Xing", b"Info")
    # where parse_xing / parse_vbri look: after the side info (with a CRC also 2 bytes on), byte 36
    for pos, kinds, where in ((offsets + 4 + si, xing, real), (offsets + 6 + si, xing, real & crc),
                              (offsets + 36, (b"VBRI",), real)):
        ok = where & (pos + 4 <= ends)
        p = np.where(ok, pos, 0)
        hit = ok & np.isin(_be32(buf, p), [_MAGIC[k] for k in kinds])
        for f in np.flatnonzero(hit & ~found):
            lo = int(offsets[f]) + (6 if crc[f] else 4)
            if not np.any(buf[lo:int(pos[f])]):
                found[f] = True
    return np.flatnonzero(found)


def _find_lost_tag_frame(buf, start, off0, si):
    """Start of a Xing/Info tag frame whose header is destroyed, in the bytes before the first frame.

    The tag follows the side info (``4 + si`` bytes into the frame, as LAME
    writes it), and the frame must end where the first audio frame begins and
    have a length a frame of that stream can have.
    """
    sizes = _frame_sizes(fr.read32(buf, off0))
    lo = max(start, off0 - fr.MAX_FRAME)
    region = bytes(buf[lo:off0])
    for magic in (b"Info", b"Xing"):
        m = region.rfind(magic)
        if m < 0:
            continue
        c = lo + m - 4 - si
        if c < start or off0 - c not in sizes:
            continue
        from .tags import parse_xing_damaged

        tag = parse_xing_damaged(_frame_bytes(buf, c, off0 - c), si, False)
        if tag is not None and (tag.encoder is not None or tag.frames is not None):
            return c
    return None


def _leading_frames(buf, start, off0, h0, s0):
    """Frames before the first confirmed one (at ``off0``): a valid header of the same
    stream right at ``start`` (the frame was not confirmed because the header after it
    is destroyed), then what :func:`_gap_frames` infers up to ``off0``."""
    h = int(fr.read32(buf, start))
    if not (fr.hdr_valid(h) and _same_stream(h, h0)) or fr.hdr_bitrate(h) == 0:
        return []
    size = int(fr.hdr_frame_size(h, 0))
    if size < 4 + int(fr.hdr_side_info_size(h)) or start + size > off0:
        return []
    # the first frame may be a Xing frame, whose length says nothing about the audio frames
    return [(start, h, size)] + _gap_frames(buf, start + size, off0, h, s0, h0, s0)


def _junk_gaps(buf, offsets, sizes):
    """``[(i, lo, hi)]``: the bytes ``lo..hi`` between frame ``i`` and frame ``i + 1`` that
    are not container tags (those of files joined with ``cat`` are skipped), non-empty only."""
    from .tags import tags_in_gap

    ends = offsets[:-1] + sizes[:-1]
    gaps = []
    for i in np.flatnonzero(ends != offsets[1:]):
        lo, hi = tags_in_gap(buf, int(ends[i]), int(offsets[i + 1]))
        if lo < hi:
            gaps.append((int(i), lo, hi))
    return gaps


def _avg_frame_size(h):
    """Average length in bytes of frames with header ``h`` (padding spread out); 0 for free format."""
    br = int(fr.hdr_bitrate(h))
    if br == 0:
        return 0.0
    return (72000.0 if fr.hdr_lsf(h) else 144000.0) * br / int(fr.SAMPLE_RATES[fr.hdr_sr_index(h)])


def _same_stream(h1, h2):
    return bool(fr._same_stream(h1, h2))


def _placeholders(e, r, k, h):
    """``k`` placeholder frames (header ``h`` flagged :data:`~mp3restore.frames.FRAME_LOST`) tiling
    ``r`` bytes from ``e``."""
    cuts = [e + (r * j) // k for j in range(k + 1)]
    hh = (int(h) & 0xFFFFFFFF) | int(fr.FRAME_LOST)
    return [(cuts[j], hh, cuts[j + 1] - cuts[j]) for j in range(k)]


def _frame_sizes(h):
    """Every length a frame of ``h``'s version and sample rate can have (bit rates 1..14, padding)."""
    base = int(h) & 0xFFFF0DFF
    return {int(fr.hdr_frame_size(base | (b << 12) | (p << 9), 0)) for b in range(1, 15) for p in (0, 1)}


def _gap_frames(buf, e, g, hp, sp, hn=None, sn=None, cbr_stream=True):
    """The frames to put in the gap ``e..g`` after a frame (header ``hp``, size ``sp``)
    and before the next one (``hn``, ``sn``; ``None`` after the last frame).

    Same bit rate on both sides, or free format: the gap holds ``k`` frames
    when its length is within 3 bytes of ``k`` average frame lengths of that
    bit rate (padding); else, in a CBR stream (``cbr_stream``), the whole
    frames that fit (junk was inserted).  Different
    bit rates (VBR): frames in the gap with a valid header of the stream are
    taken as they are (the header after them is the one destroyed); the rest is
    one frame when its length is one a frame can have, else
    ``round(rest / mean(sp, sn))`` frames.  Different sample rates or versions
    (a new stream begins): nothing is inferred.  After the last frame (a tail
    of junk is common), only a tail of exactly one frame's length, or in a CBR
    stream within a byte of whole frames, is taken for lost frames.
    """
    tail = hn is None
    if not tail and not _same_stream(hp, hn):
        return []
    out = []
    r = g - e
    same_rate = not tail and int(fr.hdr_bitrate(hp)) == int(fr.hdr_bitrate(hn))
    if same_rate:
        # a run of one bit rate (all of a CBR stream): whole frames of that rate?
        s = _avg_frame_size(hp) or (sp + sn) / 2.0
        k = int(np.floor(r / s + 0.5))
        if abs(r - k * s) <= 3:
            return _placeholders(e, r, k, hp) if k > 0 else []
    cbr = cbr_stream and (tail or same_rate)
    if not cbr:
        while g - e >= 4:
            h = int(fr.read32(buf, e))
            if not (fr.hdr_valid(h) and _same_stream(h, hp)) or fr.hdr_bitrate(h) == 0:
                break
            size = int(fr.hdr_frame_size(h, 0))
            if size < 4 + int(fr.hdr_side_info_size(h)) or e + size > g:
                break
            out.append((e, h, size))
            e += size
    r = g - e
    if r <= 0:
        return out
    if tail:
        s = _avg_frame_size(hp)
        k = int(np.floor(r / s + 0.5)) if s else 0
        if not (cbr and k > 0 and abs(r - k * s) <= 1):
            free = sp - ((hp >> 9) & 1)
            k = 1 if r in (_frame_sizes(hp) if s else (free, free + 1)) else 0
    elif cbr:
        s = _avg_frame_size(hp) or (sp + sn) / 2.0
        k = int(np.floor(r / s + 0.5))
        if abs(r - k * s) > 3:
            k = int(r // s)
    else:
        lengths = _frame_sizes(hp)
        if r in lengths:
            k = 1
        elif r < min(lengths):
            k = 0
        else:
            k = max(1, int(np.floor(r / ((sp + sn) / 2.0) + 0.5)))
    if k > 0:
        out += _placeholders(e, r, k, hp)
    return out


def _fill_gaps(buf, offsets, headers, sizes, gaps, end, truncated):
    """Insert the frames inferred (see :func:`_gap_frames`) in the ``gaps`` between
    frames (:func:`_junk_gaps`) and after the last one."""
    ends = offsets + sizes
    # CBR: 90% of the frames have the most common bit rate (damage can leave a few others)
    index = (headers >> 12) & 15
    cbr_stream = bool(np.bincount(index, minlength=16).max() >= 0.9 * len(index))
    tail = []
    if not truncated and end > ends[-1]:
        cbr = cbr_stream and len(headers) >= 2 and index[-2] == index[-1]
        tail = _gap_frames(buf, int(ends[-1]), int(end), int(headers[-1]), int(sizes[-1]), cbr_stream=cbr)
    if len(gaps) == 0 and not tail:
        return offsets, headers, sizes
    parts_o, parts_h, parts_s = [], [], []
    last = 0
    for i, lo, hi in gaps:
        ins = _gap_frames(buf, lo, hi, int(headers[i]), int(sizes[i]), int(headers[i + 1]), int(sizes[i + 1]),
                          cbr_stream)
        if not ins:
            continue
        parts_o += [offsets[last:i + 1], np.array([x[0] for x in ins], np.int64)]
        parts_h += [headers[last:i + 1], np.array([x[1] for x in ins], np.int64)]
        parts_s += [sizes[last:i + 1], np.array([x[2] for x in ins], np.int64)]
        last = i + 1
    parts_o.append(offsets[last:])
    parts_h.append(headers[last:])
    parts_s.append(sizes[last:])
    if tail:
        parts_o.append(np.array([x[0] for x in tail], np.int64))
        parts_h.append(np.array([x[1] for x in tail], np.int64))
        parts_s.append(np.array([x[2] for x in tail], np.int64))
    return np.concatenate(parts_o), np.concatenate(parts_h), np.concatenate(parts_s)


def _first_decodable(buf, offsets, sizes, headers, tagged=False):
    """Index of the first frame whose bit reservoir data is in the stream.

    A stream cut out of a longer one (a radio capture, ``l3-sin1k0db``) can
    start with frames whose ``main_data_begin`` points before the first byte:
    they carry no decodable audio and no timing of their own, so they are not
    output (as the ISO reference decoder does).  Later frames with missing
    reservoir data are muted instead, which keeps the timing.  A stream that
    starts with a Xing/Info/VBRI tag frame is a whole encoded file, not a cut:
    every frame counts (a damaged first frame is muted).  A placeholder for a
    lost frame also has timing: it and the frames after it count.
    """
    if tagged:
        return 0
    available = 0
    for f in range(len(offsets)):
        h = int(headers[f])
        if fr.hdr_lost(h):
            return f
        p = int(offsets[f]) + 4 + (2 if fr.hdr_crc(h) else 0)
        mdb = (int(buf[p]) << 1 | int(buf[p + 1]) >> 7) if not fr.hdr_lsf(h) else int(buf[p])
        if mdb <= available:
            return f
        if f + 1 < len(offsets) and offsets[f] + sizes[f] != offsets[f + 1]:
            available = 0
        else:
            available += int(offsets[f] + sizes[f] - p - fr.hdr_side_info_size(h))
    return 0


def _bitrates(headers):
    lsf = ((headers >> 19) & 3) != 3
    idx = (headers >> 12) & 15
    return np.where(lsf, fr.BITRATES_LSF[idx], fr.BITRATES_MPEG1[idx])


def _parts(offsets, first, mapped):
    """Frame ranges ``(f, g)`` covering frames ``first ..``: one range for input held in
    memory; for a mapped file, ranges of about ``SCAN_PART`` bytes, the pages behind each
    given back once the caller has checked it (a frame's check reads only its own bytes)."""
    nf = len(offsets)
    if mapped is None:
        yield first, nf
        return
    f = first
    lo = 0
    while f < nf:
        g = min(nf, max(f + 1, int(np.searchsorted(offsets, offsets[f] + SCAN_PART))))
        yield f, g
        hi = int(offsets[g]) if g < nf else mapped.n
        mapped.release(lo, hi)
        lo = hi
        f = g


def _damage(buf, offsets, sizes, headers, first, mapped=None):
    status = np.zeros(len(offsets), np.int32)
    for f, g in _parts(offsets, first, mapped):
        _frame_damage(buf, offsets, sizes, headers, f, g, status)
    return status


@njit
def _frame_damage(buf, offsets, sizes, headers, f0, f1, status):
    """Status bits of frames ``f0..`` found without decoding audio: the ones
    :func:`~mp3restore.decoder.decode_frames` sets from the header, the side
    information and the bit reservoir (lost frame, CRC mismatch, forbidden side
    info, reservoir data missing, part2_3_length beyond the frame's main data).
    Huffman data that overruns inside the main data is only found by decoding."""
    gis = np.zeros((2, 2, N_FIELDS), np.int32)
    for f in range(f0, f1):
        h = headers[f]
        if fr.hdr_lost(h):
            status[f] = _ST_LOST
            continue
        off = offsets[f]
        crc = fr.hdr_crc(h)
        lsf = fr.hdr_lsf(h)
        nch = fr.hdr_channels(h)
        si_pos = off + 4 + (2 if crc else 0)
        si_size = fr.hdr_side_info_size(h)
        st = 0
        if crc and not _crc_ok(buf, off, si_pos, si_size):
            st |= _ST_CRC
        mdb, ok = read_side_info(buf, si_pos * 8, lsf, nch, gis, 0)
        if not ok:
            st |= _ST_SIDEINFO
        md_len = off + sizes[f] - si_pos - si_size
        # bytes of main data in the frames before f that the reservoir can reach
        # (the walk of decoder._gather_main_data)
        need = mdb
        j = f - 1
        while need > 0 and md_len >= 0:
            if j < 0 or offsets[j] + sizes[j] != offsets[j + 1] or fr.hdr_lost(headers[j]) or f - j > 512:
                break
            hj = headers[j]
            n = offsets[j] + sizes[j] - (offsets[j] + 4 + (2 if fr.hdr_crc(hj) else 0) + fr.hdr_side_info_size(hj))
            if n > 0:
                need -= n
            j -= 1
        if md_len < 0 or need > 0:
            st |= _ST_RESERVOIR
        elif st == 0:
            bits = 0
            for gr in range(1 if lsf else 2):
                for ch in range(nch):
                    bits += gis[gr, ch, PART2_3_LENGTH]
            if bits > (mdb + md_len) * 8:
                st |= _ST_OVERRUN
        status[f] = st
