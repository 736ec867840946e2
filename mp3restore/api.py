"""The public Python API: ``read``, ``blocks``, ``info``, ``read_coefficients``, ``synthesize``."""
from __future__ import annotations

import numpy as np

from .errors import InputError
from .sideinfo import BLOCK_TYPE, MIXED_BLOCK
from .stream import open_stream

CHUNK_FRAMES = 128  # frames decoded per kernel call
# A mapped file's pages behind the decoder are given back (Stream.release) once this many bytes
# have been decoded, except the last RESERVOIR_BYTES (the bit reservoir of the next frames is
# read back from there: at most 511 bytes of main data plus the frames' headers and side info;
# a page given back too early is only read again, never wrong)
RELEASE_STEP = 1 << 20
RESERVOIR_BYTES = 1 << 14
_DTYPES = ("float32", "float64", "int16", "int32")


def _check_dtype(dtype):
    name = np.dtype(dtype).name
    if name not in _DTYPES:
        raise InputError(f"dtype must be one of {', '.join(_DTYPES)}, not {dtype!r}")
    return name


def _convert(pcm, dtype):
    """float32 PCM (full scale 1.0) to ``dtype``; integers are rounded and clipped."""
    if dtype == "float32":
        return pcm
    if dtype == "float64":
        return pcm.astype(np.float64)
    if dtype == "int16":
        t = pcm * 32768.0  # float32; the same operations in place: one temporary
        np.rint(t, out=t)
        np.clip(t, -32768, 32767, out=t)
        return t.astype(np.int16)
    t = pcm.astype(np.float64)
    t *= 2147483648.0
    np.rint(t, out=t)
    np.clip(t, -2147483648, 2147483647, out=t)
    return t.astype(np.int32)


def _check_restore(strength, bandwidth):
    from .restore import check_options

    return check_options(strength, bandwidth)


def _put(out, i, pcm):
    """Store float32 PCM in rows ``i..`` of ``out``, converted to ``out``'s dtype as :func:`_convert`
    does (chunk by chunk: no float32 copy of the whole output)."""
    name = out.dtype.name
    out[i:i + len(pcm)] = pcm if name in ("float32", "float64") else _convert(pcm, name)


def _data_end(stream, f):
    """Byte position where frame ``f`` starts (the end of the frames for ``f == nframes``)."""
    if f < stream.nframes:
        return int(stream.offsets[f])
    return int(stream.offsets[-1] + stream.sizes[-1])


def _check_open(stream):
    if stream.closed:
        raise InputError(f"{stream.label}: the file is closed")


def _shape(pcm, always_2d):
    if pcm.shape[1] == 1 and not always_2d:
        return pcm[:, 0]
    return pcm


