"""Decoding the project's fixtures: every mode, against mpg123, and the API's promises."""
import io
import warnings

import numpy as np
import pytest

import mp3restore
from conftest import FIXTURES, fixture_params, mpg123_float

ALL = fixture_params()


def _fixture(name):
    p = FIXTURES / name
    if not p.exists():
        pytest.skip(f"fixture {name} missing")
    return p


@pytest.mark.parametrize("path,meta", ALL)
def test_matches_mpg123_float(path, meta):
    """Same sample count as mpg123 (gapless) and max |diff| below -100 dBFS."""
    ours, sr = mp3restore.read(path, restore=False, always_2d=True)
    ref, sr_ref = mpg123_float(path)
    assert sr == sr_ref == meta["samplerate"]
    assert ours.shape == ref.shape
    if ours.size:
        err = float(np.abs(ours - ref).max())
        print(f"{path.name}: max |diff| {20 * np.log10(max(err, 1e-12)):.1f} dBFS")
        assert err < 1e-5


@pytest.mark.parametrize("path,meta", ALL)
def test_info_matches_sidecar(path, meta):
    info = mp3restore.info(path)
    assert info.samplerate == meta["samplerate"]
    assert info.channels == meta["channels"]
    assert info.mode == meta["mode"]
    assert info.version == meta["mpeg_version"]
    assert info.crc == meta["crc"]
    assert info.crc_errors == 0
    assert (info.tag is not None) == meta["xing_tag"]
    expected = meta["expected"]["samples_gapless"]
    assert info.samples == expected
    if meta["xing_tag"]:
        assert info.delay == meta["lame_tag"]["encoder_delay"]
        assert info.padding == meta["lame_tag"]["padding"]
        assert info.gapless
    if meta["bitrate_mode"] in ("cbr", "free"):
        assert info.bitrate_mode == meta["bitrate_mode"]
    else:
        assert info.bitrate_mode in ("vbr", "abr")


@pytest.mark.parametrize("path,meta", [p for p in ALL if p.values[1]["xing_tag"]][:3])
def test_no_gapless_returns_every_decoded_sample(path, meta):
    info = mp3restore.info(path)
    full, _ = mp3restore.read(path, restore=False, gapless=False, always_2d=True)
    trimmed, _ = mp3restore.read(path, restore=False, always_2d=True)
    assert len(full) == info.samples_decoded == info.frames * (1152 if info.version == "1" else 576)
    start = info.delay + 529
    np.testing.assert_array_equal(full[start:start + len(trimmed)], trimmed)


def test_path_bytes_and_fileobj_agree():
    p = _fixture("stereo_joint_cbr128_44100.mp3")
    a, sr = mp3restore.read(p, restore=False)
    b, _ = mp3restore.read(p.read_bytes(), restore=False)
    with open(p, "rb") as fh:
        c, _ = mp3restore.read(fh, restore=False)
    d, _ = mp3restore.read(io.BytesIO(p.read_bytes()), restore=False)
    for x in (b, c, d):
        np.testing.assert_array_equal(a, x)
    assert a.dtype == np.float32 and a.shape[1] == 2 and sr == 44100


def test_shapes_and_dtypes():
    mono = _fixture("mono_cbr128_44100.mp3")
    x, _ = mp3restore.read(mono, restore=False)
    assert x.ndim == 1
    x2, _ = mp3restore.read(mono, restore=False, always_2d=True)
    assert x2.shape == (len(x), 1)
    i16, _ = mp3restore.read(mono, restore=False, dtype="int16")
    assert i16.dtype == np.int16
    np.testing.assert_array_equal(i16, np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16))
    f64, _ = mp3restore.read(mono, restore=False, dtype="float64")
    np.testing.assert_array_equal(f64, x.astype(np.float64))
    with pytest.raises(mp3restore.InputError):
        mp3restore.read(mono, dtype="uint8")


