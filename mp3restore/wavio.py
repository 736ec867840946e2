"""Streaming RIFF/WAVE writer and atomic file output.

:func:`write_wav` writes a WAV file from an iterable of float blocks (full
scale 1.0), one block at a time, so memory stays bounded by the block size.
The frame count is known in advance (``mp3restore.info(f).samples``) and goes
into the header first, so the output can be streamed to a pipe.  If the blocks
turn out to hold a different number of frames, the header is rewritten when
the output is seekable; otherwise :class:`~mp3restore.errors.OutputError` is
raised.

:func:`atomic_output` gives a temporary file next to the target that replaces
the target only when everything went well, so an error or Ctrl-C never leaves
a partial file behind.
"""
from __future__ import annotations

import contextlib
import os
import stat
import struct
import tempfile

import numpy as np

from .errors import OutputError

SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")

_FORMAT_PCM = 0x0001
_FORMAT_IEEE_FLOAT = 0x0003
_FORMAT_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_xxx GUIDs are {0000TTTT-0000-0010-8000-00AA00389B71};
# these are their last 14 bytes as stored in the file (after the 2-byte tag).
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
# Speaker positions for WAVE_FORMAT_EXTENSIBLE (used only above 2 channels).
_CHANNEL_MASKS = {1: 0x4, 2: 0x3, 3: 0x7, 4: 0x33, 5: 0x37, 6: 0x3F, 7: 0x13F, 8: 0x63F}

_MAX_RIFF = 0xFFFFFFFF


def _layout(subtype):
    """``(bytes per sample, format tag)`` of ``subtype``."""
    if subtype == "PCM_16":
        return 2, _FORMAT_PCM
    if subtype == "PCM_24":
        return 3, _FORMAT_PCM
    if subtype == "FLOAT":
        return 4, _FORMAT_IEEE_FLOAT
    raise ValueError(f"subtype must be one of {', '.join(SUBTYPES)}, not {subtype!r}")


def wav_header(samplerate, channels, nframes, subtype):
    """The bytes of a WAV header (RIFF, fmt, [fact], data chunk headers) for
    ``nframes`` frames; the data follow it directly."""
    width, tag = _layout(subtype)
    samplerate, channels, nframes = int(samplerate), int(channels), int(nframes)
    if channels < 1 or channels > 0xFFFF:
        raise ValueError(f"channels must be 1..65535, not {channels}")
    if samplerate < 1 or samplerate > 0xFFFFFFFF:
        raise ValueError(f"invalid samplerate {samplerate}")
    if nframes < 0:
        raise ValueError("nframes must be >= 0")
    block_align = width * channels
    bits = 8 * width
    data_size = nframes * block_align
    pad = data_size & 1

    if channels > 2:
        # WAVE_FORMAT_EXTENSIBLE: cbSize 22, valid bits, channel mask, sub-format GUID
        mask = _CHANNEL_MASKS.get(channels, 0)
        fmt = struct.pack("<HHIIHHHHI", _FORMAT_EXTENSIBLE, channels, samplerate, samplerate * block_align,
                          block_align, bits, 22, bits, mask) + struct.pack("<H", tag) + _GUID_TAIL
    elif tag == _FORMAT_PCM:
        fmt = struct.pack("<HHIIHH", tag, channels, samplerate, samplerate * block_align, block_align, bits)
    else:
        # non-PCM formats carry cbSize (0 here)
        fmt = struct.pack("<HHIIHHH", tag, channels, samplerate, samplerate * block_align, block_align, bits, 0)

    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if tag != _FORMAT_PCM:
        # every non-PCM format needs a fact chunk: the frame count
        chunks += b"fact" + struct.pack("<II", 4, nframes)
    riff_size = 4 + len(chunks) + 8 + data_size + pad
    if riff_size > _MAX_RIFF or data_size > _MAX_RIFF:
        raise OutputError(f"{nframes} frames of {channels} x {subtype} do not fit in a WAV file (4 GiB limit)")
    return b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + chunks + b"data" + struct.pack("<I", data_size)


def _encode(block, subtype, channels):
    """A float block (n,) or (n, channels) as an array of n rows holding the
    interleaved little-endian samples of each frame."""
    x = np.asarray(block)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != channels:
        raise ValueError(f"block of shape {np.shape(block)} does not match {channels} channel(s)")
    if subtype == "FLOAT":
        return np.ascontiguousarray(x, dtype="<f4")
    if x.dtype != np.float64:
        x = x.astype(np.float32, copy=False)  # exact: the scaling is by a power of two
    if subtype == "PCM_16":
        y = np.rint(x * 32768.0)
        np.clip(y, -32768, 32767, out=y)
        return y.astype("<i2")
    y = np.rint(x * 8388608.0)
    np.clip(y, -8388608, 8388607, out=y)
    # int32 little-endian: keep the 3 low bytes of each sample
    b = y.astype("<i4").view(np.uint8).reshape(len(y), channels, 4)
    return np.ascontiguousarray(b[:, :, :3])


