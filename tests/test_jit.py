"""What the numba kernels are compiled for (never timing: the first run's compile
time is measured in the README).

A kernel compiled for a second signature (another array layout or integer type,
a read-only array, a constant argument typed as a literal) costs the first run
after installing that kernel's whole compile again.  The decode paths below
must compile every kernel once.  They run in a fresh interpreter (the other tests
call kernels directly with arrays of their own) with an empty numba cache: a
kernel loaded from the cache does not compile the kernels it calls, so only a
cold compile shows what they are compiled for (this test takes the first run's
compile time, ~15 s).
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import FIXTURES, REPO, to_int16
from mp3restore._warm import cores

# the scripts' shared part: the kernels mp3restore's modules define, with their names
KERNELS = r"""
from numba.core.registry import CPUDispatcher


def kernels():
    for name, mod in sorted(sys.modules.items()):
        if name.startswith("mp3restore"):
            for attr, obj in vars(mod).items():
                if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == name:
                    yield f"{name}.{attr}", obj
"""

SCRIPT = KERNELS + r"""
import io, sys, warnings
import mp3restore

warnings.simplefilter("ignore")
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    for src in (path, data, bytearray(data), memoryview(data), io.BytesIO(data)):
        mp3restore.read(src)
        mp3restore.read(src if not isinstance(src, io.BytesIO) else io.BytesIO(data), restore=False)
    with open(path, "rb") as fh:
        mp3restore.read(fh, dtype="int16")
    mp3restore.read(path, threads=2)
    for _ in mp3restore.blocks(path, 4096):
        pass
    mp3restore.info(path)
    mp3restore.synthesize(mp3restore.read_coefficients(path))
for qualname, obj in kernels():
    sigs = obj.signatures
    literal = [s for s in sigs if "Literal" in str(s)]
    if len(sigs) > 1 or literal:
        print(f"{qualname}: {[str(s) for s in sigs]}")
"""

STREAMS = ["stereo_joint_cbr128_44100.mp3", "mono_cbr40_16000.mp3", "stereo_joint_cbr128_44100_crc.mp3"]


def test_each_kernel_compiles_for_one_signature(tmp_path):
    paths = [FIXTURES / name for name in STREAMS]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"fixtures missing: {missing} (run tools/make_fixtures.py)")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
    p = subprocess.run([sys.executable, "-c", SCRIPT, *map(str, paths)], env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout == "", "kernels compiled for more than one signature (or a literal one):\n" + p.stdout


COLD_DECODE = KERNELS + r"""
import sys
from mp3restore.cli import main

rc = main(["decode", "-q", "-y", sys.argv[1], "-o", sys.argv[2]] + sys.argv[3:])
compiled = [q.rsplit(".", 1)[1] for q, obj in kernels() if obj.signatures and not sum(obj.stats.cache_hits.values())]
print(rc, " ".join(sorted(compiled)))
"""


@pytest.mark.skipif(cores() < 2, reason="the first-run helper process runs only on 2+ cores")
@pytest.mark.parametrize("restore", [True, False], ids=["restored", "plain"])
def test_first_run_compiles_in_a_helper_process(tmp_path, restore):
    """With an empty cache, ``mp3restore decode`` has a helper process compile the
    restoration's kernels (the synthesis' with --no-restore) while it compiles the
    decoder's: its own process then loads them from the cache instead of compiling
    them, and the output is the same as a decode with every kernel already compiled."""
    import numpy as np
    import soundfile as sf

    import mp3restore

    src = FIXTURES / "stereo_joint_cbr128_44100.mp3"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
    out = tmp_path / "cold.wav"
    extra = [] if restore else ["--no-restore"]
    p = subprocess.run([sys.executable, "-c", COLD_DECODE, str(src), str(out), *extra], env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    rc, *compiled = p.stdout.split()
    assert rc == "0"
    assert "decode_frames_with" in compiled  # this process compiled the decoder
    # the helper's part: restoration, or with --no-restore the synthesis (the CLI's process then has
    # nothing else to compile)
    for kernel in ["restore_chunk", "lookahead_stats"] if restore else ["synthesize_granules"]:
        assert kernel not in compiled, f"{kernel} compiled in the CLI's process, not loaded from the helper's cache"
    ref, _ = mp3restore.read(src, restore=restore, always_2d=True)
    got, _ = sf.read(str(out), dtype="int16", always_2d=True)
    np.testing.assert_array_equal(got, to_int16(ref))


NO_JIT = r"""
import sys
import mp3restore
from mp3restore.restore.noise import NOISE  # built at import from a kernel's Python function

try:
    mp3restore.read(sys.argv[1])
except mp3restore.JitDisabledError as e:
    print("JitDisabledError", isinstance(e, mp3restore.Mp3RestoreError), e)
print(len(NOISE))
"""


def test_with_the_jit_disabled_a_decode_fails_with_a_clear_error(tmp_path):
    """With NUMBA_DISABLE_JIT=1 the package imports (it was an AttributeError in _jit)
    and calling a kernel raises JitDisabledError naming the variable: the kernels rely
    on numba's typed integer arithmetic, so run as plain Python they would fail deep
    inside or decode wrongly.  The command line says so and exits non-zero."""
    src = FIXTURES / "short_stereo_joint_cbr128_44100_300samples.mp3"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["NUMBA_DISABLE_JIT"] = "1"
    p = subprocess.run([sys.executable, "-c", NO_JIT, str(src)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    first, second = p.stdout.splitlines()
    assert first.startswith("JitDisabledError True ") and "NUMBA_DISABLE_JIT" in first
    assert int(second) > 8192
    cli = subprocess.run([sys.executable, "-m", "mp3restore", "decode", str(src), "-o", str(tmp_path / "x.wav")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert cli.returncode != 0 and "NUMBA_DISABLE_JIT" in cli.stderr
    assert not (tmp_path / "x.wav").exists()
