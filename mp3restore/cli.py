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
    """A subcommand: ``setup(subparsers)`` adds its parser, ``run(args) -> int`` runs it."""

    setup: Callable[[argparse._SubParsersAction], argparse.ArgumentParser]
    run: Callable[[argparse.Namespace], int]


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
    p.add_argument("--no-gapless", dest="gapless", action="store_false",
                   help="keep the encoder delay and padding (every decoded sample)")
    p.add_argument("--subtype", choices=SUBTYPES, default="PCM_16", type=str.upper,
                   help="sample format of the WAV (default: %(default)s)")
    p.add_argument("-y", "--overwrite", action="store_true", help="overwrite OUT if it exists")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (warnings and errors are still printed)")
    return p


def cmd_decode(args) -> int:
    src = read_source(args.input)
    out = resolve_output(args.input, args.output, args.overwrite)

    import mp3restore
    from .wavio import write_wav

    mp3 = mp3restore.open(src.open())
    info = mp3.info
    nframes = mp3.nsamples(gapless=args.gapless)
    blocks = mp3.blocks(DEFAULT_BLOCKSIZE, restore=args.restore, gapless=args.gapless,
                        dtype="float32", always_2d=True)
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
    p = sub.add_parser("info", help="show what an MP3 stream holds (without decoding it)",
                       description="Print the stream summary of an MP3 file (format, length, encoder, tags).")
    p.add_argument("file", metavar="FILE", help="MP3 file, or - for stdin")
    p.add_argument("--json", action="store_true", help="print JSON instead of aligned 'key: value' lines")
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

    d = mp3restore.info(src.open()).as_dict()
    if args.json:
        import json

        text = json.dumps(d, indent=2)
    else:
        text = format_info(d)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return EXIT_OK


# ---------------------------------------------------------------------------
# Parser and entry point
# ---------------------------------------------------------------------------

COMMANDS: dict[str, Command] = {
    "decode": Command(_setup_decode, cmd_decode),
    "info": Command(_setup_info, cmd_info),
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


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Usage errors, ``--help`` and ``--version`` raise ``SystemExit`` (argparse).
    """
    args = get_parser().parse_args(argv)
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
