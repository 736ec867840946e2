"""Files given by their path are mapped, not read, and the pages behind the decoder are given back.

* decoding a path gives bit-identical output (and the same ``info``) as decoding its bytes:
  fixtures, damaged input, streams that end exactly at the end of the file, mid-frame, or
  at every position around the end of a memory page (the kernels peek a few bytes past the
  data: a file whose audio ends too close to its last page's end is read instead);
* repaired frame headers (written into the buffer) survive the pages given back;
* the mapping's resident memory stays small while a long stream is scanned and decoded
  (``/proc/self/smaps``, Linux only);
* ``Mp3File.close`` / ``with``, and the one-shot ``read``/``blocks``/``info`` close the input;
* ``read`` allocates its output once, in the dtype asked for.
"""
from __future__ import annotations

import mmap
import os
import tracemalloc
import warnings

import numpy as np
import pytest

import mp3restore
from conftest import FIXTURES
from mp3restore import api
from mp3restore import frames as fr
from mp3restore import stream as st

PAGE = mmap.PAGESIZE
needs_map = pytest.mark.skipif(not st._CAN_MAP, reason="no madvise(MADV_DONTNEED) here: files are read")


def _bytes(name):
    p = FIXTURES / f"{name}.mp3"
    if not p.exists():
        pytest.skip(f"fixture {name} missing")
    return p.read_bytes()


@pytest.fixture
def map_all(monkeypatch):
    """Map files of any size, scan and release in small steps (so small fixtures exercise it)."""
    monkeypatch.setattr(st, "MAP_MIN_SIZE", 0)
    monkeypatch.setattr(st, "SCAN_PART", 3 * PAGE)
    monkeypatch.setattr(api, "RELEASE_STEP", PAGE)


def _decode(src, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)
        with mp3restore.open(src) as f:
            mapped = f._stream.source is not None
            x, _ = f.read(always_2d=True, **kw)
            return x, f.info, mapped


def _same_as_bytes(path, data, expect_mapped=True, **kw):
    a, ia, ma = _decode(data, **kw)
    b, ib, mb = _decode(path, **kw)
    assert not ma
    assert mb == expect_mapped
    np.testing.assert_array_equal(a, b)
    assert ia == ib
    return b


def _id3v2(size):
    """An empty ID3v2.3 tag of ``size`` bytes in all (padding only)."""
    body = size - 10
    syncsafe = bytes([(body >> 21) & 0x7F, (body >> 14) & 0x7F, (body >> 7) & 0x7F, body & 0x7F])
    return b"ID3\x03\x00\x00" + syncsafe + bytes(body)


def _with_length_mod_page(audio, residue):
    """``audio`` after an ID3v2 tag sized so that the file's length is ``residue`` modulo a page."""
    tag = 10 + (residue - 10 - len(audio)) % PAGE
    data = _id3v2(tag) + audio
    assert len(data) % PAGE == residue % PAGE
    return data


@needs_map
@pytest.mark.parametrize("name", ["stereo_joint_cbr128_44100", "stereo_joint_vbr2_44100", "mono_cbr24_12000",
                                  "stereo_joint_free200_44100", "stereo_joint_cbr128_44100_crc",
                                  "stereo_joint_cbr128_44100_id3v2_id3v1", "stereo_joint_cbr128_44100_junk300",
                                  "regressions/free_format_13_byte_frames"])
def test_path_decodes_like_bytes(name, map_all):
    path = FIXTURES / f"{name}.mp3"
    data = _bytes(name)
    for restore in (False, True):
        _same_as_bytes(path, data, restore=restore, gapless=False)
    _same_as_bytes(str(path), data, threads=2)


@needs_map
@pytest.mark.parametrize("name", ["stereo_joint_cbr128_44100_noxing", "regressions/free_format_13_byte_frames"])
@pytest.mark.parametrize("cut", [0, 1, 3, 100])
def test_end_of_data_at_every_place_in_the_last_page(name, cut, map_all, tmp_path):
    """Audio that runs to the end of the file (or is cut ``cut`` bytes into its last frame),
    with the file ending at or just before a page boundary: mapped when the last page has
    room for the kernels' peeks, read otherwise; the same output either way."""
    audio = _bytes(name)
    audio = audio[:len(audio) - cut]
    path = tmp_path / "x.mp3"
    for residue in (0, 1, 13, PAGE - st.PAD - 1, PAGE - st.PAD, PAGE - st.PEEK - 1, PAGE - st.PEEK, PAGE - st.PEEK + 1,
                    PAGE - 3, PAGE - 1):
        data = _with_length_mod_page(audio, residue)
        path.write_bytes(data)
        room = (-len(data)) % PAGE
        _same_as_bytes(path, data, expect_mapped=room >= st.PEEK, restore=False, gapless=False)


