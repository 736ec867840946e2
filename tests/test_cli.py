"""Tests of the command line (``mp3restore.cli``) and the WAV writer (``mp3restore.wavio``).

Most tests run ``main([...])`` in-process; a few run ``python -m mp3restore``
in a subprocess for what needs real stdin/stdout (pipes, broken pipes) or a
fresh interpreter (lazy imports).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES, REPO, to_int16
from mp3restore.cli import main

sf = pytest.importorskip("soundfile")

INFO_KEYS = {
    "version", "layer", "samplerate", "channels", "mode", "bitrate_mode", "bitrate", "frames", "samples",
    "samples_decoded", "duration", "encoder", "delay", "padding", "lowpass", "crc", "crc_errors", "tag",
    "gapless", "skipped_bytes", "truncated", "tags", "concealed_frames", "concealed_positions", "appended_streams",
}


def _pick(pattern: str) -> Path:
    """The smallest fixture matching ``pattern`` (skip the test if there is none)."""
    found = sorted(FIXTURES.glob(pattern), key=lambda p: (p.stat().st_size, p.name))
    if not found:
        pytest.skip(f"no fixture matching fixtures/{pattern} (run tools/make_fixtures.py)")
    return found[0]


def _meta(mp3: Path) -> dict:
    side = mp3.with_suffix(".json")
    if not side.exists():
        pytest.skip(f"{side.name} missing")
    return json.loads(side.read_text())


@pytest.fixture
def mono_mp3(tmp_path):
    """A small mono fixture with a LAME tag (so gapless trimming changes the length), copied to tmp_path."""
    src = _pick("mono_cbr40_16000.mp3")
    dst = tmp_path / "song.mp3"
    shutil.copyfile(src, dst)
    return dst


@pytest.fixture
def stereo_mp3(tmp_path):
    src = _pick("stereo_joint_cbr64_22050.mp3")
    dst = tmp_path / "stereo.mp3"
    shutil.copyfile(src, dst)
    return dst


def _decoded(path, **kw):
    import mp3restore

    try:
        data, sr = mp3restore.read(str(path), always_2d=True, **kw)
    except ImportError as e:  # the decoder core may still be settling
        pytest.skip(f"decoder not importable yet: {e}")
    return data, sr


def _run(argv, capsys):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _assert_error_line(err: str, *needles: str):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mp3restore: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], err


def _leftovers(folder: Path):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def _python(args, **kw):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run([sys.executable, *args], env=env, **kw)


# ---------------------------------------------------------------------------
# Start-up, help, version, usage

@pytest.mark.parametrize("entry,blocked", [("run()", True), ("main(sys.argv[1:])", False)])
def test_console_command_keeps_numba_off_scipy_blas(tmp_path, stereo_mp3, entry, blocked):
    """The console command (``run``) keeps numba from importing SciPy's linear algebra
    (0.2 s and 16 MiB of every run); ``main`` called from Python leaves the process alone."""
    out = tmp_path / "out.wav"
    code = (f"import sys; from mp3restore.cli import main, run; sys.argv[1:] = ['decode', '-q', {str(stereo_mp3)!r}, "
            f"'-o', {str(out)!r}]; rc = {entry}; import numba.np.arraymath as am; "
            "print(rc, am._HAVE_BLAS, sys.modules.get('scipy.linalg', 0) is None)")
    r = _python(["-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", str(not blocked), str(blocked)]
    assert out.stat().st_size > 44

# ---------------------------------------------------------------------------

def test_help_and_import_do_not_load_numba():
    code = (
        "import sys\n"
        "import mp3restore.cli\n"
        "before = 'numba' in sys.modules\n"
        "from mp3restore.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "print(before, 'numba' in sys.modules, 'mp3restore.api' in sys.modules)\n"
    )
    r = _python(["-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "False False False"
    assert "decode" in r.stdout and "info" in r.stdout


def test_version(capsys):
    import mp3restore

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"mp3restore {mp3restore.__version__}"


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["decode"], ["decode", "x.mp3", "--subtype", "PCM_8"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err


def test_commands_registry():
    from mp3restore import cli

    assert {"decode", "info"} <= set(cli.COMMANDS)
    assert all(callable(c.setup) and callable(c.run) for c in cli.COMMANDS.values())


# ---------------------------------------------------------------------------
# decode: output naming and overwrite rules
# ---------------------------------------------------------------------------

def test_decode_default_output_name(mono_mp3, capsys):
    ref, sr = _decoded(mono_mp3)
    rc, out, err = _run(["decode", mono_mp3], capsys)
    assert rc == 0, err
    assert out == "" and err == ""
    wav = mono_mp3.with_suffix(".wav")
    data, wsr = sf.read(str(wav), dtype="int16", always_2d=True)
    assert wsr == sr
    assert sf.info(str(wav)).subtype == "PCM_16"
    np.testing.assert_array_equal(data, to_int16(ref))
    assert _leftovers(mono_mp3.parent) == []


def test_decode_output_explicit_path_and_folder(stereo_mp3, tmp_path, capsys):
    ref, sr = _decoded(stereo_mp3)
    sub = tmp_path / "out" / "deeper"
    sub.mkdir(parents=True)
    target = sub / "named.wav"
    rc, _, err = _run(["decode", stereo_mp3, "-o", target, "-q"], capsys)
    assert rc == 0, err
    data, wsr = sf.read(str(target), dtype="int16", always_2d=True)
    assert wsr == sr and data.shape == ref.shape
    np.testing.assert_array_equal(data, to_int16(ref))

    # an existing folder: the default name inside it
    rc, _, err = _run(["decode", stereo_mp3, "-o", sub], capsys)
    assert rc == 0, err
    assert (sub / "stereo.wav").exists()
    assert sf.info(str(sub / "stereo.wav")).frames == len(ref)
    assert _leftovers(sub) == []


def test_decode_output_folder_missing(stereo_mp3, tmp_path, capsys):
    rc, _, err = _run(["decode", stereo_mp3, "-o", tmp_path / "nope" / "x.wav"], capsys)
    assert rc == 1
    _assert_error_line(err, "x.wav")


def test_decode_refuses_to_overwrite(mono_mp3, capsys):
    wav = mono_mp3.with_suffix(".wav")
    wav.write_bytes(b"precious")
    rc, out, err = _run(["decode", mono_mp3], capsys)
    assert rc == 1
    _assert_error_line(err, str(wav), "-y")
    assert wav.read_bytes() == b"precious"
    assert _leftovers(mono_mp3.parent) == []

    rc, _, err = _run(["decode", mono_mp3, "-y"], capsys)
    assert rc == 0, err
    assert wav.read_bytes()[:4] == b"RIFF"
    assert sf.info(str(wav)).frames == len(_decoded(mono_mp3)[0])


def test_decode_never_overwrites_its_input(mono_mp3, tmp_path, capsys):
    original = mono_mp3.read_bytes()
    spellings = [mono_mp3, tmp_path / "." / mono_mp3.name, tmp_path / "x" / ".." / mono_mp3.name]
    (tmp_path / "x").mkdir()
    link = tmp_path / "link.wav"
    hard = tmp_path / "hard.wav"
    try:
        link.symlink_to(mono_mp3)
        spellings.append(link)
    except (OSError, NotImplementedError):
        pass
    try:
        os.link(mono_mp3, hard)
        spellings.append(hard)
    except (OSError, AttributeError):
        pass
    for out in spellings:
        for extra in ([], ["-y"], ["--overwrite"]):
            rc, _, err = _run(["decode", mono_mp3, "-o", out, *extra], capsys)
            assert rc == 1, (out, extra)
            _assert_error_line(err, "input")
            assert mono_mp3.read_bytes() == original
    # the input named .wav: the default output is the input itself
    as_wav = tmp_path / "odd.wav"
    shutil.copyfile(mono_mp3, as_wav)
    rc, _, err = _run(["decode", as_wav, "-y"], capsys)
    assert rc == 1
    _assert_error_line(err, "input")
    assert as_wav.read_bytes() == original
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------------------
# decode: errors leave nothing behind
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["text", "empty", "missing", "folder"])
def test_decode_bad_input_error_line(kind, tmp_path, capsys):
    path = tmp_path / "input.mp3"
    if kind == "text":
        path.write_text("This is not an MP3 file.\n" * 20)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "folder":
        path.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    rc, out, err = _run(["decode", path], capsys)
    assert rc == 1
    assert out == ""
    _assert_error_line(err, "input.mp3")
    expected = {"text": "not MPEG audio", "empty": "empty", "missing": "no such file", "folder": "directory"}[kind]
    assert expected in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .wav, no .part


@pytest.mark.parametrize("exc, code", [("error", 1), ("interrupt", 130)])
def test_decode_failure_midway_leaves_nothing(exc, code, stereo_mp3, monkeypatch, capsys):
    from mp3restore.api import Mp3File
    from mp3restore.errors import StreamError

    _decoded(stereo_mp3)  # skip if the decoder is not there yet
    real_blocks = Mp3File.blocks

    def failing_blocks(self, *a, **kw):
        it = real_blocks(self, *a, **kw)
        yield next(it)
        if exc == "error":
            raise StreamError("simulated damage")
        raise KeyboardInterrupt

    monkeypatch.setattr(Mp3File, "blocks", failing_blocks)
    wav = stereo_mp3.with_suffix(".wav")
    for existing in (None, b"old content"):
        if existing is not None:
            wav.write_bytes(existing)
        rc, out, err = _run(["decode", stereo_mp3, "-y"], capsys)
        assert rc == code
        if exc == "error":
            _assert_error_line(err, "simulated damage")
        else:
            assert err == ""
        assert _leftovers(stereo_mp3.parent) == []
        if existing is None:
            assert not wav.exists()
        else:
            assert wav.read_bytes() == existing


def test_decode_warning_lines(tmp_path, capsys):
    src = _pick("mono_cbr96_44100_crc.mp3")
    _decoded(src)
    from mp3restore.stream import open_stream

    data = bytearray(src.read_bytes())
    s = open_stream(bytes(data))
    data[int(s.offsets[3]) + 6] ^= 0x10  # a side-info byte of a CRC-protected frame
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(bytes(data))
    rc, out, err = _run(["decode", bad, "-q"], capsys)
    assert rc == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # once, though both info() and blocks() see it
    assert lines[0].startswith("mp3restore: warning: ") and "CRC" in lines[0]
    assert (tmp_path / "bad.wav").exists()


# ---------------------------------------------------------------------------
# decode: formats and lengths
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("subtype, step", [("FLOAT", 0.0), ("PCM_24", 2.0 ** -23), ("pcm_16", 2.0 ** -15)])
def test_decode_subtypes(subtype, step, stereo_mp3, tmp_path, capsys):
    ref, sr = _decoded(stereo_mp3)
    out = tmp_path / f"{subtype}.wav"
    rc, _, err = _run(["decode", stereo_mp3, "-o", out, "--subtype", subtype], capsys)
    assert rc == 0, err
    assert sf.info(str(out)).subtype == subtype.upper()
    data, wsr = sf.read(str(out), dtype="float64", always_2d=True)
    assert wsr == sr and data.shape == ref.shape
    err_max = np.max(np.abs(data - np.clip(ref.astype(np.float64), -1.0, 1.0 - step)))
    assert err_max <= step / 2 + 1e-12
    if subtype == "FLOAT":
        np.testing.assert_array_equal(data.astype(np.float32), ref)


def test_decode_no_gapless_length(mono_mp3, tmp_path, capsys):
    import mp3restore

    full, _ = _decoded(mono_mp3, gapless=False)
    info = mp3restore.info(str(mono_mp3))
    assert info.gapless and info.samples < info.samples_decoded  # the fixture has a LAME tag
    out = tmp_path / "full.wav"
    rc, _, err = _run(["decode", mono_mp3, "--no-gapless", "-o", out], capsys)
    assert rc == 0, err
    data, _ = sf.read(str(out), dtype="int16", always_2d=True)
    assert len(data) == info.samples_decoded
    np.testing.assert_array_equal(data, to_int16(full))


def test_decode_to_stdout_in_process(stereo_mp3, capsysbinary):
    ref, sr = _decoded(stereo_mp3)
    rc = main(["decode", str(stereo_mp3), "-o", "-"])
    out, err = capsysbinary.readouterr()
    assert rc == 0, err
    data, wsr = sf.read(io.BytesIO(out), dtype="int16", always_2d=True)
    assert wsr == sr
    np.testing.assert_array_equal(data, to_int16(ref))
    assert not stereo_mp3.with_suffix(".wav").exists()


def test_progress_bar_only_on_a_terminal(monkeypatch):
    from mp3restore import cli

    assert cli.progress_bar(100, "x") is None  # stderr is captured: not a TTY
    pytest.importorskip("tqdm")
    monkeypatch.setattr(cli, "_isatty", lambda f: True)
    assert cli.progress_bar(100, "x", quiet=True) is None
    bar = cli.progress_bar(100, "x")
    assert bar is not None
    bar.close()


def test_first_run_note_when_kernels_must_compile(stereo_mp3, tmp_path, monkeypatch, capsys):
    from mp3restore import _jit, _warm, cli

    asked = []

    def cold(*kernels):
        asked.append({k.py_func.__name__ for k in kernels})
        return True

    monkeypatch.setattr(_jit, "needs_compile", cold)
    monkeypatch.setattr(_warm, "start_helper", lambda restore: None)  # its own test: test_jit.py
    rc, _, err = _run(["decode", stereo_mp3, "-o", tmp_path / "a.wav"], capsys)
    assert rc == 0 and err.strip() == cli.FIRST_RUN_NOTE
    assert asked[-1] == {"decode_frames_with", "synthesize_granules", "restore_chunk"}
    rc, _, err = _run(["decode", stereo_mp3, "-o", tmp_path / "b.wav", "--no-restore"], capsys)
    assert rc == 0 and err.strip() == cli.FIRST_RUN_NOTE
    assert asked[-1] == {"decode_frames_with", "synthesize_granules"}
    rc, out, err = _run(["info", stereo_mp3], capsys)
    assert rc == 0 and err.strip() == cli.FIRST_RUN_NOTE and out
    assert asked[-1] == {"decode_frames_with"}
    rc, _, err = _run(["decode", stereo_mp3, "-o", tmp_path / "c.wav", "-q"], capsys)
    assert rc == 0 and err == ""  # quiet: no note
    monkeypatch.setattr(_jit, "needs_compile", lambda *k: False)
    rc, _, err = _run(["decode", stereo_mp3, "-o", tmp_path / "d.wav"], capsys)
    assert rc == 0 and err == ""


def test_needs_compile_reads_numba_cache(tmp_path, monkeypatch):
    """A kernel with nothing compiled in memory needs a compile until numba's
    on-disk cache holds it (checked without compiling)."""
    import importlib

    from mp3restore._jit import needs_compile

    (tmp_path / "cold_kernel_mod.py").write_text(
        "from mp3restore._jit import njit\n\n@njit\ndef add_one(x):\n    return x + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("cold_kernel_mod")
    assert needs_compile(mod.add_one)
    assert mod.add_one(1) == 2  # compiles, and writes the cache
    assert not needs_compile(mod.add_one)
    del sys.modules["cold_kernel_mod"]
    again = importlib.import_module("cold_kernel_mod")  # a new dispatcher: nothing in memory
    assert not again.add_one.overloads
    assert not needs_compile(again.add_one)


# ---------------------------------------------------------------------------
# info
# ---------------------------------------------------------------------------

def test_info_json(stereo_mp3, capsys):
    meta = _meta(_pick("stereo_joint_cbr64_22050.mp3"))
    _decoded(stereo_mp3)
    rc, out, err = _run(["info", stereo_mp3, "--json"], capsys)
    assert rc == 0, err
    d = json.loads(out)
    assert set(d) == INFO_KEYS | {"bandwidth", "restoration"}
    assert d["restoration"]["target_hz"] == min(20000, meta["samplerate"] / 2)
    rc, out, err = _run(["info", stereo_mp3, "--json", "--quick"], capsys)
    assert set(json.loads(out)) == INFO_KEYS
    assert d["samplerate"] == meta["samplerate"]
    assert d["channels"] == meta["channels"]
    assert d["samples"] == meta["expected"]["samples_gapless"]


def test_info_text(mono_mp3, capsys):
    meta = _meta(_pick("mono_cbr40_16000.mp3"))
    _decoded(mono_mp3)
    rc, out, err = _run(["info", mono_mp3], capsys)
    assert rc == 0, err
    assert "\nbandwidth:\n" in out and "\nrestoration:\n" in out and "reason:" in out
    rc, out, err = _run(["info", mono_mp3, "--quick"], capsys)
    lines = out.rstrip("\n").splitlines()
    assert [ln.split(":", 1)[0] for ln in lines] == list(INFO_KEYS_ORDER)
    cols = {len(ln) - len(ln.split(":", 1)[1].lstrip()) for ln in lines}
    assert len(cols) == 1  # values aligned in one column
    values = {ln.split(":", 1)[0]: ln.split(":", 1)[1].strip() for ln in lines}
    assert values["samplerate"] == str(meta["samplerate"])
    assert values["channels"] == str(meta["channels"])


INFO_KEYS_ORDER = (
    "version", "layer", "samplerate", "channels", "mode", "bitrate_mode", "bitrate", "frames", "samples",
    "samples_decoded", "duration", "encoder", "delay", "padding", "lowpass", "crc", "crc_errors", "tag",
    "gapless", "skipped_bytes", "truncated", "tags", "concealed_frames", "concealed_positions", "appended_streams",
)


def test_info_errors(tmp_path, capsys):
    txt = tmp_path / "notes.txt"
    txt.write_text("hello\n")
    rc, out, err = _run(["info", txt], capsys)
    assert rc == 1 and out == ""
    _assert_error_line(err, "notes.txt", "not MPEG audio")
    rc, out, err = _run(["info", tmp_path / "missing.mp3", "--json"], capsys)
    assert rc == 1 and out == ""
    _assert_error_line(err, "missing.mp3")


# ---------------------------------------------------------------------------
# Subprocess: python -m mp3restore with real pipes
# ---------------------------------------------------------------------------

def test_pipe_stdin_to_stdout(stereo_mp3):
    ref, sr = _decoded(stereo_mp3)
    with open(stereo_mp3, "rb") as fin:
        r = _python(["-m", "mp3restore", "decode", "-", "-o", "-"], stdin=fin, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stderr == b""
    data, wsr = sf.read(io.BytesIO(r.stdout), dtype="int16", always_2d=True)
    assert wsr == sr
    np.testing.assert_array_equal(data, to_int16(ref))


def test_pipe_stdin_default_is_stdout_and_file_output(mono_mp3, tmp_path):
    ref, sr = _decoded(mono_mp3)
    with open(mono_mp3, "rb") as fin:
        r = _python(["-m", "mp3restore", "decode", "-", "--subtype", "PCM_24"], stdin=fin, capture_output=True,
                    timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    assert sf.info(io.BytesIO(r.stdout)).subtype == "PCM_24"
    out = tmp_path / "from_stdin.wav"
    with open(mono_mp3, "rb") as fin:
        r = _python(["-m", "mp3restore", "decode", "-", "-o", str(out)], stdin=fin, capture_output=True,
                    timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    data, _ = sf.read(str(out), dtype="int16", always_2d=True)
    np.testing.assert_array_equal(data, to_int16(ref))


def test_pipe_bad_stdin(tmp_path):
    r = _python(["-m", "mp3restore", "decode", "-", "-o", "-"], input=b"plain text, no audio\n" * 10,
                capture_output=True, timeout=300)
    assert r.returncode == 1
    assert r.stdout == b""
    _assert_error_line(r.stderr.decode(), "stdin", "not MPEG audio")


def test_broken_pipe_is_quiet():
    src = _pick("stereo_joint_cbr128_44100.mp3")  # ~350 kB of WAV: more than a pipe buffer
    _decoded(src)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    p = subprocess.Popen([sys.executable, "-m", "mp3restore", "decode", str(src), "-o", "-"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    head = p.stdout.read(100)
    p.stdout.close()
    err = p.stderr.read()
    p.wait(timeout=300)
    assert head[:4] == b"RIFF"
    assert b"Traceback" not in err and err == b"", err.decode()
    assert p.returncode not in (0, 1)


@pytest.mark.skipif(os.name != "posix", reason="needs SIGINT delivery to a child process")
def test_ctrl_c_exit_130_and_no_partial_file(tmp_path):
    import signal
    import time

    src = _pick("stereo_joint_cbr128_44100_noxing.mp3")  # no tag frame: copies concatenate cleanly
    _decoded(src)
    long_mp3 = tmp_path / "long.mp3"
    long_mp3.write_bytes(src.read_bytes() * 200)  # about 6.5 minutes of audio
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    p = subprocess.Popen([sys.executable, "-m", "mp3restore", "decode", str(long_mp3), "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    while not _leftovers(tmp_path) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    interrupted = p.poll() is None
    if interrupted:
        p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=300)
    if not interrupted:
        pytest.skip("the decode finished before it could be interrupted")
    assert p.returncode == 130, err.decode()
    assert b"Traceback" not in err
    assert _leftovers(tmp_path) == []
    assert not (tmp_path / "long.wav").exists()


def test_console_entry_matches_module(stereo_mp3):
    r = _python(["-m", "mp3restore", "info", str(stereo_mp3), "--json", "--quick"], capture_output=True, text=True,
                timeout=300)
    if r.returncode and "ImportError" in r.stderr:
        pytest.skip("decoder not importable yet")
    assert r.returncode == 0, r.stderr
    assert set(json.loads(r.stdout)) == INFO_KEYS


# ---------------------------------------------------------------------------
# wavio: the WAV writer and atomic output (no decoder needed)
# ---------------------------------------------------------------------------

def _signal(n, ch, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.05, 1.05, (n, ch)).astype(np.float32)
    x[:4] = np.array([1.0, -1.0, 0.5 / 32768, -0.5 / 32768], np.float32)[:, None]  # clipping and ties
    return x


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("subtype, scale", [("PCM_16", 32768), ("PCM_24", 8388608), ("FLOAT", None)])
def test_write_wav_formats(subtype, scale, channels):
    from mp3restore.wavio import write_wav

    x = _signal(1001, channels)
    parts = [x[:300], x[300:301], x[301:]]
    if channels == 1:
        parts = [p[:, 0] for p in parts]  # 1-D blocks for mono
    buf = io.BytesIO()
    assert write_wav(buf, iter(parts), 22050, channels, len(x), subtype) == len(x)
    raw = buf.getvalue()
    assert len(raw) % 2 == 0
    info = sf.info(io.BytesIO(raw))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (22050, channels, len(x), subtype)
    assert info.format == ("WAVEX" if channels > 2 else "WAV")
    data, _ = sf.read(io.BytesIO(raw), dtype="float64", always_2d=True)
    if scale is None:
        assert raw[20:22] == b"\x03\x00" or channels > 2  # IEEE float format tag
        assert b"fact" in raw[:80]
        np.testing.assert_array_equal(data, x.astype(np.float64))
    else:
        expect = np.clip(np.rint(x.astype(np.float64) * scale), -scale, scale - 1) / scale
        np.testing.assert_array_equal(data, expect)


def test_write_wav_header_fix_and_non_seekable():
    from mp3restore.errors import OutputError
    from mp3restore.wavio import write_wav

    x = np.linspace(-0.5, 0.5, 11, dtype=np.float32)
    buf = io.BytesIO()
    assert write_wav(buf, [x], 8000, 1, 20, "PCM_24") == 11  # header said 20: fixed afterwards
    assert len(buf.getvalue()) == 44 + 33 + 1  # odd data chunk: one pad byte
    assert sf.info(io.BytesIO(buf.getvalue())).frames == 11

    class Pipe(io.BytesIO):
        def seekable(self):
            return False

        def tell(self):
            raise OSError("illegal seek")

    for announced in (5, 20):
        with pytest.raises(OutputError):
            write_wav(Pipe(), [x], 8000, 1, announced, "PCM_16")
    p = Pipe()
    write_wav(p, [x[:4], x[4:]], 8000, 1, 11, "FLOAT")
    assert sf.info(io.BytesIO(p.getvalue())).frames == 11
    with pytest.raises(ValueError):
        write_wav(io.BytesIO(), [np.zeros((4, 2), np.float32)], 8000, 1, 4, "PCM_16")
    with pytest.raises(ValueError):
        write_wav(io.BytesIO(), [x], 8000, 1, 11, "PCM_8")


def test_atomic_output(tmp_path):
    from mp3restore.wavio import atomic_output

    target = tmp_path / "out.bin"
    with atomic_output(target) as f:
        f.write(b"new")
        assert not target.exists()
        assert Path(f.name).name.startswith(".out.bin.") and f.name.endswith(".part")
    assert target.read_bytes() == b"new"
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # not the temp file's 0600

    for exc in (RuntimeError, KeyboardInterrupt):
        with pytest.raises(exc):
            with atomic_output(target) as f:
                f.write(b"partial")
                raise exc()
        assert target.read_bytes() == b"new"
        assert _leftovers(tmp_path) == []

    from mp3restore.errors import OutputError

    with pytest.raises(OutputError):
        with atomic_output(tmp_path):
            pass
    with pytest.raises(OutputError):
        with atomic_output(tmp_path / "no" / "such" / "folder.wav"):
            pass
    if os.path.exists(os.devnull):  # not a regular file: written in place, never replaced
        with atomic_output(os.devnull) as f:
            f.write(b"discarded")
        assert not Path(os.devnull).is_file()
