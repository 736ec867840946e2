"""Opening a stream: input normalisation, tags, frame index, stream summary.

Everything here is done once per file and does not decode audio.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field, asdict

import numpy as np

from . import frames as fr
from .errors import EmptyInputError, InputError, Mp3RestoreWarning, NotMpegAudioError, UnsupportedStreamError

PAD = 64  # zero bytes kept after the data so kernels can peek past the end


def read_input(file) -> tuple[np.ndarray, int, str | None]:
    """Return ``(buf, n, name)``: the input's bytes in a uint8 array of ``n + PAD``.

    ``file`` is a path (str or os.PathLike), bytes-like, or a binary file
    object with ``read``.
    """
    name = None
    if isinstance(file, (str, os.PathLike)):
        name = os.fspath(file)
        try:
            size = os.path.getsize(name)
            buf = np.zeros(size + PAD, np.uint8)
            with open(name, "rb") as fh:
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


def open_stream(file) -> Stream:
    """Read ``file`` and index its Layer III frames; raise a specific error if there are none."""
    from .tags import find_tags, parse_vbri, parse_xing

    buf, n, name = read_input(file)
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
    cap = (end - start) // fr.MIN_FRAME + 2
    offsets = np.empty(cap, np.int64)
    headers = np.empty(cap, np.int64)
    sizes = np.empty(cap, np.int64)
    count, skipped, truncated, other = fr.scan_frames(buf, start, end, offsets, headers, sizes)
    if count == 0:
        if other >= 2:
            raise UnsupportedStreamError(f"{label}: MPEG audio Layer I/II, only Layer III is supported")
        if tag_names:
            raise EmptyInputError(f"{label}: only tags ({', '.join(tag_names)}), no MPEG audio frames")
        raise NotMpegAudioError(f"{label}: not MPEG audio (no Layer III frame found)")
    offsets = offsets[:count].copy()
    headers = headers[:count].copy()
    sizes = sizes[:count].copy()

    # Xing / Info / VBRI tag frame: parsed, never decoded as audio
    h0 = int(headers[0])
    first = _frame_bytes(buf, offsets[0], sizes[0])
    crc = bool(fr.hdr_crc(h0))
    xing = parse_xing(first, int(fr.hdr_side_info_size(h0)), crc)
    vbri = parse_vbri(first) if xing is None else None
    if xing is not None or vbri is not None:
        if count == 1:
            raise EmptyInputError(f"{label}: only a {'VBRI' if vbri else xing.kind} tag frame, no audio frames")
        offsets, headers, sizes = offsets[1:], headers[1:], sizes[1:]

    first = _first_decodable(buf, offsets, sizes, headers)
    ngr = np.where((headers >> 19) & 3 == 3, 2, 1).astype(np.int64)
    ngr[:first] = 0  # leading frames without their reservoir data give no audio
    gr_start = np.zeros(len(headers) + 1, np.int64)
    np.cumsum(ngr, out=gr_start[1:])
    total = int(gr_start[-1]) * 576

    nch = np.where((headers >> 6) & 3 == 3, 1, 2)
    channels = int(nch.max())
    sr = int(fr.SAMPLE_RATES[fr.hdr_sr_index(int(headers[first]))])
    spf = 576 * int(ngr[first])

    # gapless trimming (LAME/Info tag), as mpg123 and FFmpeg do it
    trim_start, trim_end, gapless = 0, total, False
    if xing is not None and xing.delay is not None and xing.padding is not None:
        nfr = xing.frames if xing.frames else len(headers) - first
        start_s = xing.delay + 529
        end_s = nfr * spf - xing.padding + 529
        if 0 <= start_s < end_s and start_s < total:
            trim_start, trim_end, gapless = start_s, min(end_s, total), True

    crc_errors = 0
    any_crc = bool(np.any(((headers >> 16) & 1) == 0))
    if any_crc:
        crc_errors = int(_count_crc_errors(buf, offsets, headers))
        if crc_errors:
            warnings.warn(f"{label}: {crc_errors} frame(s) with a CRC mismatch", Mp3RestoreWarning, stacklevel=3)

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
        frames=len(headers) - first,
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
    )
    return Stream(buf, offsets, sizes, headers, gr_start, first, channels, sr, trim_start, trim_end, info, name)


def _first_decodable(buf, offsets, sizes, headers):
    """Index of the first frame whose bit reservoir data is in the stream.

    A stream cut out of a longer one (a radio capture, ``l3-sin1k0db``) can
    start with frames whose ``main_data_begin`` points before the first byte:
    they carry no decodable audio and no timing of their own, so they are not
    output (as the ISO reference decoder does).  Later frames with missing
    reservoir data are muted instead, which keeps the timing.
    """
    available = 0
    for f in range(len(offsets)):
        h = int(headers[f])
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


def _count_crc_errors(buf, offsets, headers):
    from .decoder import count_crc_errors

    return count_crc_errors(buf, offsets, headers)