@needs_map
def test_trailing_tag_leaves_room_for_the_peeks(map_all, tmp_path):
    """The audio ends before an ID3v1 tag: mapped even when the file ends at a page boundary."""
    audio = _bytes("stereo_joint_cbr128_44100_noxing")
    data = _with_length_mod_page(audio + b"TAG" + bytes(125), 0)
    path = tmp_path / "x.mp3"
    path.write_bytes(data)
    _same_as_bytes(path, data, restore=False)


@needs_map
def test_repaired_headers_survive_the_pages_given_back(map_all, monkeypatch, tmp_path):
    """A header repaired by the scanner is written into the buffer, which the CRC check reads:
    its page is kept when the others are given back, even when the decoder gives pages back
    right behind itself and reads them again (RESERVOIR_BYTES 0)."""
    monkeypatch.setattr(api, "RESERVOIR_BYTES", 0)
    data = _bytes("stereo_joint_cbr128_44100_crc")
    s = st.open_stream(data)
    offs = s.offsets
    clean, _, _ = _decode(data, restore=False, gapless=False)
    bad = bytearray(data)
    for k in (10, 30, len(offs) - 5):
        bad[offs[k] + 2] ^= 0x40  # 128 -> 256 kbit/s: mended from the neighbours
    path = tmp_path / "bad.mp3"
    path.write_bytes(bytes(bad))
    with pytest.warns(mp3restore.Mp3RestoreWarning, match="3 frame header.* repaired"):
        f = mp3restore.open(path)
    with f:
        assert f._stream.source is not None
        assert f.info.crc_errors == 0
        for threads in (1, 2):
            x, _ = f.read(restore=False, gapless=False, always_2d=True, threads=threads)
            np.testing.assert_array_equal(x, clean)
        for k in (10, 30, len(offs) - 5):
            assert bytes(f._stream.buf[offs[k]:offs[k] + 4]) == data[offs[k]:offs[k] + 4]
    _same_as_bytes(path, bytes(bad), restore=False, gapless=False)


