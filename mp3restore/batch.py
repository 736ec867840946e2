"""Batch conversion: mirror a folder tree of MP3s into WAV or ``.npz`` outputs.

The ``mp3restore batch SRC DST`` command is built from four pieces:

* :func:`find_jobs` walks SRC for ``*.mp3`` (any case), sorted, and pairs
  each with its output under DST (same relative path, suffix ``.wav`` or
  ``.npz``);
* :func:`convert_one` converts one job and returns a :class:`Result`; it never
  raises for a bad input (the error is in the result);
* :func:`run_batch` runs the jobs in-process (1 job), on a local process pool,
  or on an existing Dask distributed cluster (``scheduler=ADDRESS``), and
  returns a :class:`Summary`;
* :func:`write_manifest` writes the JSON record of a run.

Resuming: outputs are only ever created by an atomic rename
(:func:`mp3restore.wavio.atomic_output`), so an existing output is complete
and its job is skipped; an interrupted conversion leaves nothing behind.

This module is imported by the command line only when ``batch`` runs, and
imports numpy, the decoder and Dask (an optional extra) only when it needs them.
"""
from __future__ import annotations

import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .errors import InputError, Mp3RestoreError

MANIFEST_NAME = "mp3restore-batch.json"
MANIFEST_VERSION = 1
FORMATS = ("wav", "npz")
BLOCKSIZE = 65536
MAX_WARNINGS = 20  # distinct decoder warnings kept per file
DASK_MISSING = "batch --scheduler needs dask: pip install mp3restore[dask]"


# ---------------------------------------------------------------------------
# Jobs, options, results
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """One conversion: ``input`` (an MP3) to ``output``, both absolute paths.

    ``name`` is the input as the user would write it (SRC as given joined
    with the relative path): what messages show.
    """

    input: str
    output: str
    name: str

    @property
    def done(self) -> bool:
        """True when the output exists (outputs appear only by atomic rename, so it is complete)."""
        return os.path.isfile(self.output)


@dataclass(frozen=True)
class Options:
    """How to convert: ``to`` ``'wav'`` or ``'npz'``; ``restore``, ``gapless`` and
    ``subtype`` apply to WAV output only (coefficients are taken before restoration)."""

    to: str = "wav"
    restore: bool = True
    gapless: bool = True
    subtype: str = "PCM_16"
    blocksize: int = BLOCKSIZE

    def as_dict(self) -> dict:
        return {"to": self.to, "restore": self.restore, "gapless": self.gapless, "subtype": self.subtype}


@dataclass
class Result:
    """What happened to one job: ``status`` is ``'done'``, ``'failed'`` or ``'skipped'``.

    ``error`` is the failure's message (without the input's name in front);
    ``warnings`` the distinct decoder warnings (CRC mismatches, ...) of a
    conversion; ``samples`` the frames (samples per channel) written.
    """

    job: Job
    status: str
    error: str | None = None
    seconds: float = 0.0
    samples: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass
class Summary:
    """The outcome of :func:`run_batch`; results in the order they arrived."""

    done: list[Result] = field(default_factory=list)
    skipped: list[Result] = field(default_factory=list)
    failed: list[Result] = field(default_factory=list)
    interrupted: bool = False
    started: str = ""
    finished: str = ""

    @property
    def counts(self) -> dict:
        return {"done": len(self.done), "skipped": len(self.skipped), "failed": len(self.failed)}

    def add(self, result: Result) -> None:
        {"done": self.done, "skipped": self.skipped, "failed": self.failed}[result.status].append(result)


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


# ---------------------------------------------------------------------------
# Finding the work
# ---------------------------------------------------------------------------

def _is_mp3(name: str) -> bool:
    return name.lower().endswith(".mp3")


