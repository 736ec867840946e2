"""The first run after installing: compile the kernels on two cores at once.

numba compiles each kernel on its first call, one after the other (about 25 s for
a restored decode on a cold cache, most of it LLVM).  The decoder's, the
synthesis' and the restoration's kernels do not call each other, so when the
cache is cold and there are two cores, ``mp3restore decode`` starts a helper
process (``python -m mp3restore._warm PART``) that compiles the restoration's
kernels (the synthesis' with ``--no-restore``) into numba's on-disk cache while
the CLI's own process compiles the decoder's on the first frame of its input,
then the synthesis'.  The two halves take about as long (8 to 10 s each here).
The CLI then waits for the helper and decodes, loading the helper's kernels from
the cache.  Both compile on a shipped excerpt's coefficients
(``data/warmup.npz``: 12 frames of a 64 kbps joint-stereo LAME fixture, short
blocks included, made by ``tools/make_fixtures.py``).

The kernels are compiled for the same argument types whichever way they are
reached (``tests/test_jit.py``), so what the helper caches is what the decode
loads; a test there checks that the CLI's process compiled none of them itself.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

WARMUP = Path(__file__).resolve().parent / "data" / "warmup.npz"
WAIT_SECONDS = 300.0  # the helper compiles in about 15 s; past this it is stopped


def compile_part(part):
    """Compile the kernels of ``part`` of a decode: "synthesis" (the hybrid and
    polyphase filterbanks) or "restoration" (its plan and kernels), on the shipped
    excerpt's coefficients."""
    from .coefficients import load_coefficients, synthesize

    c = load_coefficients(WARMUP)
    if part == "restoration":
        from .restore import restore_coefficients

        restore_coefficients(c)
    else:
        synthesize(c)


def cores():
    """CPU cores this process may run on (at least 1): the default number of threads of
    ``read`` and of workers of ``mp3restore batch``, and whether a first-run helper helps."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def start_helper(restore):
    """Start a process compiling the restoration's kernels (:func:`compile_part`), or
    the synthesis' when the decode does not ``restore``; None on a single core (it
    would only take turns with this process) or when it cannot start."""
    if cores() < 2 or not WARMUP.exists() or not sys.executable:  # (an embedded interpreter has none)
        return None
    part = "restoration" if restore else "synthesis"
    try:
        return subprocess.Popen([sys.executable, "-m", "mp3restore._warm", part], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


@contextlib.contextmanager
def helper_if(cold, restore):
    """A block with the helper process (:func:`start_helper`) running when ``cold`` (the
    cache lacks kernels the command needs); it yields the helper or None, and stops it
    on the way out if it is still running (the command failed or was interrupted)."""
    helper = start_helper(restore) if cold else None
    try:
        yield helper
    finally:
        stop(helper)


def compile_decoder(mp3):
    """Compile the decoder's kernels on the first audio frame of ``mp3`` (an open
    :class:`~mp3restore.api.Mp3File`)."""
    from .decoder import FrameDecoder

    s = mp3._stream
    if s.nframes > s.first:
        FrameDecoder(s, 1).decode(s.first, s.first + 1)


def compile_with(helper, mp3, restore):
    """This process's half of the first run, while ``helper`` (from :func:`start_helper`)
    does its own: the decoder's kernels on the first frame of ``mp3`` (an open
    :class:`~mp3restore.api.Mp3File`), and the synthesis' when the helper compiles the
    restoration's; then wait for the helper."""
    compile_decoder(mp3)
    if restore:
        compile_part("synthesis")
    wait(helper)


def wait(helper):
    """Wait for ``helper`` to finish compiling (at most :data:`WAIT_SECONDS`)."""
    try:
        helper.wait(timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        pass


def stop(helper):
    """Stop ``helper`` (None: nothing) if it is still running."""
    if helper is not None and helper.poll() is None:
        helper.kill()
        helper.wait()


if __name__ == "__main__":
    compile_part(sys.argv[1])