def _seekable(fh):
    try:
        return bool(fh.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def write_wav(path_or_fileobj, blocks_iterable, samplerate, channels, nframes, subtype="PCM_16"):
    """Write a WAV file from an iterable of float blocks; return the frame count written.

    Parameters
    ----------
    path_or_fileobj : str, os.PathLike or binary file object
        A path is written through :func:`atomic_output`.  A file object is
        written from its current position; it need not be seekable (a pipe)
        unless the blocks hold a number of frames other than ``nframes``.
    blocks_iterable : iterable of array_like
        Float samples, full scale 1.0, each block shaped (n,) or (n, channels).
    samplerate, channels : int
    nframes : int
        Frames (samples per channel) the blocks will hold: written into the
        header before any audio, so the output can be streamed.
    subtype : {'PCM_16', 'PCM_24', 'FLOAT'}
        PCM is ``clip(round(x * 2**(bits-1)))``; FLOAT is 32-bit IEEE
        (format tag 3, with a ``fact`` chunk).

    Raises
    ------
    OutputError
        The blocks held a different number of frames and the output cannot be
        seeked to fix the header, or the file would exceed 4 GiB.
    """
    if isinstance(path_or_fileobj, (str, os.PathLike)):
        with atomic_output(path_or_fileobj) as fh:
            return write_wav(fh, blocks_iterable, samplerate, channels, nframes, subtype)

    fh = path_or_fileobj
    width, _tag = _layout(subtype)
    channels = int(channels)
    nframes = int(nframes)
    header = wav_header(samplerate, channels, nframes, subtype)
    seekable = _seekable(fh)
    start = fh.tell() if seekable else 0
    fh.write(header)
    written = 0
    for block in blocks_iterable:
        data = _encode(block, subtype, channels)
        n = len(data)
        if n == 0:
            continue
        if not seekable and written + n > nframes:
            raise OutputError(f"the audio holds more than the {nframes} frames announced in the WAV header, "
                              "and the output is not seekable")
        fh.write(data.reshape(-1).view(np.uint8))
        written += n
    if (written * width * channels) & 1:
        fh.write(b"\0")  # chunks are padded to an even size
    if written != nframes:
        if not seekable:
            raise OutputError(f"the audio holds {written} frames, not the {nframes} announced in the WAV header, "
                              "and the output is not seekable")
        end = fh.tell()
        fh.seek(start)
        fh.write(wav_header(samplerate, channels, written, subtype))
        fh.seek(end)
    return written


def _umask():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder):
    flag = getattr(os, "O_DIRECTORY", None)
    if flag is None:  # Windows: directories cannot be opened
        return
    try:
        fd = os.open(folder, os.O_RDONLY | flag)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(path):
    """Context manager yielding a binary file that becomes ``path`` on success.

    The data go to ``.NAME.XXXX.part`` in the target's folder; on a clean exit
    it is flushed, fsynced and renamed onto ``path`` (``os.replace``: the
    target is never seen half-written).  On any exception, KeyboardInterrupt
    included, the temporary file is removed and the target is left untouched.

    A target that exists and is not a regular file (``/dev/null``, a FIFO) is
    written directly, since it cannot be replaced.  A directory raises
    :class:`OutputError`.
    """
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as e:
        raise OutputError(f"{path}: {e.strerror or e}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "wb") as fh:
            yield fh
        return

    folder = os.path.dirname(os.path.abspath(path))
    try:
        tmp = tempfile.NamedTemporaryFile(dir=folder, delete=False, prefix=f".{os.path.basename(path)}.",
                                          suffix=".part")
    except FileNotFoundError:
        raise OutputError(f"{path}: no such folder: {folder}") from None
    except OSError as e:
        raise OutputError(f"{path}: cannot create the output: {e.strerror or e}") from None
    try:
        with tmp:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
        try:
            os.chmod(tmp.name, mode)
        except OSError:
            pass
        os.replace(tmp.name, path)
    except BaseException:
        try:
            os.unlink(tmp.name)
        except OSError:
            pass
        raise
    _fsync_dir(folder)