def _iter_pcm(stream, *, restore, strength=1.0, bandwidth=None, chunk_frames=CHUNK_FRAMES, f0=None, f1=None,
              plan=None):
    """Yield ``(first_sample, pcm float32[n, C])`` chunk by chunk (buffers reused).

    With ``restore``, the first chunk (``LOOKAHEAD_FRAMES`` frames, and windows further on
    when they are inconclusive) decides
    the restoration plan, as ``restore_coefficients`` does on a whole stream.
    """
    from .decoder import FrameDecoder, SynthState, granule_channels, granule_joint

    f0 = stream.first if f0 is None else f0
    f1 = stream.nframes if f1 is None else f1
    mark = _data_end(stream, f0) - RESERVOIR_BYTES  # pages before it: given back
    dec = FrameDecoder(stream, chunk_frames)
    state = SynthState(stream.channels)
    pcm_buf = np.empty((2 * chunk_frames * 576, stream.channels), np.float32)
    bt = np.empty((2 * chunk_frames, stream.channels), np.int32)
    mx = np.empty_like(bt)
    restorer = headroom = None
    for a in range(f0, f1, chunk_frames):
        b = min(f1, a + chunk_frames)
        _check_open(stream)
        G, mdct, gi, sf, status, _mdb = dec.decode(a, b)
        if stream.source is not None:
            hi = _data_end(stream, b) - RESERVOIR_BYTES
            if hi - mark >= RELEASE_STEP:
                stream.release(mark, hi)
                mark = hi
        stream.note_status(a, status)  # concealed frames: recorded, or StreamError in strict mode
        coded = granule_channels(stream.headers, stream.gr_start, a, b)
        if restore and restorer is None:
            from .restore import Restorer
            from .restore.headroom import Headroom

            if plan is None:
                restorer = _make_restorer(stream, mdct, gi, a, strength, bandwidth)
            else:
                restorer = Restorer(plan, stream.samplerate, stream.channels, strength)
            headroom = Headroom(stream.channels) if restorer.active else None
        if headroom is not None:
            restorer.process(mdct, gi, sf, coded, granule_joint(stream.headers, stream.gr_start, a, b),
                             stream.gr_start[a], bounded=True)
        bt[:G] = gi[:, :, BLOCK_TYPE]
        mx[:G] = gi[:, :, MIXED_BLOCK]
        pcm = pcm_buf[:G * 576]
        if headroom is not None:
            headroom.synthesize(state, mdct, bt[:G], mx[:G], coded, pcm, restorer.added)
        else:
            state.run(mdct, bt[:G], mx[:G], coded, pcm)
        yield int(stream.gr_start[a]) * 576, pcm


def _block(pcm, dtype):
    """A new array of ``pcm`` in ``dtype``."""
    return pcm.copy() if dtype == "float32" else _convert(pcm, dtype)


def _copy_range(chunks, out, start, end, keep_from):
    """Copy the samples ``start..end`` (and at or after ``keep_from``) of ``chunks`` into ``out``
    (converted to its dtype)."""
    for s0, pcm in chunks:
        a = max(start, s0, keep_from)
        b = min(end, s0 + len(pcm))
        if a < b:
            _put(out, a - start, pcm[a - s0:b - s0])


def _check_threads(threads):
    if threads is None or threads == 0:
        from ._warm import cores

        return cores()
    threads = int(threads)
    if threads < 1:
        raise InputError(f"threads must be >= 1 (or 0 for all cores), not {threads}")
    return threads


def _read_parallel(stream, out, start, end, restore, strength, bandwidth, threads, fa=None, fb=None, plan=None):
    """Decode parts of the stream on ``threads`` threads, bit-identical to one thread.

    The coefficient decoder keeps no state between frames (the reservoir is
    read back from the buffer).  Each part starts early enough for every piece of
    state to be rebuilt exactly before its first output sample: two granules for
    the filterbank (it remembers less than that), ``WARMUP_GRANULES`` for
    restoration.  The kernels release the GIL, so threads run in parallel.
    """
    from concurrent.futures import ThreadPoolExecutor

    warm = 2
    if restore:
        from .restore import WARMUP_GRANULES

        plan = plan or _plan(stream, strength, bandwidth)
        warm = WARMUP_GRANULES
    f_first = stream.first
    fa = f_first if fa is None else fa
    fb = stream.nframes if fb is None else fb
    bounds = [fa + (fb - fa) * i // threads for i in range(threads + 1)]
    gr = stream.gr_start

    def part(i):
        a, b = bounds[i], bounds[i + 1]
        w = a
        while w > f_first and gr[a] - gr[w] < warm:
            w -= 1
        chunks = _iter_pcm(stream, restore=restore, strength=strength, bandwidth=bandwidth, f0=w, f1=b, plan=plan)
        _copy_range(chunks, out, start, end, int(gr[a]) * 576)

    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(part, i) for i in range(threads)]:
            f.result()


