"""The ``mp3restore`` command line (also ``python -m mp3restore``).

Subcommands live in :data:`COMMANDS`: name -> :class:`Command` (a function
adding the subparser and its arguments, and the function running it, which
takes the parsed ``argparse.Namespace`` and returns an exit code).  To add a
command, write both functions and add an entry.

Only light modules are imported here: numpy, numba and the decoder are
imported inside the command functions, so ``mp3restore --help`` is instant.

Conventions (shared by every command through :func:`main`):

* exit 0 on success, 1 on an error (one line ``mp3restore: error: ...`` on
  stderr, never a traceback), 2 on a usage error (argparse), 130 on Ctrl-C;
* warnings from the decoder are printed as ``mp3restore: warning: ...``, one
  line each;
* ``-`` as a file name is stdin / stdout;
* files are written through :func:`mp3restore.wavio.atomic_output`, so a
  failure or Ctrl-C never leaves a partial file.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import stat
import sys
import warnings
from typing import Callable, NamedTuple

from . import __version__
from .errors import InputError, Mp3RestoreError, OutputError

PROG = "mp3restore"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer killed by SIGPIPE

SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")  # same as mp3restore.wavio.SUBTYPES (not imported: numpy)
DEFAULT_BLOCKSIZE = 65536


class Command(NamedTuple):
    """A subcommand: ``setup(subparsers)`` adds its parser, ``run(args) -> int`` runs it;
    ``needs_scipy``: whether its process may import SciPy (see :func:`_without_scipy_blas`)."""

    setup: Callable[[argparse._SubParsersAction], argparse.ArgumentParser]
    run: Callable[[argparse.Namespace], int]
    needs_scipy: bool = True


# ---------------------------------------------------------------------------
# Helpers shared by the commands
# ---------------------------------------------------------------------------

def message(kind: str, text) -> None:
    """Print ``mp3restore: KIND: TEXT`` as one line on stderr."""
    line = " ".join(str(text).split()) if "\n" in str(text) else str(text)
    try:
        print(f"{PROG}: {kind}: {line}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, Mp3RestoreError):
        what = exc.strerror or str(exc) or type(exc).__name__
        if exc.filename is not None:
            name = os.fsdecode(exc.filename) if not isinstance(exc.filename, int) else f"fd {exc.filename}"
            return f"{name}: {what}"
        return what
    return str(exc) or type(exc).__name__


def _stream(name):
    """``sys.stdin`` / ``sys.stdout`` binary layers (``buffer`` when present)."""
    f = getattr(sys, name)
    return getattr(f, "buffer", f)


def _isatty(f) -> bool:
    try:
        return bool(f.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def _fstat(f):
    try:
        return os.fstat(f.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def _stat(path):
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


class Source(NamedTuple):
    """An input named on the command line: a path, or the bytes of stdin."""

    name: str  # as given ("-" for stdin)
    data: bytes | None = None  # stdin's bytes (read once: a command may open the input twice)

    @property
    def label(self) -> str:
        return "stdin" if self.data is not None else self.name

    def open(self):
        """What to give ``mp3restore.read/blocks/info``; call once per use."""
        if self.data is None:
            return self.name
        import io

        f = io.BytesIO(self.data)
        f.name = self.label  # the API names the input by this in its errors
        return f


def read_source(path: str) -> Source:
    """Check an input given on the command line (``-``: read all of stdin)."""
    if path != "-":
        if os.path.isdir(path):
            raise InputError(f"{path}: is a directory")
        if not os.path.exists(path):
            raise InputError(f"{path}: no such file")
        return Source(path)
    if _isatty(sys.stdin):
        raise InputError("refusing to read MP3 data from a terminal (give a file, or pipe one into stdin)")
    return Source(path, bytes(_stream("stdin").read()))


def default_output(path: str, suffix: str = ".wav") -> str:
    """``path`` with its suffix replaced by ``suffix`` (``song.mp3`` -> ``song.wav``)."""
    root = os.path.splitext(path)[0]
    if not os.path.basename(root):  # ".mp3" alone is a name, not a suffix
        root = path
    return root + suffix


def _same_file(a, b) -> bool:
    return (a is not None and b is not None and stat.S_ISREG(a.st_mode) and stat.S_ISREG(b.st_mode)
            and os.path.samestat(a, b))


def resolve_output(inp: str, out: str | None, overwrite: bool, suffix: str = ".wav") -> str:
    """Pick and check the output name for input ``inp`` (``-`` for stdin).

    ``out`` None: ``inp`` with ``suffix`` (stdout for stdin); an existing
    folder: the default name inside it.  Raises :class:`OutputError` when the
    output is the input (always, even with ``overwrite``), or exists and
    ``overwrite`` is false.  Returns the output name (``-`` for stdout).
    """
    if out is None:
        out = "-" if inp == "-" else default_output(inp, suffix)
    elif out != "-" and os.path.isdir(out):
        if inp == "-":
            raise OutputError(f"{out}: is a folder; give a file name when reading stdin")
        out = os.path.join(out, os.path.basename(default_output(inp, suffix)))

    in_st = _fstat(sys.stdin) if inp == "-" else _stat(inp)
    if out == "-":
        if _same_file(in_st, _fstat(sys.stdout)):
            raise OutputError("stdout is the input file")
        if _isatty(sys.stdout):
            raise OutputError("refusing to write audio to a terminal (use -o FILE, or redirect stdout)")
        return out

    out_st = _stat(out)
    same = _same_file(in_st, out_st)
    if inp != "-" and not same:
        same = os.path.normcase(os.path.realpath(inp)) == os.path.normcase(os.path.realpath(out))
    if same:
        raise OutputError(f"{out}: is the input file (refusing to overwrite it, even with -y)")
    if out_st is not None:
        if stat.S_ISDIR(out_st.st_mode):
            raise OutputError(f"{out}: is a directory")
        if stat.S_ISREG(out_st.st_mode) and not overwrite:
            raise OutputError(f"{out}: already exists (use -y to overwrite)")
    return out


@contextlib.contextmanager
def open_output(out: str):
    """A binary file for ``out``: stdout for ``-`` (flushed at the end), else
    an :func:`~mp3restore.wavio.atomic_output` temporary file."""
    if out == "-":
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError):
            pass
        fh = _stream("stdout")
        yield fh
        fh.flush()
        return
    from .wavio import atomic_output

    with atomic_output(out) as fh:
        yield fh


def progress_bar(total: int, desc: str | None = None, quiet: bool = False, unit: str = "sample"):
    """A tqdm bar on stderr, or None when quiet, stderr is not a terminal, or
    tqdm is not installed (it is optional)."""
    if quiet or not _isatty(sys.stderr):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr, dynamic_ncols=True,
                leave=False)


FIRST_RUN_NOTE = ("mp3restore: first run: numba is compiling the kernels (up to half a minute, once; "
                  "later runs load them from its cache)")


def first_run(quiet: bool = False, *, restore: bool = True, synthesis: bool = True) -> bool:
    """Whether numba must compile kernels this command uses before it can run (the
    first run after installing: the decoder's, and the synthesis' and the
    restoration's as asked; nothing is compiled to find out).  If so, and not
    ``quiet``, say on stderr why this run is slow."""
    from ._jit import needs_compile
    from .decoder import decode_frames_with, synthesize_granules

    kernels = [decode_frames_with] + ([synthesize_granules] if synthesis else [])
    if restore:
        from .restore.kernel import restore_chunk

        kernels.append(restore_chunk)
    cold = needs_compile(*kernels)
    if cold and not quiet:
        print(FIRST_RUN_NOTE, file=sys.stderr, flush=True)
    return cold


def _tracked(blocks, bar):
    for b in blocks:
        yield b
        if bar is not None:
            bar.update(len(b))


# ---------------------------------------------------------------------------
# decode
# ---------------------------------------------------------------------------

def _setup_decode(sub):
    p = sub.add_parser(
        "decode", help="decode an MP3 file to WAV",
        description="Decode an MP3 file to a WAV file (streamed: memory use does not grow with the file).")
    p.add_argument("input", metavar="IN", help="MP3 file, or - for stdin")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="WAV file, a folder, or - for stdout (default: IN with the suffix .wav; "
                        "stdout when IN is -)")
    p.add_argument("--no-restore", dest="restore", action="store_false",
                   help="decode plainly, without the restoration stage")
    p.add_argument("--strength", type=float, default=1.0, metavar="S",
                   help="scale what restoration adds, 0..1 (default: %(default)s)")
    p.add_argument("--bandwidth", type=float, default=None, metavar="HZ",
                   help="restoration's target bandwidth in Hz (default: 20000 or Nyquist)")
    p.add_argument("--no-gapless", dest="gapless", action="store_false",
                   help="keep the encoder delay and padding (every decoded sample)")
    p.add_argument("--subtype", choices=SUBTYPES, default="PCM_16", type=str.upper,
                   help="sample format of the WAV (default: %(default)s)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="decode on N threads, 0 for all cores; the output is identical (default: 1)")
    p.add_argument("-y", "--overwrite", action="store_true", help="overwrite OUT if it exists")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (warnings and errors are still printed)")
    p.add_argument("--strict", action="store_true",
                   help="fail on a damaged frame or a truncated file instead of concealing it with a warning")
    return p


def cmd_decode(args) -> int:
    src = read_source(args.input)
    out = resolve_output(args.input, args.output, args.overwrite)

    import mp3restore
    from . import _warm
    from .wavio import write_wav

    # a cold cache: a helper process compiles the restoration's kernels (the synthesis' with
    # --no-restore) while this one compiles the decoder's and the synthesis' (mp3restore._warm)
    cold = first_run(args.quiet, restore=args.restore)
    with _warm.helper_if(cold, args.restore) as helper, mp3restore.open(src.open(), strict=args.strict) as mp3:
        if helper is not None:
            _warm.compile_with(helper, mp3, args.restore)
        info = mp3.info
        nframes = mp3.nsamples(gapless=args.gapless)
        blocks = mp3.blocks(DEFAULT_BLOCKSIZE, restore=args.restore, gapless=args.gapless, dtype="float32",
                            always_2d=True, strength=args.strength, bandwidth=args.bandwidth, threads=args.threads)
        bar = progress_bar(nframes, os.path.basename(src.label), args.quiet)
        try:
            with open_output(out) as fh:
                write_wav(fh, _tracked(blocks, bar), info.samplerate, info.channels, nframes, args.subtype)
        finally:
            if bar is not None:
                bar.close()
    return EXIT_OK


# ---------------------------------------------------------------------------
# info
# ---------------------------------------------------------------------------

def _setup_info(sub):
    p = sub.add_parser("info", help="show what an MP3 stream holds and what restoration would do",
                       description="Print the stream summary of an MP3 file (format, length, encoder, "
                                   "delay/padding, lowpass, tags), the effective bandwidth measured from "
                                   "the MDCT coefficients (highest non-zero line, percentiles over time, per "
                                   "second) and what restoration would do (cutoff, target, holes). "
                                   "--quick prints the summary alone, without decoding.")
    p.add_argument("file", metavar="FILE", help="MP3 file, or - for stdin")
    p.add_argument("--json", action="store_true",
                   help="print JSON instead of aligned 'key: value' lines (bandwidth and restoration "
                        "are nested objects under the keys 'bandwidth' and 'restoration')")
    p.add_argument("--quick", action="store_true",
                   help="only the stream summary: no coefficients decoded (no 'bandwidth' or "
                        "'restoration' sections)")
    return p


def _format_value(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return repr(round(v, 6))
    if isinstance(v, (tuple, list)):
        return ", ".join(str(x) for x in v) if v else "-"
    return str(v)


def format_info(d: dict) -> str:
    """A dict as aligned ``key: value`` lines."""
    width = max((len(k) for k in d), default=0) + 1
    return "\n".join(f"{k + ':':<{width}} {_format_value(v)}" for k, v in d.items())


def cmd_info(args) -> int:
    src = read_source(args.file)

    import mp3restore

    if not args.quick:
        from .inspect import measure_bandwidth

        first_run(restore=False, synthesis=False)
        mp3 = mp3restore.open(src.open())
        d = mp3.info.as_dict()
        d["bandwidth"] = measure_bandwidth(mp3)
        d["restoration"] = mp3.restoration_plan().as_dict()
    else:
        d = mp3restore.info(src.open()).as_dict()
    if args.json:
        import json

        text = json.dumps(d, indent=2)
    else:
        bw = d.pop("bandwidth", None)
        plan = d.pop("restoration", None)
        text = format_info(d)
        if bw is not None:
            text += "\n" + format_bandwidth(bw)
        if plan is not None:
            text += "\nrestoration:\n" + "\n".join("  " + ln for ln in format_info(plan).splitlines())
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return EXIT_OK


def _fmt_khz(hz) -> str:
    return "-" if hz is None else f"{hz / 1000:.2f}"


def format_bandwidth(bw: dict, max_seconds: int = 60) -> str:
    """The ``bandwidth`` dict of :func:`mp3restore.inspect.measure_bandwidth` as an indented section."""
    def series(values):
        shown = " ".join(_fmt_khz(v) for v in values[:max_seconds])
        more = f" ... ({len(values)} s)" if len(values) > max_seconds else ""
        return (shown + more) or "-"

    top = ("-" if bw["max_line"] is None else
           f"line {bw['max_line']}, sfb {bw['max_sfb']}, {_fmt_khz(bw['max_hz'])} kHz")
    rows = {
        "highest non-zero": top,
        "p10 / p50 / p90": f"{_fmt_khz(bw['p10_hz'])} / {_fmt_khz(bw['p50_hz'])} / {_fmt_khz(bw['p90_hz'])} kHz",
        "granules (silent)": f"{bw['granules']} ({bw['silent_granules']})",
        "per second, max (kHz)": series(bw["per_second_max_hz"]),
        "per second, p50 (kHz)": series(bw["per_second_p50_hz"]),
    }
    width = max(len(k) for k in rows) + 1
    return "bandwidth:\n" + "\n".join(f"  {k + ':':<{width}} {v}" for k, v in rows.items())


def _write_text(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


# ---------------------------------------------------------------------------
# frames
# ---------------------------------------------------------------------------

def parse_range(text: str):
    """``A:B``, ``A:``, ``:B`` or ``N`` (one frame) -> ``(start, stop)`` with None for an open end."""
    t = text.strip()
    try:
        if ":" not in t:
            n = int(t)
            return n, (n + 1 if n != -1 else None)
        a, b = t.split(":", 1)
        return (int(a) if a.strip() else None), (int(b) if b.strip() else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid frame range {text!r} (expected A:B, A:, :B or N)") from None


def _setup_frames(sub):
    p = sub.add_parser(
        "frames", help="list the frames of a stream with their side information",
        description="Print one row per audio frame: index, byte offset, size, MPEG version, bit rate, mode, "
                    "stereo tools (mode extension), CRC, main_data_begin, decoding status, and per granule and "
                    "channel: block type (0 long, 1 start, 2 short, 3 stop; 'm' = mixed), global gain, "
                    "big_values, part2_3_length and the highest non-zero MDCT line. Frames are numbered as in "
                    "read_coefficients (the Xing/Info frame is not counted).")
    p.add_argument("file", metavar="FILE", help="MP3 file, or - for stdin")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list with one object per frame (one object per line)")
    p.add_argument("--range", dest="frame_range", metavar="A:B", type=parse_range,
                   help="only frames A to B-1 (Python slice rules: A:, :B, negative indices; N alone = frame N)")
    return p


_STATUS_SHORT = {"crc": "crc", "reservoir": "resv", "side_info": "si", "overrun": "ovr", "lost": "lost"}
_CELL = ("bt", 3), ("gain", 4), ("bv", 3), ("p23", 4), ("hi", 3)


def _frame_cells(fv, ngr, nch):
    cells = []
    for g in range(ngr):
        for c in range(nch):
            if g < len(fv.granules) and c < len(fv.granules[g].channels):
                ch = fv.granules[g].channels[c]
                bt = f"{ch.block_type}{'m' if ch.mixed_block else ''}"
                vals = (bt, ch.global_gain, ch.big_values, ch.part2_3_length, ch.highest_line)
            else:
                vals = ("",) * 5
            cells.append(" ".join(f"{str(v):>{w}}" for v, (_, w) in zip(vals, _CELL)))
    return cells


def cmd_frames(args) -> int:
    src = read_source(args.file)

    import json

    import mp3restore

    mp3 = mp3restore.open(src.open())
    start, stop = args.frame_range or (None, None)
    frames = mp3.frames(start, stop)
    out = sys.stdout
    if args.json:
        out.write("[")
        sep = "\n"
        for fv in frames:
            out.write(sep + json.dumps(fv.summary_dict(), separators=(", ", ": ")))
            sep = ",\n"
        out.write("\n]\n" if sep != "\n" else "]\n")
        out.flush()
        return EXIT_OK
    stream = mp3._stream
    ngr = 2 if bool(((stream.headers[stream.first:] >> 19) & 3 == 3).any()) else 1
    nch = stream.channels
    cell_w = sum(w for _, w in _CELL) + len(_CELL) - 1
    head = (f"{'index':>6} {'offset':>9} {'size':>5} {'ver':>3} {'kbps':>4} {'mode':<6} {'st':<5} {'crc':<3} "
            f"{'mdb':>3} {'status':<6}")
    groups = [f"gr{g} ch{c}" for g in range(ngr) for c in range(nch)]
    line1 = " " * len(head) + "".join(" | " + f"{t:^{cell_w}}" for t in groups)
    cell_head = " ".join(f"{n:>{w}}" for n, w in _CELL)
    line2 = head + "".join(" | " + cell_head for _ in groups)
    out.write(line1.rstrip() + "\n" + line2 + "\n")
    for fv in frames:
        crc = "-" if not fv.crc else ("ok" if fv.crc_ok else "BAD")
        st = ",".join(_STATUS_SHORT[n] for n in fv.status_names) or "ok"
        br = fv.bitrate if fv.bitrate else "free"
        row = (f"{fv.index:>6} {fv.offset:>9} {fv.size:>5} {fv.version:>3} {br:>4} {fv.mode:<6} "
               f"{fv.stereo_tools:<5} {crc:<3} {fv.main_data_begin:>3} {st:<6}")
        out.write(row + "".join(" | " + c for c in _frame_cells(fv, ngr, nch)).rstrip() + "\n")
    out.flush()
    return EXIT_OK


# ---------------------------------------------------------------------------
# dump
# ---------------------------------------------------------------------------

def _setup_dump(sub):
    p = sub.add_parser(
        "dump", help="show every side-info field, scalefactor and band of one frame",
        description="Print one frame in full: header fields, CRC, main_data_begin, decoding status, and per "
                    "granule and channel every side-information field, the scalefactors and, per scalefactor "
                    "band (and window for short blocks), its lines, width, scalefactor, number of non-zero "
                    "MDCT lines and energy (10 log10 of the sum of the squared lines; -inf when all zero).")
    p.add_argument("file", metavar="FILE", help="MP3 file, or - for stdin")
    p.add_argument("--frame", "-f", metavar="N", type=int, required=True,
                   help="audio frame index, 0-based, as in 'mp3restore frames' (the Xing/Info frame is not counted)")
    p.add_argument("--granule", "-g", metavar="G", type=int, help="only granule G of the frame (0 or 1)")
    p.add_argument("--channel", "-c", metavar="C", type=int, help="only channel C (0 or 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object (-inf energies as null)")
    p.add_argument("--bits", action="store_true",
                   help="also show the raw bits of the header, CRC and side information, field by field "
                        "(parsed with bitstring)")
    p.add_argument("--mdct", action="store_true", help="also print the 576 MDCT lines of each granule/channel")
    return p


def _json_compact(obj, indent: str = "") -> str:
    """JSON with nested objects and lists laid out on lines, but lists of numbers
    and objects holding only scalars kept on one line each."""
    import json

    def scalar(v):
        return v is None or isinstance(v, (bool, int, float, str))

    inner = indent + "  "
    if isinstance(obj, dict) and obj and not all(scalar(v) for v in obj.values()):
        items = [f"{inner}{json.dumps(k)}: {_json_compact(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(obj, list) and obj and not all(scalar(v) for v in obj):
        return "[\n" + ",\n".join(inner + _json_compact(v, inner) for v in obj) + "\n" + indent + "]"
    return json.dumps(obj, separators=(", ", ": "))


def _db(energy):
    import math

    return 10.0 * math.log10(energy) if energy > 0 else None


def _bits_selected(name, granule, channel):
    parts = name.split(".")
    for p in parts[:-1]:
        if granule is not None and p.startswith("gr") and int(p[2:]) != granule:
            return False
        if channel is not None and p.startswith("ch") and int(p[2:]) != channel:
            return False
    return True


def cmd_dump(args) -> int:
    src = read_source(args.file)

    import mp3restore
    from .inspect import frame_bits

    mp3 = mp3restore.open(src.open())
    n = mp3.info.frames
    if not 0 <= args.frame < n:
        raise InputError(f"{src.label}: frame {args.frame} out of range: the stream has {n} audio frames "
                         f"(0..{n - 1})")
    fv = next(iter(mp3.frames(args.frame, args.frame + 1)))
    if args.granule is not None and not 0 <= args.granule < len(fv.granules):
        raise InputError(f"{src.label}: frame {args.frame} has {len(fv.granules)} granule(s); "
                         f"no granule {args.granule}")
    if args.channel is not None and not 0 <= args.channel < fv.channels:
        raise InputError(f"{src.label}: frame {args.frame} has {fv.channels} channel(s); no channel {args.channel}")
    granules = [g for g in fv.granules if args.granule is None or g.granule == args.granule]
    bits = None
    if args.bits:
        s = mp3._stream
        f = s.first + args.frame
        data = bytes(s.buf[int(s.offsets[f]):int(s.offsets[f] + s.sizes[f])])
        bits = [b for b in frame_bits(data) if _bits_selected(b["name"], args.granule, args.channel)]

    def channels(g):
        return [c for c in g.channels if args.channel is None or c.channel == args.channel]

    if args.json:
        head = fv.header_dict()
        head.update(header=fv.header, private=fv.private, copyright=fv.copyright, original=fv.original,
                    emphasis=fv.emphasis, status_bits=fv.status)
        doc = {"frame": head, "granules": []}
        for g in granules:
            chs = []
            for c in channels(g):
                d = {"channel": c.channel, **c.side_info(), "highest_line": c.highest_line,
                     "scalefactors": [int(x) for x in c.scalefactors], "bands": []}
                for b in c.bands():
                    e = b.pop("energy")
                    b["energy_db"] = None if _db(e) is None else round(_db(e), 3)
                    d["bands"].append(b)
                if args.mdct:
                    d["mdct"] = [float(x) for x in c.mdct]
                chs.append(d)
            doc["granules"].append({"granule": g.granule, "index": g.index, "channels": chs})
        if bits is not None:
            doc["bits"] = bits
        _write_text(_json_compact(doc) + "\n")
        return EXIT_OK

    crc = "none" if not fv.crc else ("ok" if fv.crc_ok else "MISMATCH")
    tools = f" ({fv.stereo_tools})" if fv.mode == "joint" else ""
    br = f"{fv.bitrate} kbit/s" if fv.bitrate else "free format"
    lines = [f"frame {fv.index} of {n}: offset {fv.offset}, {fv.size} bytes, first granule {fv.first_granule}",
             format_info({
                 "header": f"0x{fv.header:08x}: MPEG-{fv.version} Layer III, {br}, {fv.samplerate} Hz, "
                           f"{fv.mode}{tools}",
                 "mode_extension": fv.mode_extension, "padding": fv.padding, "private": fv.private,
                 "copyright": fv.copyright, "original": fv.original, "emphasis": fv.emphasis,
                 "crc": crc, "main_data_begin": fv.main_data_begin,
                 "status": ", ".join(fv.status_names) or "ok"})]
    for g in granules:
        for c in channels(g):
            lines.append("")
            lines.append(f"granule {g.granule} (stream granule {g.index}), channel {c.channel}: "
                         f"{c.block_name} block")
            si_rows = {k: (" ".join(str(x) for x in v) if isinstance(v, list) else v)
                       for k, v in c.side_info().items()}
            si_rows["highest_line"] = c.highest_line
            si_rows["scalefactors"] = " ".join(str(int(x)) for x in c.scalefactors)
            lines += ["  " + ln for ln in format_info(si_rows).splitlines()]
            lines.append(f"  {'band':>4} {'win':>3} {'lines':>9} {'width':>5} {'sf':>3} {'nonzero':>7} "
                         f"{'energy_dB':>9}")
            for b in c.bands():
                db = _db(b["energy"])
                lines.append(f"  {b['band']:>4} {'-' if b['window'] is None else b['window']:>3} "
                             f"{str(b['start']) + '-' + str(b['end']):>9} {b['width']:>5} "
                             f"{'-' if b['scalefactor'] is None else b['scalefactor']:>3} {b['nonzero']:>7} "
                             f"{'-inf' if db is None else f'{db:.2f}':>9}")
            if args.mdct:
                lines.append("  mdct:")
                for k in range(0, 576, 8):
                    lines.append(f"  {k:>4}: " + " ".join(f"{float(x):>12.5g}" for x in c.mdct[k:k + 8]))
    if bits is not None:
        lines.append("")
        lines.append("bits (offset in the frame: field = bits (value)):")
        width = max(len(b["name"]) for b in bits)
        for b in bits:
            lines.append(f"  [{b['offset']:>4}] {b['name']:<{width}} = {b['bits']} ({b['value']})")
    _write_text("\n".join(lines) + "\n")
    return EXIT_OK


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------

def _setup_export(sub):
    p = sub.add_parser(
        "export", help="save the MDCT coefficients and side information to .npz",
        description="Decode an MP3 file up to the MDCT coefficients and save them with the side information "
                    "and scalefactors to a NumPy .npz file (mp3restore.load_coefficients reads it back; "
                    "mp3restore.synthesize turns it into the same audio as 'decode --no-restore').")
    p.add_argument("input", metavar="FILE", help="MP3 file, or - for stdin")
    p.add_argument("output", metavar="OUT", nargs="?",
                   help=".npz file, a folder, or - for stdout (default: FILE with the suffix .npz)")
    p.add_argument("-y", "--overwrite", action="store_true", help="overwrite OUT if it exists")
    return p


def cmd_export(args) -> int:
    src = read_source(args.input)
    out = resolve_output(args.input, args.output, args.overwrite, suffix=".npz")

    import mp3restore

    coefs = mp3restore.read_coefficients(src.open())
    with open_output(out) as fh:
        coefs.save(fh)
    return EXIT_OK


# ---------------------------------------------------------------------------
# plot
# ---------------------------------------------------------------------------

PLOT_KINDS = ("psd", "spectrogram", "bands")  # as mp3restore.plot.KINDS (not imported: numpy)


def _setup_plot(sub):
    p = sub.add_parser(
        "plot", help="draw a PSD, spectrogram or band-energy picture (PNG; needs matplotlib)",
        description="Draw a picture of a stream to a PNG file. psd: Welch power spectral density of the plain "
                    "and the restored decode (and of the original with --ref), in dB against kHz, with the "
                    "measured cutoff (p90 of the highest non-zero frequency per granule) and the LAME lowpass "
                    "as vertical lines. spectrogram: STFT of the decode, dB colour scale. bands: energy of "
                    "each scalefactor band in each granule, from the MDCT coefficients. Needs matplotlib "
                    "(pip install mp3restore[plot]).")
    p.add_argument("input", metavar="FILE", help="MP3 file, or - for stdin")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="PNG file, a folder, or - for stdout (default: FILE with the suffix .KIND.png)")
    p.add_argument("--kind", choices=PLOT_KINDS, default="psd", help="what to draw (default: %(default)s)")
    p.add_argument("--ref", metavar="ORIGINAL", help="the original audio (WAV) to draw with the psd")
    p.add_argument("-y", "--overwrite", action="store_true", help="overwrite OUT if it exists")
    return p


def cmd_plot(args) -> int:
    from .plot import make_figure, read_reference, require_matplotlib, save_png

    require_matplotlib()
    src = read_source(args.input)
    out = resolve_output(args.input, args.output, args.overwrite, suffix=f".{args.kind}.png")
    ref = None
    if args.ref is not None:
        if args.kind != "psd":
            message("warning", f"--ref is only drawn by --kind psd, not {args.kind}")
        else:
            ref = read_reference(args.ref)

    import mp3restore

    mp3 = mp3restore.open(src.open())
    fig = make_figure(mp3, args.kind, ref=ref, name=os.path.basename(src.label))
    with open_output(out) as fh:
        save_png(fig, fh)
    return EXIT_OK


# ---------------------------------------------------------------------------
# batch
# ---------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {text!r}")
    return n


def _setup_batch(sub):
    p = sub.add_parser(
        "batch", help="convert a folder tree of MP3s (resumable, parallel, optionally on a Dask cluster)",
        description="Mirror the MP3s under SRC (*.mp3 in any case, recursively; SRC may also be one file) into "
                    "DST with the suffix .wav or .npz. Finished outputs are skipped, so an interrupted run is "
                    "resumed by running it again; outputs are written to temporary files and renamed, so no "
                    "partial file is ever left behind. A file that fails is reported and the batch goes on; "
                    "a JSON manifest (DST/mp3restore-batch.json) records what was done and what failed and why. "
                    "Exit code: 0 when nothing failed, 1 when anything failed, 130 on Ctrl-C.")
    p.add_argument("src", metavar="SRC", help="folder of MP3 files (walked recursively), or one MP3 file")
    p.add_argument("dst", metavar="DST", help="output folder (created when needed)")
    p.add_argument("-j", "--jobs", type=_positive_int, metavar="N",
                   help="files converted at once, in worker processes (default: the number of CPUs; "
                        "1: in this process)")
    p.add_argument("--to", choices=("wav", "npz"), default="wav", type=str.lower,
                   help="wav: decoded audio; npz: MDCT coefficients and side information, as "
                        "'mp3restore export' (default: %(default)s)")
    p.add_argument("--no-restore", dest="restore", action="store_false",
                   help="decode plainly, without the restoration stage (wav)")
    p.add_argument("--no-gapless", dest="gapless", action="store_false",
                   help="keep the encoder delay and padding (wav)")
    p.add_argument("--subtype", choices=SUBTYPES, default="PCM_16", type=str.upper,
                   help="sample format of the WAVs (default: %(default)s)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on this Dask distributed scheduler (e.g. tcp://host:8786) instead of local "
                        "processes; its workers must see SRC and DST at the same paths and have mp3restore "
                        "installed (needs dask: pip install mp3restore[dask])")
    p.add_argument("--manifest", metavar="PATH",
                   help="where to write the JSON manifest (default: DST/mp3restore-batch.json)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("-q", "--quiet", action="store_true",
                       help="no progress bar (failures and the summary are still printed)")
    shown.add_argument("--progress", action="store_true",
                       help="show the progress bar even when stderr is not a terminal (needs tqdm)")
    return p


def cmd_batch(args) -> int:
    from .batch import command

    return command(args)


# ---------------------------------------------------------------------------
# Parser and entry point
# ---------------------------------------------------------------------------

COMMANDS: dict[str, Command] = {
    "decode": Command(_setup_decode, cmd_decode, needs_scipy=False),
    "info": Command(_setup_info, cmd_info, needs_scipy=False),
    "frames": Command(_setup_frames, cmd_frames, needs_scipy=False),
    "dump": Command(_setup_dump, cmd_dump, needs_scipy=False),
    "export": Command(_setup_export, cmd_export, needs_scipy=False),
    "plot": Command(_setup_plot, cmd_plot),
    "batch": Command(_setup_batch, cmd_batch),
}


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="MP3 decoder that exposes the coded MDCT representation and restores "
                    "what the encoder removed.",
        epilog="Run '%(prog)s COMMAND --help' for a command's options. Use - for stdin/stdout.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True
    for name, cmd in COMMANDS.items():
        p = cmd.setup(sub)
        p.set_defaults(_command=name)
    return parser


def _quiet_stdout():
    """After a broken pipe: point stdout at /dev/null so that the interpreter's
    final flush does not complain."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def _warning_printer():
    seen = set()

    def show(msg, category, filename, lineno, file=None, line=None):
        key = (category, str(msg))
        if key in seen:  # e.g. the same CRC warning from info() and from decoding
            return
        seen.add(key)
        message("warning", msg)

    return show


def _without_scipy_blas():
    """Keep numba from loading SciPy's BLAS and LAPACK in this process.

    When numba initialises its CPU target it imports ``scipy.linalg`` only to
    learn whether ``np.dot`` and ``np.linalg`` can be compiled; mp3restore's
    kernels use neither.  That import is about 0.2 s and 16 MiB of a command
    line run.  Only :func:`run` does this, for commands that never use SciPy,
    before numba is imported: a process that imports ``scipy.linalg`` later
    gets an ``ImportError``."""
    if "numba" not in sys.modules and "scipy.linalg" not in sys.modules:
        sys.modules["scipy.linalg"] = None


def run() -> int:
    """The ``mp3restore`` console command: :func:`main` in a process of its own."""
    return main(_own_process=True)


def main(argv=None, *, _own_process=False) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Usage errors, ``--help`` and ``--version`` raise ``SystemExit`` (argparse).
    """
    args = get_parser().parse_args(argv)
    if _own_process and not COMMANDS[args._command].needs_scipy:
        _without_scipy_blas()
    try:
        with warnings.catch_warnings():
            if not sys.warnoptions:
                from .errors import Mp3RestoreWarning

                warnings.simplefilter("always", Mp3RestoreWarning)
            warnings.showwarning = _warning_printer()
            return COMMANDS[args._command].run(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except (Mp3RestoreError, OSError) as e:
        message("error", _error_text(e))
        return EXIT_ERROR
    except MemoryError:
        message("error", "out of memory")
        return EXIT_ERROR