def output_name(rel: str, to: str) -> str:
    """``rel`` with its suffix replaced by ``.wav`` / ``.npz`` (``a/b.MP3`` -> ``a/b.wav``)."""
    root, ext = os.path.splitext(rel)
    if not ext or not os.path.basename(root):  # ".mp3" alone is a name, not a suffix
        root = rel
    return root + "." + to


def find_jobs(src, dst, to: str = "wav") -> list[Job]:
    """The MP3s under ``src`` (``*.mp3`` in any case, walked recursively and
    sorted by relative path) with their outputs mirrored under ``dst``.

    ``src`` may also be a single file (of any name): its output is
    ``dst/NAME.wav``.  ``dst`` is always a folder (created when needed).
    Symbolic links to folders are not followed.  Jobs whose output already
    exists are included: see :attr:`Job.done`.

    Raises :class:`~mp3restore.errors.InputError` when ``src`` does not exist.
    """
    if to not in FORMATS:
        raise ValueError(f"to must be one of {', '.join(FORMATS)}, not {to!r}")
    src = os.fspath(src)
    dst = os.fspath(dst)
    if src == "-":
        raise InputError("batch reads files, not stdin: give a folder or an MP3 file")
    if os.path.isfile(src):
        rels = [os.path.basename(src)]
        src_dir = os.path.dirname(src)
    elif os.path.isdir(src):
        src_dir = src
        rels = []
        for folder, dirs, files in os.walk(src, onerror=_walk_error):
            dirs.sort()
            base = os.path.relpath(folder, src)
            for f in files:
                if _is_mp3(f) and os.path.isfile(os.path.join(folder, f)):
                    rels.append(f if base == os.curdir else os.path.join(base, f))
        rels.sort(key=lambda r: r.split(os.sep))
    else:
        raise InputError(f"{src}: no such file or folder")
    jobs = []
    for rel in rels:
        name = os.path.join(src_dir, rel) if src_dir else rel
        jobs.append(Job(os.path.abspath(name), os.path.abspath(os.path.join(dst, output_name(rel, to))), name))
    return jobs


def _walk_error(e: OSError) -> None:
    raise InputError(f"{e.filename}: cannot read the folder: {e.strerror or e}")


# ---------------------------------------------------------------------------
# Converting one file
# ---------------------------------------------------------------------------

_busy = False  # in a pool worker: a conversion is running (Ctrl-C interrupts it)


def _error_text(exc: BaseException, job: Job) -> str:
    """A one-line message for ``exc`` without ``job.input: `` in front."""
    if isinstance(exc, Mp3RestoreError):
        text = str(exc) or type(exc).__name__
    elif isinstance(exc, OSError):
        text = exc.strerror or str(exc) or type(exc).__name__
        if exc.filename is not None and not isinstance(exc.filename, int):
            text = f"{os.fsdecode(exc.filename)}: {text}"
    elif isinstance(exc, MemoryError):
        text = "out of memory"
    else:  # a bug: keep the batch going, but say what it was
        text = f"internal error: {type(exc).__name__}: {exc}"
    for prefix in (job.input + ": ", job.name + ": "):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    return " ".join(text.split())


def _convert(job: Job, options: Options) -> int:
    import mp3restore
    from .wavio import atomic_output, write_wav

    if os.path.normcase(os.path.realpath(job.input)) == os.path.normcase(os.path.realpath(job.output)):
        from .errors import OutputError

        raise OutputError(f"{job.output}: is the input file")
    folder = os.path.dirname(job.output)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if options.to == "npz":
        coefs = mp3restore.read_coefficients(job.input)
        with atomic_output(job.output) as fh:
            coefs.save(fh)
        if options.gapless:
            return int(coefs.trim_end - coefs.trim_start)
        return int(len(coefs.mdct) * 576)
    with mp3restore.open(job.input) as mp3:
        nframes = mp3.nsamples(gapless=options.gapless)
        blocks = mp3.blocks(options.blocksize, restore=options.restore, gapless=options.gapless,
                            dtype="float32", always_2d=True)
        with atomic_output(job.output) as fh:
            return int(write_wav(fh, blocks, mp3.samplerate, mp3.channels, nframes, options.subtype))


