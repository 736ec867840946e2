#!/usr/bin/env python3
"""Speed and memory of mp3restore against peer decoders (never timing asserts in tests).

Usage::

    python tools/make_bench_data.py            # once: makes bench-data/ (git-ignored)
    python tools/bench.py [--data bench-data] [--repeat 7] [--only NAME] [--markdown]
                          [--quick] [--no-memory] [--no-cli] [--time-long]

For every file of ``--data`` (``30s_cbr128.mp3``, ``30s_vbr2.mp3``, ``30s_cbr64.mp3``,
``30s_cbr64_24k.mp3``, ``30s_cbr64_loud.mp3``, ``10min_cbr128.mp3``, ``60min_cbr128.mp3``
when present):

* **Speed**, in this one process, interleaved: each decoder is called once as a
  warm-up (numba's compilation / cache load and the OS file cache are not
  timed), then ``--repeat`` rounds, each round calling every decoder once
  (round robin; the starting decoder rotates from round to round so none is
  always first).  Reported: median and minimum wall time, x-realtime (audio
  duration / median) and the speed relative to libmpg123
  (``t_libmpg123 / t_decoder``: above 1 is faster than libmpg123).

  ====================== ====================================================
  mp3restore plain       ``mp3restore.read(f, restore=False)``
  mp3restore restored    ``mp3restore.read(f, restore=True)``
  mp3restore threads=2   ``mp3restore.read(f, restore=False, threads=2)``, only
                         if ``read`` has a ``threads`` parameter
  libmpg123              ``soundfile.read(f, dtype='float32')`` (libsndfile)
  dr_mp3                 ``miniaudio.mp3_read_file_f32(f)``
  ffmpeg CLI             ``ffmpeg -v error -threads 1 -i f -f f32le -y /dev/null``
                         (whole process: includes process start-up)
  ====================== ====================================================

  Files longer than 20 minutes (60min_cbr128.mp3) are only used for memory
  unless ``--time-long``.

* **Memory**: for each decoder a fresh child process (``python -c``) imports
  the decoder, decodes the file once and reports its own peak RSS
  (``getrusage(RUSAGE_SELF).ru_maxrss``; for ffmpeg, a small Python parent
  reports ``RUSAGE_CHILDREN``, which then covers ffmpeg alone).  So memory is
  per decoder, not the bench process's maximum.  "peak" is the whole process
  (interpreter + imports + decode), "delta" is peak minus the RSS right after
  importing the decoder's modules (for mp3restore: and numba, which
  ``import mp3restore`` defers; so its delta is loading the cached kernels
  plus decoding).  An extra row,
  ``mp3restore blocks``, streams with ``mp3restore.blocks(f, 65536)`` (memory
  only).

* **Command line** (on ``10min_cbr128.mp3``, or the 30 s file with
  ``--quick``): whole-process time, median of ``--cli-repeat`` (5) runs after
  one warm-up run each (warm numba cache), interleaved, of
  ``mp3restore decode FILE -o x.wav -y --no-restore -q`` vs
  ``ffmpeg -threads 1 -i FILE y.wav`` (and ``mpg123 -w``), plus
  ``mp3restore --help`` and ``mp3restore info FILE``.  The ``mp3restore``
  executable is used when it is on PATH, ``python -m mp3restore`` otherwise.

The working tree's ``mp3restore`` is benchmarked (this repository is put first
on ``sys.path`` / ``PYTHONPATH``).  A decoder that cannot be imported or run
is shown as ``n/a`` with the reason; the rest of the run goes on.  Progress
goes to stderr, the tables to stdout; ``--markdown`` adds a markdown version
headed by the machine (CPU, cores, Python, numba, numpy, date) for the README.

``--quick``: only the 30 s files, 3 rounds unless ``--repeat`` is given, the
command-line benchmark on the 30 s file.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gc
import hashlib
import inspect
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

FILES = ["30s_cbr128.mp3", "30s_vbr2.mp3", "30s_cbr64.mp3", "30s_cbr64_24k.mp3", "30s_cbr64_loud.mp3",
         "10min_cbr128.mp3", "60min_cbr128.mp3"]
QUICK_FILES = ["30s_cbr128.mp3", "30s_vbr2.mp3"]
LONG_SECONDS = 20 * 60          # longer files: memory only unless --time-long
REFERENCE = "libmpg123"         # speed ratios are relative to this decoder
NA = "n/a"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


# ---------------------------------------------------------------------------
# Decoders
# ---------------------------------------------------------------------------

@dataclass
class Decoder:
    """One decoder: in-process (``imports`` + ``call``, an expression of ``F``) or a command."""

    name: str
    imports: str = ""                 # Python statement(s) run once
    call: str = ""                    # expression decoding the file named F
    cmd: list | None = None           # command line, "{F}" replaced by the file
    timed: bool = True                # False: memory only
    needs: object = None              # callable() -> "" if usable, else the reason for n/a
    fn: object = None                 # callable(F), set by prepare()
    unavailable: str = ""             # reason for n/a

    def prepare(self) -> None:
        try:
            if self.cmd is not None:
                exe = shutil.which(self.cmd[0])
                if exe is None:
                    raise FileNotFoundError(f"`{self.cmd[0]}` not on PATH")
                cmd = [exe] + self.cmd[1:]

                def run(F, cmd=cmd):
                    p = subprocess.run([F if a == "{F}" else a for a in cmd], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    if p.returncode:
                        raise RuntimeError(f"exit {p.returncode}: {_last_line(p.stderr)}")
                    return None
                self.fn = run
                return
            ns: dict = {}
            exec(self.imports, ns)
            if self.needs is not None:
                msg = self.needs()
                if msg:
                    self.unavailable = f"{NA} ({msg})"
                    return
            self.fn = eval(f"lambda F: {self.call}", ns)
        except ImportError as e:
            self.unavailable = f"{NA} (ImportError: {e})"
        except Exception as e:  # noqa: BLE001 - any failure makes just this decoder n/a
            self.unavailable = f"{NA} ({type(e).__name__}: {e})"

    def child_code(self) -> str:
        """``python -c`` code decoding argv[1] once and printing 'RSS <after import> <peak>' (KiB)."""
        if self.cmd is not None:
            return textwrap.dedent(f"""
                import resource, subprocess, sys
                cmd = [sys.argv[1] if a == "{{F}}" else a for a in {self.cmd!r}]
                p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                if p.returncode:
                    sys.exit(p.stderr.decode(errors="replace")[:300])
                print("RSS", -1, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
                """)
        # (ru_maxrss of the command: its floor is this small wrapper's RSS at fork, ~14 MiB)
        # Not ru_maxrss: Linux carries the forking parent's high-water mark over
        # exec, so a child of this (large) process would report at least our size.
        # VmHWM belongs to the child's own address space.
        return textwrap.dedent("""
            import resource, sys
            def hwm():
                try:
                    with open("/proc/self/status") as f:
                        for line in f:
                            if line.startswith("VmHWM:"):
                                return int(line.split()[1])
                except OSError:
                    pass
                return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            {imports}
            F = sys.argv[1]
            base = hwm()
            r = (lambda F: {call})(F)
            print("RSS", base, hwm())
            """).format(imports=self.imports, call=self.call)


def _threads_check():
    import mp3restore
    try:
        params = inspect.signature(mp3restore.read).parameters
    except (TypeError, ValueError) as e:
        return f"signature of mp3restore.read unknown: {e}"
    if "threads" not in params:
        return "mp3restore.read() has no `threads` parameter"
    return ""


def make_decoders() -> list[Decoder]:
    # numba is imported explicitly so that the memory baseline includes it
    # ("import mp3restore" defers it to the first decode)
    m = "import mp3restore\nimport numba"
    return [
        Decoder("mp3restore plain", m, "mp3restore.read(F, restore=False)"),
        Decoder("mp3restore restored", m, "mp3restore.read(F, restore=True)"),
        Decoder("mp3restore threads=2", m, "mp3restore.read(F, restore=False, threads=2)",
                needs=_threads_check),
        Decoder("libmpg123", "import soundfile", "soundfile.read(F, dtype='float32')"),
        Decoder("dr_mp3", "import miniaudio", "miniaudio.mp3_read_file_f32(F)"),
        Decoder("ffmpeg CLI", cmd=["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", "{F}",
                                   "-f", "f32le", "-y", "/dev/null"]),
        Decoder("mp3restore blocks", m,
                "[None for b in mp3restore.blocks(F, 65536, restore=False)]", timed=False),
    ]


def frames_of(result):
    """Samples per channel of a decoder's result, if it can be told."""
    if result is None:
        return None
    if isinstance(result, tuple) and result:
        result = result[0]
    n = getattr(result, "num_frames", None)         # miniaudio.DecodedSoundFile
    if n is not None:
        return int(n)
    shape = getattr(result, "shape", None)
    if shape:
        return int(shape[0])
    return None


def digest_of(result):
    if isinstance(result, tuple) and result:
        result = result[0]
    if hasattr(result, "tobytes") and hasattr(result, "shape"):
        import numpy as np
        return hashlib.sha1(np.ascontiguousarray(result).tobytes()).hexdigest()
    return None


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------

@dataclass
class Row:
    decoder: str
    times: list = field(default_factory=list)
    frames: int | None = None
    note: str = ""                 # n/a / error text instead of numbers
    same_as: str = ""              # output bit-identical to this decoder's
    peak_kib: int | None = None
    base_kib: int | None = None
    mem_note: str = ""
    timed: bool = True

    @property
    def median(self):
        return statistics.median(self.times) if self.times else None


def audio_info(path: Path):
    """(duration s, samples per channel, channels), from mp3restore.info or libsndfile."""
    try:
        import mp3restore
        i = mp3restore.info(str(path))
        return float(i.duration), int(i.samples), int(i.channels)
    except Exception:  # noqa: BLE001
        pass
    try:
        import soundfile
        i = soundfile.info(str(path))
        return float(i.duration), int(i.frames), int(i.channels)
    except Exception:  # noqa: BLE001
        return None, None, None


def time_file(path: Path, decoders: list[Decoder], repeat: int, timed: bool, out_values: int = 0) -> dict[str, Row]:
    """Warm up and time every decoder on ``path``; ``out_values``: samples x channels of the
    decoded output (the size of the settle allocation after a command-line decoder, 0: none)."""
    rows = {d.name: Row(d.name, timed=d.timed and timed) for d in decoders}
    active = []
    digests = {}
    F = str(path)
    for d in decoders:
        row = rows[d.name]
        if d.unavailable:
            row.note = d.unavailable
            continue
        if not row.timed:
            continue
        log(f"  warm-up {d.name} ...")
        try:
            r = d.fn(F)
            row.frames = frames_of(r)
            if d.name.startswith("mp3restore"):
                digests[d.name] = digest_of(r)
                for other, dg in digests.items():
                    if other != d.name and dg is not None and dg == digests[d.name]:
                        row.same_as = other
                        break
            del r
            active.append(d)
        except Exception as e:  # noqa: BLE001
            row.note = f"error ({type(e).__name__}: {str(e).strip()[:120]})"
    import numpy as np

    shuffle = random.Random(f"{path.name} {repeat}").shuffle
    for rep in range(repeat if timed else 0):
        order = list(active)
        shuffle(order)
        log(f"  round {rep + 1}/{repeat}: " + ", ".join(d.name for d in order))
        for d in order:
            gc.collect()
            try:
                t0 = time.perf_counter()
                r = d.fn(F)
                dt = time.perf_counter() - t0
                del r
                rows[d.name].times.append(dt)
            except Exception as e:  # noqa: BLE001
                rows[d.name].note = f"error ({type(e).__name__}: {str(e).strip()[:120]})"
                rows[d.name].times.clear()
                active.remove(d)
            if d.cmd is not None and out_values:
                np.ones(out_values, np.float32)  # untimed: see the module docstring
    return rows


def memory_file(path: Path, decoders: list[Decoder], rows: dict[str, Row]) -> None:
    env = child_env()
    for d in decoders:
        row = rows[d.name]
        if d.unavailable:
            row.mem_note = NA
            continue
        log(f"  memory {d.name} ...")
        try:
            p = subprocess.run([sys.executable, "-c", d.child_code(), str(path)], env=env,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600)
            line = [ln for ln in p.stdout.splitlines() if ln.startswith("RSS ")]
            if p.returncode or not line:
                err = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
                row.mem_note = f"error ({err[:100]})"
                continue
            _, base, peak = line[-1].split()
            row.base_kib = int(base) if int(base) >= 0 else None
            row.peak_kib = int(peak)
        except Exception as e:  # noqa: BLE001
            row.mem_note = f"error ({type(e).__name__}: {e})"


def median_run(cmd, env, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True)
        ts.append(time.perf_counter() - t0)
        if p.returncode:
            raise RuntimeError(f"exit {p.returncode}: {_last_line(p.stderr)}")
    return ts


def _last_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


def cli_bench(path: Path, repeat: int) -> tuple[list, list[str]]:
    """Rows (name, command, times or note) of the command-line benchmark, and notes."""
    env = child_env()
    tmp = Path(tempfile.mkdtemp(prefix="mp3restore-bench-"))
    notes = []
    try:
        exe = shutil.which("mp3restore")
        if exe:
            cli = [exe]
            notes.append(f"mp3restore = {exe}")
        else:
            cli = [sys.executable, "-m", "mp3restore"]
            notes.append("mp3restore is not on PATH: `python -m mp3restore` (PYTHONPATH=repo) is timed instead")
        F = str(path)
        x, y, z = str(tmp / "x.wav"), str(tmp / "y.wav"), str(tmp / "z.wav")
        cases = [
            ("mp3restore decode --no-restore", cli + ["decode", F, "-o", x, "-y", "--no-restore", "-q"]),
            ("ffmpeg -threads 1 -> wav", ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-y", "-i", F, y]),
            ("mpg123 -w (reference)", ["mpg123", "-q", "-w", z, F]),
            ("mp3restore --help", cli + ["--help"]),
            ("mp3restore info", cli + ["info", F]),
        ]
        active = []
        results = {}
        for name, cmd in cases:
            if shutil.which(cmd[0]) is None:
                results[name] = (cmd, f"{NA} (`{cmd[0]}` not on PATH)")
                continue
            log(f"  warm-up {name} ...")
            try:
                median_run(cmd, env, 1)
                results[name] = (cmd, [])
                active.append(name)
            except Exception as e:  # noqa: BLE001
                results[name] = (cmd, f"error ({e})")
        for rep in range(repeat):
            k = rep % max(1, len(active))
            for name in active[k:] + active[:k]:
                cmd, ts = results[name]
                if not isinstance(ts, list):
                    continue
                try:
                    ts += median_run(cmd, env, 1)
                except Exception as e:  # noqa: BLE001
                    results[name] = (cmd, f"error ({e})")
        rows = [(name, results[name][0], results[name][1]) for name, _ in cases]
        return rows, notes
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# Machine and formatting
# ---------------------------------------------------------------------------

def _version(mod):
    try:
        m = __import__(mod)
        return getattr(m, "__version__", "?")
    except Exception:  # noqa: BLE001
        return NA


def _cmd_first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return ((out.stdout or out.stderr).strip().splitlines() or ["?"])[0]
    except Exception:  # noqa: BLE001
        return NA


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "?"
    git = "?"
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        git = rev + ("+dirty" if dirty else "") if rev else "?"
    except OSError:
        pass
    sfv = NA
    try:
        import soundfile
        sfv = f"soundfile {soundfile.__version__}, libsndfile {soundfile.__libsndfile_version__}"
    except Exception:  # noqa: BLE001
        pass
    ff = _cmd_first_line(["ffmpeg", "-version"]) if shutil.which("ffmpeg") else NA
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} ({usable} usable)",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numba": _version("numba"),
        "numpy": _version("numpy"),
        "mp3restore": f"{_version('mp3restore')} (git {git})",
        "peers": f"{sfv}; miniaudio {_version('miniaudio')}; {' '.join(ff.split()[:3])}",
        "load average at start": load,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def fmt_s(t):
    if t is None:
        return ""
    return f"{t:.3f}" if t < 10 else f"{t:.2f}"


def fmt_mib(kib):
    return "" if kib is None else f"{kib / 1024:.0f}"


def decoder_table(results: list[tuple[str, float | None, dict[str, Row]]]) -> tuple[list[str], list[list[str]]]:
    head = ["file", "decoder", "median s", "min s", "x realtime", f"speed vs {REFERENCE}",
            "samples", "peak RSS MiB", "delta MiB"]
    rows = []
    for fname, dur, rs in results:
        ref = rs.get(REFERENCE)
        tref = ref.median if ref else None
        for r in rs.values():
            med = r.median
            if r.note:
                timing = [r.note.split(" (")[0], "", "", "", ""]
            elif not r.timed:
                timing = ["-", "", "", "", ""]
            elif med is None:
                timing = ["-", "", "", "", ""]
            else:
                xrt = f"{dur / med:.0f}x" if dur else ""
                ratio = f"{tref / med:.2f}" if tref else ""
                samples = "" if r.frames is None else str(r.frames)
                if r.same_as:
                    samples += f" (= {r.same_as.replace('mp3restore ', '')})"
                timing = [fmt_s(med), fmt_s(min(r.times)), xrt, ratio, samples]
            if r.mem_note:
                mem = [r.mem_note.split(" (")[0] if not r.note else "", ""]
            else:
                delta = (r.peak_kib - r.base_kib) if (r.peak_kib is not None and r.base_kib is not None) else None
                mem = [fmt_mib(r.peak_kib), fmt_mib(delta) if delta is not None else ("-" if r.peak_kib else "")]
            rows.append([fname, r.decoder] + timing + mem)
    return head, rows


def restoration_overhead(results) -> list[str]:
    """Per file, what restoration adds to the plain decode: the median over rounds of
    ``restored / plain - 1`` (the two run in the same round, so drift between rounds
    cancels), and the same of the minima.  The target is at most 25 %."""
    out = []
    for fname, _dur, rs in results:
        p, r = rs.get("mp3restore plain"), rs.get("mp3restore restored")
        if not (p and r and p.times and len(p.times) == len(r.times)):
            continue
        per_round = statistics.median(b / a - 1.0 for a, b in zip(p.times, r.times))
        out.append(f"{fname} {100 * per_round:+.1f}% (minima {100 * (min(r.times) / min(p.times) - 1):+.1f}%)")
    return out


def cli_table(rows) -> tuple[list[str], list[list[str]]]:
    head = ["command", "median s", "min s", "speed vs ffmpeg"]
    tff = None
    for name, _cmd, ts in rows:
        if name.startswith("ffmpeg") and isinstance(ts, list) and ts:
            tff = statistics.median(ts)
    out = []
    for name, _cmd, ts in rows:
        if isinstance(ts, list) and ts:
            med = statistics.median(ts)
            decodes = name.split()[0] in ("ffmpeg", "mpg123") or " decode" in name
            ratio = f"{tff / med:.2f}" if (tff and decodes) else ""
            out.append([name, fmt_s(med), fmt_s(min(ts)), ratio])
        else:
            out.append([name, ts.split(" (")[0] if isinstance(ts, str) else "-", "", ""])
    return head, out


def cli_problems(rows) -> list[str]:
    return [f"{name}: {ts}" for name, _cmd, ts in rows if isinstance(ts, str)]


def plain(head, rows, group_first=False) -> str:
    rows = [list(r) for r in rows]
    if group_first:
        prev = None
        for r in rows:
            if r[0] == prev:
                r[0] = ""
            else:
                prev = r[0]
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    num = [_numcol(rows, i) for i in range(len(head))]

    def line(cells):
        return "  ".join((str(c).rjust(w[i]) if num[i] else str(c).ljust(w[i])) for i, c in enumerate(cells)).rstrip()
    sep = "  ".join("-" * x for x in w)
    return "\n".join([line(head), sep] + [line(r) for r in rows])


def _numcol(rows, i):
    """Right-align column i: it has numbers, and nothing else but n/a, -, error."""
    vals = [str(r[i]).split(" ")[0] for r in rows if r[i]]
    real = [v for v in vals if v not in (NA, "-", "error")]
    return bool(real) and all(_numeric(v) for v in real)


def _numeric(s):
    s = str(s).split(" ")[0].rstrip("x")
    try:
        float(s)
        return True
    except ValueError:
        return False


def markdown(head, rows, group_first=False) -> str:
    rows = [list(r) for r in rows]
    if group_first:
        prev = None
        for r in rows:
            if r[0] == prev:
                r[0] = ""
            else:
                prev = r[0]
    num = [_numcol(rows, i) for i in range(len(head))]
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---:" if n else "---" for n in num) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


# ---------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=None)
    ap.add_argument("--data", default=str(REPO / "bench-data"), help="folder made by tools/make_bench_data.py")
    ap.add_argument("--repeat", type=int, default=None, help="timed rounds per file (default 7; 3 with --quick)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="only this file (e.g. 30s_vbr2 or 30s_vbr2.mp3); may be repeated")
    ap.add_argument("--markdown", action="store_true", help="also print markdown tables for the README")
    ap.add_argument("--quick", action="store_true", help="30 s files only, 3 rounds, CLI benchmark on the 30 s file")
    ap.add_argument("--no-memory", action="store_true", help="skip the per-decoder peak RSS children")
    ap.add_argument("--no-cli", action="store_true", help="skip the command-line benchmark")
    ap.add_argument("--cli-repeat", type=int, default=5, help="runs per command in the CLI benchmark (default 5)")
    ap.add_argument("--time-long", action="store_true", help="also time files longer than 20 minutes")
    args = ap.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 7)
    if repeat < 1:
        ap.error("--repeat must be at least 1")

    data = Path(args.data)
    names = QUICK_FILES if args.quick else FILES
    if args.only:
        want = {n if n.endswith(".mp3") else n + ".mp3" for n in args.only}
        unknown = [n for n in want if not (data / n).is_file()]
        names = [n for n in FILES if n in want] + sorted(n for n in want if n not in FILES and n not in unknown)
        for n in unknown:
            log(f"bench: {data / n} does not exist")
    files = [data / n for n in names if (data / n).is_file()]
    missing = [n for n in names if not (data / n).is_file() and not n.startswith("60min")]
    if missing and not args.only:
        log(f"bench: missing in {data}: {', '.join(missing)} (run: python tools/make_bench_data.py)")
    if not files:
        log(f"bench: no benchmark files in {data}; run: python tools/make_bench_data.py --out {data}")
        return 1

    info = machine()
    log("machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()))
    decoders = make_decoders()
    for d in decoders:
        d.prepare()
        if d.unavailable:
            log(f"{d.name}: {d.unavailable}")

    results = []
    sizes = []
    memory_only = []
    for path in files:
        dur, nsamp, nch = audio_info(path)
        if nsamp and nch:
            sizes.append(f"{path.name} {nsamp * nch * 4 / 2**20:.0f} MiB")
        timed = args.time_long or dur is None or dur <= LONG_SECONDS
        if not timed:
            memory_only.append(path.name)
        log(f"{path.name}: {dur} s" + ("" if timed else " (memory only; --time-long to time it)"))
        rows = time_file(path, decoders, repeat, timed, (nsamp or 0) * (nch or 0))
        if not args.no_memory:
            memory_file(path, decoders, rows)
        results.append((path.name, dur, rows))

    cli_rows, cli_notes, cli_file = None, [], None
    if not args.no_cli:
        pick = ["30s_cbr128.mp3"] if args.quick else ["10min_cbr128.mp3", "30s_cbr128.mp3"]
        cli_file = next((data / n for n in pick if (data / n).is_file()), None) or files[0]
        log(f"command line on {cli_file.name}")
        try:
            cli_rows, cli_notes = cli_bench(cli_file, args.cli_repeat)
        except Exception as e:  # noqa: BLE001
            cli_notes = [f"command-line benchmark failed: {type(e).__name__}: {e}"]

    # ---- report
    head, rows = decoder_table(results)
    notes = [
        f"{repeat} interleaved rounds after one warm-up call per decoder, all in one process; "
        "median and minimum wall time.",
        f"x realtime = audio duration / median; speed vs {REFERENCE} = t_{REFERENCE} / t (above 1: faster).",
        "samples: per channel; (= plain): output bit-identical to mp3restore plain.",
        "ffmpeg CLI: a whole process (includes process start-up); its memory is ffmpeg's own peak RSS.",
        "peak RSS: a fresh child process that decodes once (interpreter + imports + decode); delta: peak - "
        "RSS after importing the decoder's modules (for mp3restore: and numba, so its delta is loading "
        "the cached kernels + decoding).",
        "mp3restore blocks: mp3restore.blocks(f, 65536, restore=False), memory only.",
    ]
    seen = set()
    for fname, _d, rs in results:
        for r in rs.values():
            for what, text in (("", r.note), ("memory: ", r.mem_note)):
                if " (" in text and (r.decoder, what + text) not in seen:
                    seen.add((r.decoder, what + text))
                    where = "" if text.startswith(NA) else f" on {fname}"
                    notes.append(f"{r.decoder}{where}: {what}{text}")
    if memory_only:
        notes.append(f"memory only (over {LONG_SECONDS // 60} min; --time-long times them too): "
                     + ", ".join(memory_only) + ".")
    if sizes:
        notes.append("float32 output arrays (gapless length): " + ", ".join(sizes) + ".")
    overhead = restoration_overhead(results)
    if overhead:
        notes.append("restoration overhead (restored / plain - 1, median over rounds; target <= 25%): "
                     + ", ".join(overhead) + ".")
    print()
    print("Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()))
    print()
    print(plain(head, rows, group_first=True))
    for n in notes:
        print("  " + n)
    if cli_rows is not None or cli_notes:
        print()
        print(f"Command line, {cli_file.name if cli_file else '?'}: whole-process wall time, "
              f"median of {args.cli_repeat} after one warm-up run each")
        if cli_rows:
            ch, cr = cli_table(cli_rows)
            print(plain(ch, cr))
            for name, cmd, _ts in cli_rows:
                print(f"  {name}: {' '.join(_short(c) for c in cmd)}")
            for n in cli_problems(cli_rows):
                print("  " + n)
        for n in cli_notes:
            print("  " + n)

    if args.markdown:
        print()
        print("<!-- markdown: paste into README.md -->")
        print()
        print("Benchmark (`python tools/make_bench_data.py && python tools/bench.py --markdown`):")
        print()
        for k, v in info.items():
            print(f"* {k}: {v}")
        print()
        print(markdown(head, rows, group_first=True))
        print()
        for n in notes:
            print(f"* {n}")
        if cli_rows:
            print()
            print(f"Command line on `{cli_file.name}` (whole process, median of {args.cli_repeat}, warm numba cache):")
            print()
            ch, cr = cli_table(cli_rows)
            cr = [[f"`{_mdcmd(cmd)}`"] + r[1:] for r, (_n, cmd, _t) in zip(cr, cli_rows)]
            print(markdown(ch, cr))
            print()
            for n in cli_problems(cli_rows) + cli_notes:
                print(f"* {n}")
    return 0


def _short(arg: str) -> str:
    a = str(arg)
    if a == sys.executable:
        return "python"
    if os.path.isabs(a) and ("mp3restore-bench-" in a or a.startswith(str(REPO))):
        return os.path.basename(a) if "mp3restore-bench-" in a else os.path.relpath(a, REPO)
    return a


def _mdcmd(cmd) -> str:
    return " ".join(_short(c) for c in cmd).replace("-nostdin ", "")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("bench: interrupted")
        sys.exit(130)
