"""The first run after installing: compile the kernels on two cores at once.

numba compiles each kernel on its first call, one after the other (about 25 s for
a restored decode on a cold cache, most of it LLVM).  The decoder's kernels and
the synthesis and restoration kernels do not depend on each other, so when the
cache is cold the CLI starts a helper process (``python -m mp3restore._warm``)
that compiles the synthesis and restoration kernels into numba's on-disk cache
from a shipped excerpt's coefficients (``data/warmup.npz``: 12 frames of a 64
kbps joint-stereo LAME file, made by ``tools/make_fixtures.py``), while the CLI's
own process compiles the decoder on the first frame of its input.  The CLI then
waits for the helper and decodes with every kernel loaded from the cache.

The kernels are compiled for the same argument types whichever way they are
reached (``tests/test_jit.py``), so what the helper caches is what the decode
loads; the test of this module checks that the CLI's process compiled none of
them itself.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WARMUP = Path(__file__).resolve().parent / "data" / "warmup.npz"
WAIT_SECONDS = 300.0  # the helper compiles in about 15 s; past this it is stopped


def compile_synthesis(restore=True):
    """Compile the synthesis kernels (and with ``restore`` the restoration's) by
    synthesizing the shipped excerpt."""
    from .coefficients import load_coefficients, synthesize

    c = load_coefficients(WARMUP)
    if restore:
        from .restore import restore_coefficients

        c = restore_coefficients(c)
    synthesize(c)


def cores():
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def start_helper(restore=True):
    """Start a process running :func:`compile_synthesis`; None on a single core
    (it would only take turns with this process) or when it cannot start."""
    if cores() < 2 or not WARMUP.exists():
        return None
    try:
        return subprocess.Popen([sys.executable, "-m", "mp3restore._warm"] + (["--restore"] if restore else []),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def compile_decoder(mp3):
    """Compile the decoder's kernels on the first audio frame of ``mp3`` (an open
    :class:`~mp3restore.api.Mp3File`)."""
    from .decoder import FrameDecoder

    s = mp3._stream
    if s.nframes > s.first:
        FrameDecoder(s, 1).decode(s.first, s.first + 1)


def wait(helper):
    """Wait for ``helper`` to finish compiling (at most :data:`WAIT_SECONDS`)."""
    try:
        helper.wait(timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        pass


def stop(helper):
    """Stop ``helper`` (None: nothing) if it is still running: the command failed or was
    interrupted before it waited, or the helper overran."""
    if helper is not None and helper.poll() is None:
        helper.kill()
        helper.wait()


if __name__ == "__main__":
    compile_synthesis(restore="--restore" in sys.argv[1:])