def convert_one(job: Job, options: Options) -> Result:
    """Convert ``job`` and return its :class:`Result`.

    The output is written through :func:`~mp3restore.wavio.atomic_output`
    (its folder is created), so it appears complete or not at all.  Errors
    (:class:`~mp3restore.errors.Mp3RestoreError`, ``OSError``, and any other
    ``Exception``, reported as an internal error) give a ``'failed'`` result;
    only ``KeyboardInterrupt``/``SystemExit`` propagate.  Decoder warnings are
    collected into the result instead of being printed.
    """
    global _busy
    t0 = time.perf_counter()
    caught = []
    _busy = True
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            samples = _convert(job, options)
    except Exception as e:  # noqa: BLE001 - one bad file must not stop a batch
        return Result(job, "failed", error=_error_text(e, job), seconds=time.perf_counter() - t0,
                      warnings=_warning_texts(caught, job))
    finally:
        _busy = False
    return Result(job, "done", seconds=time.perf_counter() - t0, samples=samples,
                  warnings=_warning_texts(caught, job))


def _warning_texts(caught, job: Job) -> list[str]:
    from .errors import Mp3RestoreWarning

    out = []
    for w in caught or ():
        if not issubclass(w.category, Mp3RestoreWarning):
            continue
        text = _error_text(Mp3RestoreError(str(w.message)), job)
        if text not in out:
            out.append(text)
        if len(out) >= MAX_WARNINGS:
            break
    return out


# ---------------------------------------------------------------------------
# Running a batch
# ---------------------------------------------------------------------------

def default_jobs() -> int:
    """The CPUs this process may use."""
    from ._warm import cores

    return cores()


def _worker_init() -> None:
    """Pool workers: Ctrl-C (sent to the whole process group by a terminal)
    interrupts a running conversion, whose temporary file is then removed, and
    is ignored by an idle worker (no traceback; the parent shuts the pool down)."""
    import signal

    def on_sigint(signum, frame):
        if _busy:
            raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGINT, on_sigint)
    except (ValueError, OSError):
        pass


