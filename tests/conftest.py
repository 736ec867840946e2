"""Shared pytest helpers for mp3restore's tests.

Import the plain helpers from test modules with ``from conftest import ...``
(pytest puts ``tests/`` on ``sys.path`` because it has no ``__init__.py``);
the same things are also available as pytest fixtures (``fixtures_dir``,
``vectors_dir``).

Paths
-----
``REPO``       repository root.
``FIXTURES``   ``fixtures/``: small MP3s made by ``tools/make_fixtures.py``, each
               with a sidecar ``NAME.json`` (keys documented in that script and
               in ``fixtures/README.md``).
``VECTORS``    MPEG audio conformance vectors (``NAME.bit`` + ``NAME.pcm``):
               ``$MP3RESTORE_VECTORS`` if set, else ``../shared/vectors`` next to
               the repository.  Its README explains the reference format and the
               scoring rule implemented by :func:`score_pcm`.

Helpers
-------
``fixture_files() -> list[(Path, dict)]``            (mp3, parsed json) pairs
``fixture_params() -> list[pytest.param]``           same, with ids, for parametrize
``vector_files(include_extra=False) -> list[(Path, Path | None)]``  (bit, pcm)
``need_vectors``                                     skip marker (folder absent)
``need_tool(name) -> str``                           skip unless CLI on PATH
``requires_tool(name)``                              same, as a skip marker
``mpg123_float(path, gapless=True) -> (float32 (frames, ch), samplerate)``
``to_int16(x) -> int16 array``                       the scoring rule's rounding
``score_pcm(ours, ref_int16) -> (psnr_db, max_diff_lsb)``
``vector_length_ok(n_ours, n_ref, frame_values) -> bool``
``read_reference_pcm(path, frame_channels=None, samples_per_frame=1152)``
``load_tool(name) -> module``                         ``tools/NAME.py`` (tools/ is not a package)
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
VECTORS = Path(os.environ.get("MP3RESTORE_VECTORS") or (REPO.parent / "shared" / "vectors")).resolve()

PSNR_PASS_DB = 96.0  # a conformance vector passes at PSNR >= 96 dB
PSNR_IDENTICAL_DB = 99.0  # what the rule reports when MSE == 0


@functools.lru_cache(maxsize=None)
def load_tool(name: str):
    """``tools/NAME.py`` as a module, loaded once (``tools/`` is put on ``sys.path``
    for the tools' own imports of each other)."""
    tools = REPO / "tools"
    if str(tools) not in sys.path:
        sys.path.insert(0, str(tools))
    spec = importlib.util.spec_from_file_location(f"_mp3restore_tool_{name}", tools / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------------------
# Fixtures (the project's own MP3s)
# ---------------------------------------------------------------------------

def fixture_files() -> list[tuple[Path, dict]]:
    """Every ``fixtures/*.mp3`` with its parsed sidecar JSON, sorted by name.

    An MP3 without a JSON (or vice versa) is an error: the sidecar says what
    the file is, so a test must never guess.
    """
    out = []
    mp3s = sorted(FIXTURES.glob("*.mp3"))
    jsons = {p.stem for p in FIXTURES.glob("*.json")}
    missing = [p.name for p in mp3s if p.stem not in jsons]
    orphans = sorted(jsons - {p.stem for p in mp3s})
    if missing or orphans:
        raise RuntimeError(f"fixtures without sidecar: {missing}; sidecars without mp3: {orphans}")
    for mp3 in mp3s:
        out.append((mp3, json.loads(mp3.with_suffix(".json").read_text())))
    return out


def fixture_params(select=None) -> list:
    """``pytest.param(mp3_path, meta, id=stem)`` for ``@pytest.mark.parametrize("mp3,meta", ...)``.

    ``select(meta) -> bool`` filters, e.g. ``lambda m: m["mpeg_version"] == "2.5"``.
    """
    return [pytest.param(p, m, id=p.stem) for p, m in fixture_files() if select is None or select(m)]


# ---------------------------------------------------------------------------
# Conformance vectors
# ---------------------------------------------------------------------------

need_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(),
    reason=f"conformance vectors not found at {VECTORS} (set MP3RESTORE_VECTORS to their folder)",
)


def vector_files(include_extra: bool = False) -> list[tuple[Path, Path | None]]:
    """``(NAME.bit, NAME.pcm)`` pairs in ``VECTORS``, sorted; pcm is None when
    there is no reference.  ``include_extra`` adds ``VECTORS/extra/*`` (streams
    without a reference: ``*.mp3`` / ``*.bit``).  Empty list if the folder is absent.
    """
    if not VECTORS.is_dir():
        return []
    out = []
    for bit in sorted(VECTORS.glob("*.bit")):
        pcm = bit.with_suffix(".pcm")
        out.append((bit, pcm if pcm.exists() else None))
    if include_extra and (VECTORS / "extra").is_dir():
        for p in sorted((VECTORS / "extra").iterdir()):
            if p.suffix.lower() in (".bit", ".mp3"):
                out.append((p, None))
    return out


def read_reference_pcm(path: str | Path, frame_channels: Sequence[int] | Sequence[tuple[int, int]] | None = None,
                       samples_per_frame: int = 1152):
    """Read a conformance reference ``NAME.pcm``.

    The file is headerless signed 16-bit little-endian PCM, channels
    interleaved, and **each frame has its own channel count**: a stream that
    switches between mono and stereo frames (``l3-he_mode``) has 1152 values for
    a mono frame and 2304 for a stereo one, back to back.  There is no way to
    recover the channel layout from the .pcm alone; it comes from the frame
    headers of the ``.bit`` stream.

    * ``frame_channels is None``: return the flat int16 array of interleaved
      values, which is what :func:`score_pcm` compares (the scoring rule never
      needs the layout).
    * ``frame_channels``: one entry per frame in stream order, either the
      channel count (then every frame has ``samples_per_frame`` samples: 1152 for
      MPEG-1 Layer III, 576 for MPEG-2/2.5, 384 Layer I) or a
      ``(channels, samples)`` tuple.  Returns a list of int16 arrays shaped
      ``(samples, channels)``, one per frame the file holds.  References can
      be 0 to 2 frames shorter than a full decode of the stream (ISO set), so
      the list may be shorter than ``frame_channels``; a partial last frame or
      data left over after the last listed frame raises ``ValueError``.
    """
    raw = np.fromfile(Path(path), dtype="<i2")
    if frame_channels is None:
        return raw
    frames = []
    pos = 0
    for fc in frame_channels:
        ch, n = (fc, samples_per_frame) if isinstance(fc, (int, np.integer)) else fc
        if pos == len(raw):
            break
        if pos + ch * n > len(raw):
            raise ValueError(f"{path}: partial frame {len(frames)} ({len(raw) - pos} of {ch * n} values)")
        frames.append(raw[pos:pos + ch * n].reshape(n, ch))
        pos += ch * n
    if pos != len(raw):
        raise ValueError(f"{path}: {len(raw) - pos} values left after {len(frames)} frames")
    return frames


def to_int16(x) -> np.ndarray:
    """The scoring rule's conversion: ``clip(round(x * 32768), -32768, 32767)``.

    Integer input is taken as already being int16 PCM.
    """
    a = np.asarray(x)
    if np.issubdtype(a.dtype, np.integer):
        return a.astype(np.int16)
    return np.clip(np.round(a.astype(np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def _flat(x) -> np.ndarray:
    if isinstance(x, (list, tuple)):  # per-frame arrays -> interleaved stream
        return np.concatenate([np.asarray(f).reshape(-1) for f in x]) if len(x) else np.zeros(0)
    return np.asarray(x).reshape(-1)  # (frames, channels) C-order == interleaved


def score_pcm(ours_float, ref_int16) -> tuple[float, int]:
    """Score a decode against a reference, per the vectors README (minimp3's rule).

    ``ours_float``: our decoder's output as float (full scale +-1.0), either
    shaped ``(samples, channels)`` or already flat/interleaved, or a list of
    per-frame arrays (streams whose channel count changes); integer arrays are
    taken as int16 PCM.  ``ref_int16``: the reference, flat as returned by
    ``read_reference_pcm(path)`` (or any shape; it is flattened).

    Rule: round ours to int16 (``clip(round(x * 32768))``); compare the first
    ``min(len)`` values; ``MSE = sum(diff^2) / produced``, where ``produced`` is
    the number of values *we* output (all channels); ``PSNR = 10 log10(32767^2 /
    MSE)``, 99 dB when MSE is 0.  Pass: PSNR >= ``PSNR_PASS_DB`` (96).  The
    stricter figure is ``max |diff| <= 1`` LSB over the compared values.

    Returns ``(psnr_db, max_diff_lsb)``.  As in minimp3, empty output scores
    99 dB: check the length too (:func:`vector_length_ok`).
    """
    ours = to_int16(_flat(ours_float)).astype(np.int64)
    ref = _flat(ref_int16).astype(np.int64)
    n = min(len(ours), len(ref))
    diff = np.abs(ours[:n] - ref[:n])
    max_diff = int(diff.max()) if n else 0
    mse = float(np.sum(diff * diff)) / (len(ours) if len(ours) else 1)
    psnr = PSNR_IDENTICAL_DB if mse == 0 else float(10.0 * np.log10(32767.0 ** 2 / mse))
    return psnr, max_diff


def vector_length_ok(n_ours: int, n_ref: int, frame_values: int) -> bool:
    """The README's length rule: our output may be the reference's length, or
    one or two frames longer.  Counts are in values (all channels), and
    ``frame_values`` is the number of values in one frame of the stream's
    trailing frames (samples_per_frame x channels)."""
    return n_ours - n_ref in (0, frame_values, 2 * frame_values)


# ---------------------------------------------------------------------------
# External tools
# ---------------------------------------------------------------------------

def need_tool(name: str) -> str:
    """Return the path of CLI ``name`` (``mpg123``, ``lame``, ``ffmpeg``...) or
    skip the calling test with a visible reason when it is not on PATH."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found on PATH")
    return path


def requires_tool(name: str):
    """Skip marker version of :func:`need_tool`: ``@requires_tool("mpg123")``."""
    return pytest.mark.skipif(shutil.which(name) is None, reason=f"{name} not found on PATH")


def mpg123_float(path: str | Path, gapless: bool = True, extra_args: Iterable[str] = ()) -> tuple[np.ndarray, int]:
    """Decode ``path`` with the mpg123 CLI to float32 at its native rate and
    native channel count.

    Runs ``mpg123 -q -e f32 [--no-gapless] -w TMP.wav FILE`` and reads the WAV
    with soundfile, so the channel count is the stream's (mono stays mono, no
    forced stereo) and the rate is not converted.  mpg123 is gapless by
    default: with a LAME/Info tag it trims the encoder delay + 529 samples at the
    start and the padding at the end; without one it outputs every frame.
    ``gapless=False`` outputs every frame anyway.

    The output format is fixed when the first frame is read: a stream that
    switches channel count mid-way is not represented faithfully (mpg123
    converts or stops), so use this for ordinary files only.

    Returns ``(samples, samplerate)`` with ``samples`` float32 shaped
    ``(frames, channels)``.  Skips the test if mpg123 is missing; raises
    ``subprocess.CalledProcessError`` if mpg123 fails.
    """
    import soundfile as sf

    exe = need_tool("mpg123")
    with tempfile.TemporaryDirectory(prefix="mp3restore-mpg123-") as td:
        wav = Path(td) / "out.wav"
        cmd = [exe, "-q", "-e", "f32", *([] if gapless else ["--no-gapless"]), *extra_args,
               "-w", str(wav), str(path)]
        subprocess.run(cmd, check=True, capture_output=True)
        data, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    return data, int(sr)


# ---------------------------------------------------------------------------
# pytest fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The ``fixtures/`` folder."""
    return FIXTURES


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The conformance vectors folder; skips the test if it is absent."""
    if not VECTORS.is_dir():
        pytest.skip(f"conformance vectors not found at {VECTORS} (set MP3RESTORE_VECTORS)")
    return VECTORS
