"""The coded representation as numpy arrays: ``read_coefficients`` and ``synthesize``.

``synthesize(read_coefficients(f))`` runs the same kernels as ``read(f, restore=False)``
and gives the same samples bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import sideinfo as si
from .errors import CoefficientsError, InputError
from .stream import open_stream


@dataclass
class Coefficients:
    """MDCT coefficients and side information of a stream, granule by granule.

    Array shapes (time axis first): G granules, C channels, F frames.

    Attributes
    ----------
    mdct : float32 [shape=(G, C, 576)]
        Requantized spectrum after stereo processing, before alias reduction:
        what the synthesis filterbank consumes.  Long blocks: line ``k`` is
        frequency ``(k + 0.5) * samplerate / 1152``.  Short blocks (block_type 2)
        are stored subband-major: ``mdct[g, c, sb * 18 + w * 6 + k]`` is line
        ``sb * 6 + k`` of short window ``w`` (view them with
        :meth:`short_windows`); in mixed blocks the first 36 lines are long.
    side_info : int32 [shape=(G, C, N)]
        Per-granule side information; the named properties below are views.
    scalefactors : int16 [shape=(G, C, 39)]
        Long blocks ``[sfb]`` (0..21); short ``[sfb * 3 + window]``; mixed: the
        long bands below line 36, then short sfb 3.. (see :mod:`mp3restore.scalefactors`).
    frame_offset, frame_header : int64 [shape=(F,)]
        Byte offset of each frame and its 32-bit header.
    frame_status : int32 [shape=(F,)]
        Bits: 1 CRC mismatch, 2 reservoir data missing, 4 forbidden side info,
        8 Huffman overrun, 16 lost frame (a placeholder inferred in a gap; its
        ``frame_header`` has bit 32 set).  A frame with any bit set is muted.
    main_data_begin : int32 [shape=(F,)]
    frame_granule : int64 [shape=(F + 1,)]
        Index of each frame's first granule in ``mdct`` (the last entry is G).
    samplerate, channels : int
    encoder_delay, encoder_padding : int or None
    first_sample : int
        Stream sample index of the first sample these granules produce.
    trim_start, trim_end : int
        Gapless range of the whole stream, in stream sample indices.
    lowpass : int or None
        The LAME tag's lowpass (Hz); ``bitrate``: the stream's average (kbit/s).
        Restoration's plan uses both.
    restored_from : float32 (G, C, 576) or None
        Set by ``restore_coefficients``: the coefficients before restoration, so
        that ``synthesize`` can keep what restoration added from clipping
        exactly as ``read(restore=True)`` does.
    """

    mdct: np.ndarray
    side_info: np.ndarray
    scalefactors: np.ndarray
    frame_offset: np.ndarray
    frame_header: np.ndarray
    frame_status: np.ndarray
    main_data_begin: np.ndarray
    frame_granule: np.ndarray
    samplerate: int
    channels: int
    encoder_delay: int | None
    encoder_padding: int | None
    first_sample: int
    trim_start: int
    trim_end: int
    lowpass: int | None = None
    bitrate: float = 0.0
    restored_from: np.ndarray | None = None

    def stream_info(self):
        """The fields of the stream summary that restoration's plan needs."""
        from types import SimpleNamespace

        return SimpleNamespace(samplerate=self.samplerate, channels=self.channels, lowpass=self.lowpass,
                               bitrate=self.bitrate)

    def _field(self, index):
        return self.side_info[:, :, index]

    global_gain = property(lambda self: self._field(si.GLOBAL_GAIN), doc="int32 (G, C)")
    block_type = property(lambda self: self._field(si.BLOCK_TYPE), doc="int32 (G, C): 0 long, 1 start, 2 short, 3 stop")
    mixed_block = property(lambda self: self._field(si.MIXED_BLOCK), doc="int32 (G, C)")
    big_values = property(lambda self: self._field(si.BIG_VALUES), doc="int32 (G, C)")
    count1 = property(lambda self: self._field(si.COUNT1), doc="int32 (G, C): quadruples in the count1 region")
    part2_3_length = property(lambda self: self._field(si.PART2_3_LENGTH), doc="int32 (G, C), bits")
    scalefac_scale = property(lambda self: self._field(si.SCALEFAC_SCALE), doc="int32 (G, C)")
    scalefac_compress = property(lambda self: self._field(si.SCALEFAC_COMPRESS), doc="int32 (G, C)")
    preflag = property(lambda self: self._field(si.PREFLAG), doc="int32 (G, C)")
    last_nonzero = property(lambda self: self._field(si.LAST_NONZERO),
                            doc="int32 (G, C): index of the highest non-zero Huffman line + 1")
    table_select = property(lambda self: self.side_info[:, :, si.TABLE_SELECT:si.TABLE_SELECT + 3],
                            doc="int32 (G, C, 3)")
    subblock_gain = property(lambda self: self.side_info[:, :, si.SUBBLOCK_GAIN:si.SUBBLOCK_GAIN + 3],
                             doc="int32 (G, C, 3)")

    @property
    def coded_channels(self):
        """int32 (G,): channels coded in each granule (1 for a mono frame of a stereo stream)."""
        from .decoder import granule_channels

        return granule_channels(self.frame_header, self.frame_granule, 0, len(self.frame_header))

    @property
    def joint_modes(self):
        """int32 (G,): each granule's joint-stereo mode extension (bit 2 mid/side, bit 1
        intensity; 0 outside joint stereo)."""
        from .decoder import granule_joint

        return granule_joint(self.frame_header, self.frame_granule, 0, len(self.frame_header))

    @property
    def granules(self):
        return self.mdct.shape[0]

    def side_info_dict(self):
        """Every side-info field by name, each int32 (G, C)."""
        return {name: self.side_info[:, :, i] for i, name in enumerate(si.FIELD_NAMES)}

    def short_windows(self, g, c):
        """Short-block lines of granule ``g``, channel ``c`` as float32 (3, 192): window x frequency line."""
        return self.mdct[g, c].reshape(32, 3, 6).transpose(1, 0, 2).reshape(3, 192)

    def save(self, path):
        """Save to a ``.npz`` file (``load_coefficients`` reads it back)."""
        arrays = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None and f.name == "restored_from":
                continue
            arrays[f.name] = v if isinstance(v, np.ndarray) else np.array(-1 if v is None else v)
        arrays["format"] = np.array("mp3restore.coefficients/1")
        np.savez_compressed(path, **arrays)