def _pool_context():
    """``forkserver`` where it exists (workers start clean: no inherited threads
    or half-initialised numba state), else ``spawn``."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _crashed(job: Job, exc: BaseException) -> Result:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Result(job, "failed", error=f"the worker failed: {text}")


def run_batch(jobs, options: Options, jobs_n: int = 1, scheduler: str | None = None, progress=None) -> Summary:
    """Run ``jobs``; return the :class:`Summary` (results as they complete).

    Jobs whose output exists are skipped.  ``jobs_n`` 1 converts in this
    process; more uses a ``ProcessPoolExecutor`` of that many workers.
    ``scheduler`` (an address such as ``tcp://host:8786``) runs the
    conversions on that Dask distributed cluster instead (``jobs_n`` is then
    unused); its workers must see the same paths.  ``progress(result)``, if
    given, is called in this process once per job, skipped ones included.

    Ctrl-C (``KeyboardInterrupt``) cancels the pending work and returns the
    summary so far with ``interrupted`` set; conversions that were running
    are interrupted or finish, and never leave a partial output.
    """
    summary = Summary(started=_now())

    def report(result):
        summary.add(result)
        if progress is not None:
            progress(result)

    todo = []
    try:
        for job in jobs:
            if job.done:
                report(Result(job, "skipped"))
            else:
                todo.append(job)
        if not todo:
            pass
        elif scheduler is not None:
            _run_dask(todo, options, scheduler, report)
        elif jobs_n <= 1 or len(todo) == 1:
            for job in todo:
                report(convert_one(job, options))
        else:
            _run_pool(todo, options, min(int(jobs_n), len(todo)), report)
    except KeyboardInterrupt:
        summary.interrupted = True
    summary.finished = _now()
    return summary


def _run_pool(todo, options, workers, report) -> None:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(), initializer=_worker_init)
    futures = {}
    reported = set()
    try:
        futures = {pool.submit(convert_one, job, options): job for job in todo}
        for fut in as_completed(futures):
            reported.add(fut)
            report(_outcome(fut, futures[fut]))
    except KeyboardInterrupt:
        for fut in futures:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        # conversions that finished while shutting down did produce their output
        for fut, job in futures.items():
            if fut not in reported and fut.done() and not fut.cancelled() and fut.exception() is None:
                report(fut.result())
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _outcome(fut, job) -> Result:
    try:
        return fut.result()
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001 - a crashed worker (BrokenProcessPool, KilledWorker, ...)
        return _crashed(job, e)


def _worker_version() -> str:
    """Run on each Dask worker by :func:`_check_workers`: fails there unless mp3restore imports."""
    from . import __version__

    return __version__


def _check_workers(client) -> None:
    """Make sure the cluster's workers can run mp3restore before sending them
    every file (each would fail the same way otherwise)."""
    from . import __version__

    try:
        versions = client.run(_worker_version)
    except Exception as e:  # noqa: BLE001 - whatever the workers raised
        raise Mp3RestoreError(f"the Dask workers cannot run mp3restore (is it installed there, "
                              f"in the same environment?): {type(e).__name__}: {e}") from None
    from .cli import message

    if not versions:
        message("warning", "the Dask cluster has no workers yet; waiting for some")
    others = sorted({v for v in versions.values() if v != __version__})
    if others:
        message("warning", f"the Dask workers run mp3restore {', '.join(others)}, not {__version__}")


def _run_dask(todo, options, scheduler, report) -> None:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise Mp3RestoreError(DASK_MISSING) from None
    try:
        client = Client(scheduler, timeout="30s", set_as_default=False)
    except (OSError, ValueError, TypeError) as e:
        raise Mp3RestoreError(f"cannot connect to the Dask scheduler at {scheduler}: {e}") from None
    futures = []
    try:
        _check_workers(client)
        futures = client.map(convert_one, todo, options=options, pure=False)
        jobs = {f.key: job for f, job in zip(futures, todo)}
        for fut in as_completed(futures, loop=client.loop):
            report(_outcome(fut, jobs[fut.key]))
            fut.release()
    except KeyboardInterrupt:
        try:
            client.cancel(futures)
        except Exception:  # noqa: BLE001 - best effort while interrupted
            pass
        raise
    finally:
        client.close()


# ---------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------

def manifest(summary: Summary, src, dst, options: Options, run: dict | None = None) -> dict:
    """The JSON document of a run (see :func:`write_manifest`)."""
    def entry(r: Result, **kw):
        d = {"input": r.job.input, "output": r.job.output, **kw}
        if r.warnings:
            d["warnings"] = list(r.warnings)
        return d

    def order(results):
        return sorted(results, key=lambda r: r.job.input.split(os.sep))

    return {
        "version": MANIFEST_VERSION,
        "src": os.path.abspath(os.fspath(src)),
        "dst": os.path.abspath(os.fspath(dst)),
        "options": {**options.as_dict(), **(run or {})},
        "started": summary.started,
        "finished": summary.finished,
        "interrupted": summary.interrupted,
        "counts": summary.counts,
        "failed": [entry(r, error=r.error) for r in order(summary.failed)],
        "done": [entry(r, seconds=round(r.seconds, 3), samples=r.samples) for r in order(summary.done)],
    }


def write_manifest(path, summary: Summary, src, dst, options: Options, run: dict | None = None) -> None:
    """Write the run's manifest to ``path`` atomically (its folder is created).

    ``{"version": 1, "src", "dst", "options", "started", "finished",
    "interrupted", "counts": {"done", "skipped", "failed"}, "failed": [{"input",
    "output", "error"}], "done": [{"input", "output", "seconds", "samples"}]}``;
    entries of files that decoded with warnings also have ``"warnings"``.
    """
    from .wavio import atomic_output

    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    text = json.dumps(manifest(summary, src, dst, options, run), indent=2) + "\n"
    with atomic_output(path) as fh:
        fh.write(text.encode("utf-8"))


# ---------------------------------------------------------------------------
# The command (argument parsing is in mp3restore.cli)
# ---------------------------------------------------------------------------

class _Progress:
    """Per-result callback: ticks a tqdm bar (when there is one) and prints
    failures and decoder warnings without breaking it."""

    def __init__(self, total: int, show_bar: bool, force: bool = False):
        self.bar = None
        if show_bar and total:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
                if force:
                    from .cli import message

                    message("warning", "--progress needs tqdm (pip install tqdm)")
            if tqdm is not None:
                self.bar = tqdm(total=total, desc="batch", unit="file", file=sys.stderr, dynamic_ncols=True,
                                leave=False)

    def say(self, text: str) -> None:
        from .cli import PROG, message

        if self.bar is None:
            message("warning", text)
            return
        try:
            self.bar.write(f"{PROG}: warning: {text}", file=sys.stderr)
        except (OSError, ValueError):
            pass

    def __call__(self, result: Result) -> None:
        for w in result.warnings:
            self.say(f"{result.job.name}: {w}")
        if result.status == "failed":
            self.say(f"{result.job.name}: {result.error}")
        if self.bar is not None:
            self.bar.set_postfix_str(os.path.basename(result.job.name), refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _first_run(path, restore, quiet):
    """Local workers load the kernels from this machine's numba cache: on a cold one,
    compile them here first, on two cores (:mod:`mp3restore._warm`), instead of in
    every worker at once."""
    from . import _warm
    from .api import open as open_mp3
    from .cli import first_run

    with _warm.helper_if(first_run(quiet, restore=restore), restore) as helper:
        if helper is None:
            return
        try:
            with open_mp3(path) as mp3:
                _warm.compile_with(helper, mp3, restore)
        except Mp3RestoreError:  # an unreadable first file: the workers compile, and report it
            pass


def command(args) -> int:
    """Run ``mp3restore batch`` with parsed arguments; return the exit code."""
    from .cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, _isatty, message

    options = Options(to=args.to, restore=args.restore, gapless=args.gapless, subtype=args.subtype)
    jobs = find_jobs(args.src, args.dst, options.to)
    manifest_path = args.manifest or os.path.join(args.dst, MANIFEST_NAME)
    if args.scheduler is not None:
        try:  # fail before any work when the extra is missing
            import dask.distributed  # noqa: F401
        except ImportError:
            raise Mp3RestoreError(DASK_MISSING) from None
    if not jobs:
        message("warning", f"{args.src}: no .mp3 files found")
    jobs_n = args.jobs if args.jobs is not None else default_jobs()
    if args.scheduler is None and jobs:
        _first_run(jobs[0].input, options.restore, args.quiet)
    show_bar = args.progress or (not args.quiet and _isatty(sys.stderr))
    progress = _Progress(len(jobs), show_bar, force=args.progress)
    try:
        summary = run_batch(jobs, options, jobs_n, scheduler=args.scheduler, progress=progress)
    finally:
        progress.close()
    run = {"jobs": None if args.scheduler else jobs_n, "scheduler": args.scheduler}
    write_manifest(manifest_path, summary, args.src, args.dst, options, run)
    c = summary.counts
    state = "interrupted: " if summary.interrupted else ""
    message("batch", f"{state}{c['done']} done, {c['skipped']} skipped, {c['failed']} failed (see {manifest_path})")
    if summary.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_ERROR if summary.failed else EXIT_OK


__all__ = ["Job", "Options", "Result", "Summary", "find_jobs", "convert_one", "run_batch", "manifest",
           "write_manifest", "output_name", "default_jobs", "command", "MANIFEST_NAME"]