def _iter_pcm_parallel(stream, restore, strength, bandwidth, threads, span_frames=2048):
    """Like :func:`_iter_pcm`, but each span of frames is decoded on ``threads`` threads."""
    plan = _plan(stream, strength, bandwidth) if restore else None
    gr = stream.gr_start
    for fa in range(stream.first, stream.nframes, span_frames):
        fb = min(stream.nframes, fa + span_frames)
        s0, s1 = int(gr[fa]) * 576, int(gr[fb]) * 576
        out = np.empty((s1 - s0, stream.channels), np.float32)
        _read_parallel(stream, out, s0, s1, restore, strength, bandwidth, threads, fa, fb, plan)
        # the parts give back the pages behind them, but not those a part's neighbour read last
        stream.release(_data_end(stream, fa) - RESERVOIR_BYTES, _data_end(stream, fb) - RESERVOIR_BYTES)
        yield s0, out


def _plan(stream, strength, bandwidth, find_holes=False):
    """The restoration plan, from the coefficients of the lookahead frames (and more when needed)."""
    from .decoder import FrameDecoder
    from .restore import LOOKAHEAD_FRAMES

    end = min(stream.nframes, stream.first + LOOKAHEAD_FRAMES)
    _, mdct, gi, _sf, _st, _mdb = FrameDecoder(stream, max(1, end - stream.first)).decode(stream.first, end)
    return _make_restorer(stream, mdct, gi, stream.first, strength, bandwidth, find_holes).plan


def _make_restorer(stream, mdct, gi, a, strength, bandwidth, find_holes=False):
    """The restorer of ``stream``, whose first chunk's coefficients are ``mdct``/``gi``
    (frames from ``a``, the first): its lookahead decides the plan, and windows sampled
    further on when it is inconclusive (:func:`~mp3restore.restore.plan.plan_stream`)."""
    from .decoder import FrameDecoder
    from .restore import LOOKAHEAD_FRAMES, Restorer
    from .restore.lines import bounded_tops
    from .restore.plan import SAMPLE_FRAMES, SAMPLE_WINDOWS, plan_stream

    assert a == stream.first and CHUNK_FRAMES >= LOOKAHEAD_FRAMES
    end = min(stream.nframes, a + LOOKAHEAD_FRAMES)
    look = int(stream.gr_start[end] - stream.gr_start[a])
    dec = []  # made when a window is asked for; a window has at most this many frames

    def window(f0, f1):
        if not dec:
            dec.append(FrameDecoder(stream, SAMPLE_WINDOWS * SAMPLE_FRAMES))
        _, m, g, _sf, _st, _mdb = dec[0].decode(f0, f1)
        return m.copy(), g[:, :, BLOCK_TYPE].copy()

    tops = np.empty(look, np.int64)
    bounded_tops(gi[:look], tops)
    plan = plan_stream(stream.info, mdct[:look], gi[:look, :, BLOCK_TYPE], a, stream.nframes, window,
                       bandwidth=bandwidth, find_holes=find_holes, tops=tops)
    return Restorer(plan, stream.samplerate, stream.channels, strength)


def _range(stream, gapless):
    if gapless:
        return stream.trim_start, stream.trim_end
    return 0, stream.nsamples