def load_coefficients(path):
    """Load :class:`Coefficients` saved with :meth:`Coefficients.save`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "format" not in z or str(z["format"]) != "mp3restore.coefficients/1":
                raise CoefficientsError(f"{path}: not an mp3restore coefficients file")
            kw = {}
            for f in fields(Coefficients):
                if f.name not in z and f.name in ("restored_from", "lowpass", "bitrate"):
                    continue
                v = z[f.name]
                if v.ndim == 0:
                    v = v.item()
                    if f.name in ("encoder_delay", "encoder_padding", "lowpass") and v == -1:
                        v = None
                kw[f.name] = v
    except (OSError, KeyError, ValueError) as e:
        raise CoefficientsError(f"{path}: cannot load coefficients ({e})") from None
    return Coefficients(**kw)


def _frame_range(frames, n):
    if frames is None:
        return 0, n
    if isinstance(frames, slice):
        a, b, step = frames.indices(n)
        if step != 1:
            raise InputError("frames: a slice with step 1")
        return a, max(a, b)
    if isinstance(frames, range) and frames.step == 1:
        return max(0, frames.start), min(n, max(frames.start, frames.stop))
    if isinstance(frames, tuple) and len(frames) == 2:
        a, b = (int(x) for x in frames)
        return max(0, a), min(n, max(a, b))
    raise InputError("frames must be None, a slice, a range or an (start, stop) pair")


def read_coefficients(file, *, frames=None):
    """Decode a stream up to the MDCT coefficients (no synthesis).

    Parameters
    ----------
    file : path, bytes-like or binary file object
    frames : slice, range or (start, stop), optional
        Audio frames to decode (the Xing/Info frame is not counted).

    Returns
    -------
    Coefficients
    """
    from .decoder import FrameDecoder

    stream = open_stream(file)
    f0, f1 = _frame_range(frames, stream.nframes - stream.first)
    f0 += stream.first
    f1 += stream.first
    G = int(stream.gr_start[f1] - stream.gr_start[f0])
    dec = FrameDecoder(stream, max(1, f1 - f0))
    _, mdct, gi, sf, status, mdb = dec.decode(f0, f1)
    info = stream.info
    return Coefficients(
        mdct=dec.mdct[:G], side_info=dec.gi[:G], scalefactors=dec.sf[:G],
        frame_offset=stream.offsets[f0:f1].copy(), frame_header=stream.headers[f0:f1].copy(),
        frame_status=status.copy(), main_data_begin=mdb.copy(),
        frame_granule=stream.gr_start[f0:f1 + 1] - stream.gr_start[f0],
        samplerate=stream.samplerate, channels=stream.channels,
        encoder_delay=info.delay, encoder_padding=info.padding,
        first_sample=int(stream.gr_start[f0]) * 576,
        trim_start=stream.trim_start, trim_end=stream.trim_end,
        lowpass=info.lowpass, bitrate=float(info.bitrate),
    )


def synthesize(coefficients, *, gapless=True):
    """Turn coefficients (possibly edited) back into PCM with the decoder's filterbank.

    Parameters
    ----------
    coefficients : Coefficients
    gapless : bool
        Keep only the stream's gapless range (intersected with these granules).

    Returns
    -------
    data : float32 ndarray [shape=(frames,) or (frames, channels)]
    samplerate : int
    """
    from .decoder import SynthState

    c = coefficients
    mdct = np.ascontiguousarray(c.mdct, dtype=np.float32)
    if mdct.ndim != 3 or mdct.shape[2] != 576 or mdct.shape[1] != c.channels:
        raise CoefficientsError(f"mdct must have shape (granules, {c.channels}, 576), not {mdct.shape}")
    G, C = mdct.shape[:2]
    bt = np.ascontiguousarray(c.block_type, dtype=np.int32)
    mx = np.ascontiguousarray(c.mixed_block, dtype=np.int32)
    if bt.shape != (G, C) or np.any((bt < 0) | (bt > 3)):
        raise CoefficientsError("block_type must be (granules, channels) with values 0..3")
    if not np.all(np.isfinite(mdct)):
        raise CoefficientsError("mdct holds NaN or Inf")
    coded = c.coded_channels
    if len(coded) != G:
        raise CoefficientsError("frame_granule does not match the number of granules")
    pcm = np.empty((G * 576, C), np.float32)
    state = SynthState(C)
    headroom = None
    if c.restored_from is not None and c.restored_from.shape == mdct.shape:
        from .restore.headroom import Headroom

        headroom = Headroom(C)
        plain = np.ascontiguousarray(c.restored_from, dtype=np.float32)
    chunk = 256
    for a in range(0, G, chunk):
        b = min(G, a + chunk)
        if headroom is None:
            state.run(mdct[a:b], bt[a:b], mx[a:b], coded[a:b], pcm[a * 576:b * 576])
        else:
            headroom.synthesize(state, mdct[a:b], bt[a:b], mx[a:b], coded[a:b], pcm[a * 576:b * 576],
                                lambda idx, a=a: mdct[a + idx] - plain[a + idx])
    s0 = c.first_sample
    if gapless:
        a = max(c.trim_start, s0) - s0
        b = min(c.trim_end, s0 + len(pcm)) - s0
        pcm = pcm[a:max(a, b)]
    if C == 1:
        pcm = pcm[:, 0]
    return pcm, c.samplerate