@needs_map
def test_scan_in_parts_finds_what_one_scan_finds():
    """scan_frames_part resumed at every few bytes gives the same frames as scan_frames,
    on clean, junk-filled, free-format and damaged streams."""
    rng = np.random.default_rng(7)
    inputs = [_bytes(n) for n in ("stereo_joint_cbr128_44100_junk300", "stereo_joint_free200_44100",
                                  "stereo_joint_vbr2_44100", "regressions/free_format_13_byte_frames")]
    damaged = bytearray(inputs[2])
    for p in rng.integers(0, len(damaged), 300):
        damaged[p] ^= 1 << int(rng.integers(0, 8))
    inputs.append(bytes(damaged))
    inputs.append(inputs[0][:-700])  # truncated mid-frame
    for data in inputs:
        n = len(data)
        buf = np.zeros(n + st.PAD, np.uint8)
        buf[:n] = np.frombuffer(data, np.uint8)
        cap = n // fr.MIN_ANY_FRAME + 2
        whole = [np.zeros(cap, np.int64) for _ in range(3)]
        expect = fr.scan_frames(buf, 0, n, *whole)
        for step in (1, 37, 1000):
            parts = [np.zeros(cap, np.int64) for _ in range(3)]
            state = fr.scan_state(0)
            calls = 0
            while not fr.scan_frames_part(buf, int(state[0]) + step, n, *parts, state):
                calls += 1
            assert calls >= min(10, n // step - 1)
            got = fr.scan_result(state)
            assert tuple(int(v) for v in got) == tuple(int(v) for v in expect)
            for a, b in zip(whole, parts):
                np.testing.assert_array_equal(a[:expect[0]], b[:expect[0]])


def _mapping_rss_kb(addr):
    """Resident KiB of the mapping holding address ``addr`` (``/proc/self/smaps``)."""
    with open("/proc/self/smaps") as fh:
        inside = False
        for line in fh:
            head = line.split()[0]
            if "-" in head and ":" not in head:
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= addr < hi
            elif inside and head == "Rss:":
                return int(line.split()[1])
    raise AssertionError("mapping not found")


def _long_stream(tmp_path, copies):
    data = _bytes("stereo_joint_cbr128_44100_noxing") * copies
    path = tmp_path / "long.mp3"
    path.write_bytes(data)
    return path, data


@needs_map
@pytest.mark.skipif(not os.path.exists("/proc/self/smaps") or PAGE != 4096,
                    reason="needs /proc/self/smaps and 4 KiB pages")
def test_pages_are_given_back_while_scanning_and_decoding(tmp_path, monkeypatch):
    """A 10 MB stream: after opening, and all along a blocks() iteration, only a small part of
    the mapping is resident (the file's bytes are not held in memory).  (A fault can map a
    whole large folio of the page cache at once, up to 2 MiB with 4 KiB pages: the stream
    can straddle two of them.)"""
    monkeypatch.setattr(api, "RELEASE_STEP", 1 << 16)
    path, data = _long_stream(tmp_path, 300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)
        f = mp3restore.open(path)
    with f:
        s = f._stream
        assert isinstance(s.source, st.MappedFile)
        addr = s.buf.__array_interface__["data"][0]
        assert _mapping_rss_kb(addr) <= 256
        peak = 0
        n = 0
        for block in f.blocks(65536, restore=False):
            peak = max(peak, _mapping_rss_kb(addr))
            n += len(block)
        assert n == f.nsamples()
        limit = 2 * 2048 + (api.RELEASE_STEP + api.RESERVOIR_BYTES) // 1024 + 256
        assert peak <= limit < len(data) // 1024 // 2, peak
        # decoded again from the start: the pages given back are read again from the file
        y, _ = f.read(restore=False)
    x, _ = mp3restore.read(data, restore=False)
    np.testing.assert_array_equal(x, y)


def test_close(tmp_path):
    path, data = _long_stream(tmp_path, 40)
    for src in (path, data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)
            with mp3restore.open(src) as f:
                assert not f.closed
                x, _ = f.read(restore=False)
                g = f.blocks(4096, restore=False)
                next(g)
            assert f.closed
            f.close()  # twice is fine
            assert f.info.samples == len(x)
            for call in (f.read, f.blocks, f.frames, f.restoration_plan, lambda: list(g)):
                with pytest.raises(mp3restore.InputError, match="closed"):
                    call()


def test_one_shot_blocks_closes_at_the_end_or_when_dropped(tmp_path, monkeypatch):
    path, data = _long_stream(tmp_path, 40)
    opened = []
    real = api.Mp3File.__init__

    def spy(self, *a, **k):
        real(self, *a, **k)
        opened.append(self)

    monkeypatch.setattr(api.Mp3File, "__init__", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)
        total = sum(len(b) for b in mp3restore.blocks(path, 4096, restore=False))
        assert opened[-1].closed and total == opened[-1].info.samples
        g = mp3restore.blocks(path, 4096, restore=False)
        next(g)
        assert not opened[-1].closed
        g.close()
        assert opened[-1].closed
        mp3restore.read(path, restore=False)
        assert opened[-1].closed
        with pytest.raises(mp3restore.InputError):
            mp3restore.blocks(path, 0)
        assert opened[-1].closed


@pytest.mark.skipif(not os.path.exists("/dev/fd"), reason="needs /dev/fd")
def test_a_pipe_given_by_its_path_is_read_to_its_end():
    """``mp3restore decode <(cat song.mp3)``: a pipe has no size; it is read to its end, not
    mapped (its size used to be taken for its length: empty input)."""
    import threading

    data = _bytes("stereo_joint_cbr128_44100_noxing") * 8  # more than a pipe holds
    r, w = os.pipe()

    def writer():
        try:
            with os.fdopen(w, "wb") as fh:
                fh.write(data)
        except BrokenPipeError:  # the reader stopped early: the test fails below
            pass

    t = threading.Thread(target=writer)
    t.start()
    try:
        x, info, mapped = _decode(f"/dev/fd/{r}", restore=False)
    finally:
        os.close(r)  # (first: a writer still blocked on a full pipe gets an error)
        t.join()
    y, _, _ = _decode(data, restore=False)
    assert not mapped
    np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "int32"])
def test_read_allocates_the_output_once(dtype, tmp_path):
    """read() stores each decoded chunk converted into one output array: the memory traced
    while reading a 1-minute stream stays near the size of the output (before, a float32
    copy of the whole output plus the conversion's temporaries were allocated)."""
    path, data = _long_stream(tmp_path, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)
        ref, _ = mp3restore.read(data, restore=False)
        with mp3restore.open(data) as f:
            tracemalloc.start()
            try:
                x, _ = f.read(restore=False, dtype=dtype)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert x.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(x, api._convert(ref, dtype))
    assert x.nbytes > 10 << 20
    assert peak < x.nbytes + (8 << 20), (peak, x.nbytes)