class Mp3File:
    """An opened MP3 stream: parsed once, decoded as often as needed.

    ``mp3restore.open(file)`` returns one; ``read``, ``blocks`` and ``info``
    are shortcuts that open, use and close it.  ``close()`` (or a ``with``
    block) releases the input: a file given by its path is mapped until then.

    Attributes
    ----------
    info : StreamInfo
    samplerate, channels : int
    """

    def __init__(self, file, *, strict=False):
        self._stream = open_stream(file, strict=strict)
        self.samplerate = self._stream.samplerate
        self.channels = self._stream.channels
        self.name = self._stream.name

    def close(self):
        """Release the input (a file given by its path is mapped, not read, until then); ``info``
        stays, decoding raises :class:`~mp3restore.InputError`.  Closing twice is fine; the
        ``with`` statement closes at its end."""
        self._stream.close()

    @property
    def closed(self):
        return self._stream.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        i = self.info
        return (f"<mp3restore.Mp3File {self.name or 'input'!r}: MPEG-{i.version} Layer III, {i.samplerate} Hz, "
                f"{i.channels} ch ({i.mode}), {i.bitrate_mode} {i.bitrate:.0f} kbit/s, {i.frames} frames, "
                f"{i.duration:.2f} s>")

    @property
    def info(self):
        """The :class:`~mp3restore.stream.StreamInfo`; after a decode it also counts the frames
        whose damaged audio data only decoding found (``concealed_frames``)."""
        return self._stream.info

    def __len__(self):
        return self.info.samples

    def read(self, *, restore=True, gapless=True, dtype="float32", always_2d=False, strength=1.0, bandwidth=None,
             threads=1):
        """Decode the whole stream; see :func:`mp3restore.read`."""
        dtype = _check_dtype(dtype)
        strength, bandwidth = _check_restore(strength, bandwidth)
        threads = _check_threads(threads)
        stream = self._stream
        _check_open(stream)
        start, end = _range(stream, gapless)
        # the output is allocated once, in its dtype: chunks are converted as they are stored
        out = np.empty((end - start, stream.channels), dtype)
        if threads > 1 and stream.nframes - stream.first >= 4 * threads:
            _read_parallel(stream, out, start, end, restore, strength, bandwidth, threads)
        else:
            _copy_range(_iter_pcm(stream, restore=restore, strength=strength, bandwidth=bandwidth), out, start, end,
                        0)
        stream.finish_decode()
        return _shape(out, always_2d), stream.samplerate

    def blocks(self, blocksize=65536, *, restore=True, gapless=True, dtype="float32", always_2d=False,
               strength=1.0, bandwidth=None, threads=1):
        """Yield consecutive blocks of ``blocksize`` frames; see :func:`mp3restore.blocks`."""
        if int(blocksize) <= 0:
            raise InputError("blocksize must be positive")
        blocksize = int(blocksize)
        dtype = _check_dtype(dtype)
        strength, bandwidth = _check_restore(strength, bandwidth)
        _check_open(self._stream)
        return self._blocks(blocksize, restore, gapless, dtype, always_2d, strength, bandwidth,
                            _check_threads(threads))

    def _blocks(self, blocksize, restore, gapless, dtype, always_2d, strength, bandwidth, threads=1):
        stream = self._stream
        start, end = _range(stream, gapless)
        acc = np.empty((blocksize, stream.channels), np.float32)
        fill = 0
        if threads > 1:
            chunks = _iter_pcm_parallel(stream, restore, strength, bandwidth, threads)
        else:
            chunks = _iter_pcm(stream, restore=restore, strength=strength, bandwidth=bandwidth)
        for s0, pcm in chunks:
            pos = max(start, s0)
            b = min(end, s0 + len(pcm))
            while pos < b:
                n = min(blocksize - fill, b - pos)
                acc[fill:fill + n] = pcm[pos - s0:pos - s0 + n]
                fill += n
                pos += n
                if fill == blocksize:
                    yield _shape(_block(acc, dtype), always_2d)
                    fill = 0
        stream.finish_decode()
        if fill:
            yield _shape(_block(acc[:fill], dtype), always_2d)

    def frames(self, start=None, stop=None, *, chunk_frames=64):
        """Yield a :class:`~mp3restore.inspect.FrameView` per audio frame.

        Each view holds the frame's header fields, ``main_data_begin``, its
        decoding status and, per granule and coded channel, the side
        information, scalefactors and MDCT lines (float32, 576).  ``start`` and
        ``stop`` select frames with slice semantics (numbered as in
        :func:`mp3restore.read_coefficients`).  Frames are decoded
        ``chunk_frames`` at a time, so memory does not grow with the stream.
        """
        from .inspect import iter_frames

        _check_open(self._stream)
        return iter_frames(self._stream, start, stop, chunk_frames=chunk_frames)

    def restoration_plan(self, *, strength=1.0, bandwidth=None):
        """What ``read(restore=True)`` would do: a :class:`~mp3restore.restore.plan.Plan`
        (cutoff, target, whether the high band is regenerated and why, holes found
        in the lookahead).  Decodes the coefficients of the first frames only."""
        strength, bandwidth = _check_restore(strength, bandwidth)
        _check_open(self._stream)
        return _plan(self._stream, strength, bandwidth, find_holes=True)

    def nsamples(self, gapless=True):
        """Samples per channel that ``read``/``blocks`` return."""
        start, end = _range(self._stream, gapless)
        return end - start