@pytest.mark.parametrize("blocksize", [1, 1000, 4096, 10 ** 7])
def test_blocks_concatenate_to_read(blocksize):
    p = _fixture("stereo_joint_vbr2_44100.mp3")
    whole, _ = mp3restore.read(p, restore=False)
    if blocksize == 1:
        it = mp3restore.blocks(p, 1, restore=False)
        first = [next(it) for _ in range(5)]
        np.testing.assert_array_equal(np.concatenate(first), whole[:5])
        return
    parts = list(mp3restore.blocks(p, blocksize, restore=False))
    assert all(len(b) == blocksize for b in parts[:-1]) and 0 < len(parts[-1]) <= blocksize
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_open_reader_reuses_one_parse():
    p = _fixture("stereo_joint_cbr128_44100.mp3")
    f = mp3restore.open(p)
    assert "44100 Hz" in repr(f) and "joint" in repr(f)
    a, _ = f.read(restore=False)
    b, _ = f.read(restore=False)
    np.testing.assert_array_equal(a, b)
    assert len(f) == len(a) == f.info.samples


def test_mode_change_stream_has_largest_channel_count():
    # a mono stream decodes to 1 channel, a stereo one to 2 (l3-he_mode is covered in test_conformance)
    assert mp3restore.info(_fixture("mono_cbr128_44100.mp3")).channels == 1
    assert mp3restore.info(_fixture("dual_cbr128_44100.mp3")).channels == 2


def test_crc_mismatch_is_counted_and_warned():
    p = _fixture("stereo_joint_cbr128_44100_crc.mp3")
    data = bytearray(p.read_bytes())
    s = mp3restore.stream.open_stream(bytes(data))
    off = int(s.offsets[10])
    data[off + 8] ^= 0x01  # a side-info bit of frame 10 (after header + CRC)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        info = mp3restore.info(bytes(data))
    assert info.crc and info.crc_errors == 1
    assert any(issubclass(x.category, mp3restore.Mp3RestoreWarning) and "CRC" in str(x.message) for x in w)


@pytest.mark.parametrize("payload,exc", [
    (b"", mp3restore.EmptyInputError),
    (b"hello, this is not an mp3 file at all\n" * 50, mp3restore.NotMpegAudioError),
    (b"ID3\x03\x00\x00\x00\x00\x00\x10" + b"\x00" * 16, mp3restore.EmptyInputError),
    (b"TAG" + b"\x20" * 125, mp3restore.EmptyInputError),
])
def test_bad_input_is_a_clear_error(payload, exc):
    with pytest.raises(exc) as e:
        mp3restore.read(payload)
    assert isinstance(e.value, mp3restore.Mp3RestoreError) and str(e.value)


def test_missing_file_and_wrong_type():
    with pytest.raises(mp3restore.InputError, match="no such file"):
        mp3restore.read("/nonexistent/file.mp3")
    with pytest.raises(mp3restore.InputError):
        mp3restore.read(12345)
    with pytest.raises(mp3restore.InputError, match="text mode"):
        mp3restore.read(io.StringIO("abc"))


def test_truncated_file_decodes_to_last_complete_frame():
    p = _fixture("stereo_joint_cbr128_44100_noxing.mp3")
    data = p.read_bytes()
    full = mp3restore.info(data)
    cut = mp3restore.info(data[: len(data) - 200])
    assert cut.truncated and cut.frames == full.frames - 1
    x, _ = mp3restore.read(data[: len(data) - 200], restore=False)
    assert len(x) == cut.samples and np.all(np.isfinite(x))


@pytest.mark.parametrize("path,meta", [p for p in ALL if p.values[1]["tags"] or "junk" in p.values[1]["description"]])
def test_junk_and_tags_are_skipped_not_decoded(path, meta):
    """The file decodes exactly like its audio frames alone (byte range from the sidecar)."""
    raw = path.read_bytes()
    lay = meta["layout"]
    assert (lay["audio_start"], lay["audio_end"]) != (0, len(raw))
    x, _ = mp3restore.read(raw, restore=False)
    y, _ = mp3restore.read(raw[lay["audio_start"]:lay["audio_end"]], restore=False)
    np.testing.assert_array_equal(x, y)
    info = mp3restore.info(raw)
    assert info.frames == meta["stats"]["frames"]
