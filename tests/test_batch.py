"""Tests of ``mp3restore batch`` (``mp3restore.batch`` and its command).

A small tree is built from the smallest fixtures: four good MP3s in nested
folders (one with an upper-case suffix), a text file named ``song.mp3``, an
empty ``empty.mp3`` and two files that are not MP3s.  Runs go through
``main([...])`` in-process; ``--jobs 2`` uses a real process pool.  The Dask
test starts a ``LocalCluster`` on loopback (skipped when dask is missing).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import mp3restore
from conftest import FIXTURES, to_int16
from mp3restore import batch
from mp3restore.cli import main

sf = pytest.importorskip("soundfile")

GOOD = {  # relative path in SRC -> fixture
    "top.mp3": "stereo_joint_cbr16_8000.mp3",
    "a/one.MP3": "mono_cbr24_12000.mp3",
    "a/b/two.mp3": "mono_cbr40_16000.mp3",
    "c/three.mp3": "stereo_joint_cbr64_44100.mp3",
}
BAD = {  # relative path -> error message the manifest must give
    "bad/song.mp3": "not MPEG audio (no Layer III frame found; it is text)",
    "empty.mp3": "empty input",
}
MANIFEST = batch.MANIFEST_NAME


def _out(rel: str, to: str = "wav") -> str:
    return os.path.splitext(rel)[0] + "." + to


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("batch") / "src"
    for rel, fixture in GOOD.items():
        if not (FIXTURES / fixture).exists():
            pytest.skip(f"fixtures/{fixture} missing (run tools/make_fixtures.py)")
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / fixture, root / rel)
    (root / "bad").mkdir()
    (root / "bad" / "song.mp3").write_text("this is not an mp3 file\n" * 20)
    (root / "empty.mp3").write_bytes(b"")
    (root / "notes.txt").write_text("not audio")
    (root / "a" / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    return root


@pytest.fixture(scope="module")
def expected(src) -> dict:
    """rel -> the int16 samples ``mp3restore.read`` gives (the WAV must hold exactly these)."""
    return {rel: to_int16(mp3restore.read(src / rel, always_2d=True)[0]) for rel in GOOD}


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _no_part_files(*roots: Path) -> None:
    for root in roots:
        parts = [p for p in root.rglob("*") if ".part" in p.name]
        assert not parts, f"temporary files left behind: {parts}"


def _manifest(dst: Path) -> dict:
    return json.loads((dst / MANIFEST).read_text())


def _rel(doc: dict, key: str) -> set[str]:
    root = Path(doc["src"])
    return {Path(e["input"]).relative_to(root).as_posix() for e in doc[key]}


def _check_wavs(src: Path, dst: Path, expected: dict) -> None:
    for rel in GOOD:
        data, sr = sf.read(dst / _out(rel), dtype="int16", always_2d=True)
        assert sr == mp3restore.info(src / rel).samplerate
        np.testing.assert_array_equal(data, expected[rel], err_msg=rel)


# ---------------------------------------------------------------------------
# find_jobs
# ---------------------------------------------------------------------------

def test_find_jobs_mirrors_the_tree(src, tmp_path):
    dst = tmp_path / "out"
    jobs = batch.find_jobs(src, dst, "wav")
    rels = [Path(j.input).relative_to(src).as_posix() for j in jobs]
    # *.mp3 in any case, nothing else; sorted by path components
    assert rels == ["a/b/two.mp3", "a/one.MP3", "bad/song.mp3", "c/three.mp3", "empty.mp3", "top.mp3"]
    for j, rel in zip(jobs, rels):
        assert Path(j.output) == (dst / _out(rel)).resolve()
        assert os.path.isabs(j.input) and os.path.isabs(j.output)
        assert j.name == os.path.join(str(src), rel.replace("/", os.sep))
        assert not j.done
    npz = batch.find_jobs(src, dst, "npz")
    assert [Path(j.output).suffix for j in npz] == [".npz"] * len(npz)


def test_find_jobs_single_file_and_errors(src, tmp_path):
    (job,) = batch.find_jobs(src / "a" / "one.MP3", tmp_path, "wav")
    assert Path(job.output) == (tmp_path / "one.wav").resolve()
    assert batch.find_jobs(tmp_path, tmp_path / "out") == []
    with pytest.raises(mp3restore.InputError, match="no such file"):
        batch.find_jobs(tmp_path / "missing", tmp_path)
    with pytest.raises(ValueError):
        batch.find_jobs(src, tmp_path, "flac")


def test_convert_one_never_raises_for_a_bad_file(src, tmp_path):
    opts = batch.Options()
    (job,) = batch.find_jobs(src / "bad" / "song.mp3", tmp_path / "deep" / "er", "wav")
    r = batch.convert_one(job, opts)
    assert r.status == "failed" and r.error == BAD["bad/song.mp3"] and not r.ok
    (job,) = batch.find_jobs(src / "top.mp3", tmp_path / "deep" / "er", "wav")
    r = batch.convert_one(job, opts)
    assert r.status == "done" and r.error is None and r.samples == mp3restore.open(src / "top.mp3").nsamples()
    assert Path(job.output).is_file()  # parent folders were created
    # the output is a folder: an OutputError, reported, not raised
    (job,) = batch.find_jobs(src / "c" / "three.mp3", tmp_path, "wav")
    Path(job.output).mkdir()
    r = batch.convert_one(job, opts)
    assert r.status == "failed" and "is a directory" in r.error


# ---------------------------------------------------------------------------
# Local runs
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("jobs", ["2", "1"])
def test_batch_converts_the_tree(src, expected, tmp_path, capsys, jobs):
    dst = tmp_path / "out"
    assert main(["batch", str(src), str(dst), "--jobs", jobs]) == 1  # two inputs are bad
    assert _files(dst) == {_out(r) for r in GOOD} | {MANIFEST}
    _check_wavs(src, dst, expected)
    _no_part_files(src, dst)

    doc = _manifest(dst)
    assert doc["version"] == 1
    assert doc["src"] == str(src.resolve()) and doc["dst"] == str(dst.resolve())
    assert doc["options"] == {"to": "wav", "restore": True, "gapless": True, "subtype": "PCM_16",
                              "jobs": int(jobs), "scheduler": None}
    assert doc["started"] <= doc["finished"]
    assert doc["counts"] == {"done": 4, "skipped": 0, "failed": 2}
    assert {Path(e["input"]).relative_to(src).as_posix(): e["error"] for e in doc["failed"]} == BAD
    for e in doc["failed"]:
        assert e["output"] == str((dst / _out(Path(e["input"]).relative_to(src).as_posix())).resolve())
    assert _rel(doc, "done") == set(GOOD)
    for e in doc["done"]:
        rel = Path(e["input"]).relative_to(src).as_posix()
        assert e["samples"] == len(expected[rel]) and e["seconds"] >= 0

    err = capsys.readouterr().err
    for rel, msg in BAD.items():
        assert f"mp3restore: warning: {os.path.join(str(src), rel)}: {msg}" in err
    assert f"mp3restore: batch: 4 done, 0 skipped, 2 failed (see {os.path.join(str(dst), MANIFEST)})" in err


def test_rerun_skips_finished_outputs_and_retries_failures(src, expected, tmp_path, capsys):
    dst = tmp_path / "out"
    assert main(["batch", str(src), str(dst), "--jobs", "2", "-q"]) == 1
    stamps = {rel: os.stat(dst / _out(rel)).st_mtime_ns for rel in GOOD}

    assert main(["batch", str(src), str(dst), "--jobs", "2", "-q"]) == 1
    doc = _manifest(dst)
    assert doc["counts"] == {"done": 0, "skipped": 4, "failed": 2}
    assert _rel(doc, "failed") == set(BAD) and doc["done"] == []
    assert {rel: os.stat(dst / _out(rel)).st_mtime_ns for rel in GOOD} == stamps

    (dst / _out("a/one.MP3")).unlink()
    assert main(["batch", str(src), str(dst), "--jobs", "2", "-q"]) == 1
    doc = _manifest(dst)
    assert doc["counts"] == {"done": 1, "skipped": 3, "failed": 2}
    assert _rel(doc, "done") == {"a/one.MP3"}
    _check_wavs(src, dst, expected)
    _no_part_files(src, dst)
    assert "mp3restore: batch: 1 done, 3 skipped, 2 failed" in capsys.readouterr().err


def test_all_good_exits_zero_and_custom_manifest(src, tmp_path, capsys):
    dst = tmp_path / "out"
    where = tmp_path / "logs" / "run.json"
    assert main(["batch", str(src / "c"), str(dst), "--jobs", "2", "--manifest", str(where), "-q"]) == 0
    assert _files(dst) == {"three.wav"}
    doc = json.loads(where.read_text())
    assert doc["counts"] == {"done": 1, "skipped": 0, "failed": 0} and doc["failed"] == []
    assert f"1 done, 0 skipped, 0 failed (see {where})" in capsys.readouterr().err


class _FakeHelper:
    def __init__(self):
        self.running = True

    def poll(self):
        return None if self.running else 0

    def kill(self):
        self.running = False

    def wait(self, timeout=None):
        return 0


@pytest.mark.parametrize("first", ["c", "bad"])
def test_cold_cache_compiles_once_before_the_workers(src, expected, tmp_path, monkeypatch, first):
    """On a cold numba cache a local batch compiles the kernels in its own process (with
    the first-run helper) before starting workers, on the first input; an unreadable
    first input only skips that (the workers compile) and is reported as usual."""
    from mp3restore import _warm, cli

    helpers, halves = [], []

    def start(restore):
        helpers.append(_FakeHelper())
        return helpers[-1]

    monkeypatch.setattr(cli, "first_run", lambda quiet=False, restore=True, synthesis=True: True)
    monkeypatch.setattr(_warm, "start_helper", start)
    monkeypatch.setattr(_warm, "compile_with", lambda helper, mp3, restore: halves.append((mp3.name, restore)))
    dst = tmp_path / "out"
    rc = main(["batch", str(src / first), str(dst), "--jobs", "2", "--no-restore", "-q"])
    assert len(helpers) == 1 and not helpers[0].running  # started, and stopped before the workers ran
    if first == "c":
        assert rc == 0 and halves == [(str(src / "c" / "three.mp3"), False)]
    else:
        assert rc == 1 and halves == []
        assert _manifest(dst)["counts"]["failed"] == 1


def _interrupt_in(monkeypatch, victim: str, exc: BaseException):
    """Make decoding ``victim`` raise ``exc`` after its first block was written."""
    real = mp3restore.Mp3File.blocks

    def blocks(self, *args, **kwargs):
        it = real(self, *args, **kwargs)
        if not str(self.name).endswith(victim):
            return it

        def gen():
            yield next(iter(it))
            raise exc

        return gen()

    monkeypatch.setattr(mp3restore.Mp3File, "blocks", blocks)


def test_ctrl_c_leaves_no_partial_file(src, expected, tmp_path, monkeypatch, capsys):
    dst = tmp_path / "out"
    _interrupt_in(monkeypatch, "two.mp3", KeyboardInterrupt())
    assert main(["batch", str(src), str(dst), "--jobs", "1", "--subtype", "FLOAT"]) == 130
    assert not (dst / "a/b/two.wav").exists()
    _no_part_files(src, dst)
    doc = _manifest(dst)  # written on Ctrl-C too
    assert doc["interrupted"] is True
    assert doc["counts"] == {"done": 0, "skipped": 0, "failed": 0}  # two.mp3 is the first job
    assert "mp3restore: batch: interrupted: 0 done" in capsys.readouterr().err

    monkeypatch.undo()
    assert main(["batch", str(src), str(dst), "--jobs", "1", "-q"]) == 1
    assert _manifest(dst)["counts"] == {"done": 4, "skipped": 0, "failed": 2}


def test_unexpected_error_fails_one_file_only(src, expected, tmp_path, monkeypatch):
    dst = tmp_path / "out"
    _interrupt_in(monkeypatch, "three.mp3", RuntimeError("injected"))
    assert main(["batch", str(src), str(dst), "--jobs", "1", "-q"]) == 1
    assert not (dst / "c/three.wav").exists()
    _no_part_files(src, dst)
    doc = _manifest(dst)
    assert doc["counts"] == {"done": 3, "skipped": 0, "failed": 3}
    errors = {Path(e["input"]).relative_to(src).as_posix(): e["error"] for e in doc["failed"]}
    assert errors == {**BAD, "c/three.mp3": "internal error: RuntimeError: injected"}


def test_to_npz(src, tmp_path):
    dst = tmp_path / "out"
    assert main(["batch", str(src), str(dst), "--jobs", "2", "--to", "npz", "-q"]) == 1
    assert _files(dst) == {_out(r, "npz") for r in GOOD} | {MANIFEST}
    _no_part_files(dst)
    for rel in GOOD:
        got = mp3restore.load_coefficients(dst / _out(rel, "npz"))
        ref = mp3restore.read_coefficients(src / rel)
        np.testing.assert_array_equal(got.mdct, ref.mdct)
        np.testing.assert_array_equal(got.side_info, ref.side_info)
    doc = _manifest(dst)
    assert doc["options"]["to"] == "npz" and _rel(doc, "failed") == set(BAD)


def test_progress_bar_and_warnings(src, tmp_path, capsys):
    pytest.importorskip("tqdm")
    dst = tmp_path / "out"
    assert main(["batch", str(src / "bad"), str(dst), "--jobs", "1", "--progress"]) == 1
    err = capsys.readouterr().err
    assert "file/s" in err or "1/1" in err  # the bar was drawn (forced: stderr is not a terminal here)
    assert f"mp3restore: warning: {os.path.join(str(src / 'bad'), 'song.mp3')}: {BAD['bad/song.mp3']}" in err
    assert "mp3restore: batch: 0 done, 0 skipped, 1 failed" in err


def test_usage_errors(src, tmp_path, capsys):
    assert main(["batch", str(tmp_path / "missing"), str(tmp_path / "out")]) == 1
    assert "no such file" in capsys.readouterr().err
    for bad in (["--jobs", "0"], ["--to", "flac"], ["-q", "--progress"]):
        with pytest.raises(SystemExit) as e:
            main(["batch", str(src), str(tmp_path / "out"), *bad])
        assert e.value.code == 2


# ---------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------

def test_scheduler_without_dask(src, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask", None)  # import dask -> ImportError
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    assert main(["batch", str(src), str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"]) == 1
    assert "batch --scheduler needs dask: pip install mp3restore[dask]" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_dask_cluster_gives_the_same_outputs(src, expected, tmp_path):
    try:
        from dask.distributed import LocalCluster
    except ImportError:
        pytest.skip("dask.distributed is not installed (pip install mp3restore[dask])")
    local = tmp_path / "local"
    assert main(["batch", str(src), str(local), "--jobs", "2", "-q"]) == 1

    dst = tmp_path / "dask"
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert main(["batch", str(src), str(dst), "--scheduler", cluster.scheduler_address, "-q"]) == 1
        doc = _manifest(dst)
        assert doc["counts"] == {"done": 4, "skipped": 0, "failed": 2}
        assert doc["options"]["scheduler"] == cluster.scheduler_address and doc["options"]["jobs"] is None
        assert {Path(e["input"]).relative_to(src).as_posix(): e["error"] for e in doc["failed"]} == BAD
        # resumable there too
        assert main(["batch", str(src), str(dst), "--scheduler", cluster.scheduler_address, "-q"]) == 1
        assert _manifest(dst)["counts"] == {"done": 0, "skipped": 4, "failed": 2}

    assert _files(dst) == _files(local)
    for rel in GOOD:
        assert (dst / _out(rel)).read_bytes() == (local / _out(rel)).read_bytes(), rel
    _check_wavs(src, dst, expected)
    _no_part_files(src, dst)