def open(file, *, strict=False):  # noqa: A001 - mirrors soundfile/pedalboard naming
    """Open an MP3 stream: parse tags and frames once, decode later.

    ``strict``: raise :class:`~mp3restore.StreamError` at the first damaged
    frame (or a truncated file) instead of concealing it with a warning.

    Returns
    -------
    Mp3File
    """
    return Mp3File(file, strict=strict)


def read(file, *, restore=True, gapless=True, dtype="float32", always_2d=False, strength=1.0, bandwidth=None,
         threads=1, strict=False):
    """Decode an MP3 file to PCM.

    Parameters
    ----------
    file : str, os.PathLike, bytes-like or binary file object
    restore : bool
        Run the restoration stage between requantization and synthesis.
    gapless : bool
        Drop the encoder delay and padding given by a LAME/Info tag
        (``delay + 529`` samples at the start), as mpg123 and FFmpeg do.
        Without such a tag every decoded sample is returned.
    dtype : {'float32', 'float64', 'int16', 'int32'}
        Floats have full scale 1.0; integers are rounded and clipped.
    always_2d : bool
        Return shape (frames, 1) for mono instead of (frames,).
    strength : float, 0..1
        Scales what restoration adds (0 adds nothing).
    bandwidth : float, optional
        Restoration's target bandwidth in Hz (default 20 kHz or Nyquist, whichever is lower).
    threads : int
        Decode parts of the stream on this many threads (0: all cores).  The
        output is bit-identical to a single-thread decode.
    strict : bool
        Raise :class:`~mp3restore.StreamError` at the first damaged frame (or a
        truncated file) instead of concealing it.  By default damaged frames are
        muted in place (the output keeps the undamaged stream's length) and a
        :class:`~mp3restore.Mp3RestoreWarning` says how many and where.

    Returns
    -------
    data : ndarray [shape=(frames,) or (frames, channels)]
    samplerate : int

    Examples
    --------
    >>> data, sr = read("fixtures/stereo_joint_cbr128_44100.mp3")  # doctest: +SKIP
    >>> data.shape, sr  # doctest: +SKIP
    ((88200, 2), 44100)
    """
    with Mp3File(file, strict=strict) as mp3:
        return mp3.read(restore=restore, gapless=gapless, dtype=dtype, always_2d=always_2d, strength=strength,
                        bandwidth=bandwidth, threads=threads)


def blocks(file, blocksize=65536, *, restore=True, gapless=True, dtype="float32", always_2d=False,
           strength=1.0, bandwidth=None, threads=1, strict=False):
    """Yield consecutive blocks of ``blocksize`` frames (the last may be shorter).

    Same parameters as :func:`read`.  Decoding memory is bounded by the block
    size and the decoder's chunk of frames, not by the length of the stream.
    """
    mp3 = Mp3File(file, strict=strict)
    try:
        gen = mp3.blocks(blocksize, restore=restore, gapless=gapless, dtype=dtype, always_2d=always_2d,
                         strength=strength, bandwidth=bandwidth, threads=threads)
    except BaseException:
        mp3.close()
        raise
    return _closing(mp3, gen)


def _closing(mp3, gen):
    """Yield from ``gen``, then close ``mp3`` (also when the consumer stops early)."""
    try:
        yield from gen
    finally:
        mp3.close()


def info(file):
    """Return the :class:`~mp3restore.stream.StreamInfo` summary of ``file`` without decoding audio."""
    stream = open_stream(file)
    stream.close()
    return stream.info
