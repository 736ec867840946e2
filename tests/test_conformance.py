"""Conformance: the ISO/IEC 11172-4 / 13818-4 Layer III streams in ../shared/vectors.

Scored the way the vectors' README describes (see ``conftest.score_pcm``):
every standard stream must reach PSNR >= 96 dB *and* max |diff| <= 1 LSB.
"""
import numpy as np
import pytest

import mp3restore
from mp3restore.stream import open_stream
from conftest import PSNR_PASS_DB, VECTORS, read_reference_pcm, score_pcm, vector_files, vector_length_ok

STANDARD = [(b, p) for b, p in vector_files()
            if (b.name.startswith("l3-") or b.name.startswith("M2L3")) and "nonstandard" not in b.name and p]
NONSTANDARD = [(b, p) for b, p in vector_files(include_extra=True)
               if ("nonstandard" in b.name or b.parent.name == "extra") and b.suffix in (".bit", ".mp3")]
OTHER_LAYERS = [(b, p) for b, p in vector_files() if b.name.startswith(("l1-", "l2-"))]
need_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"conformance vectors not found at {VECTORS}")


def interleaved_per_frame(path, data):
    """Our (samples, C) output laid out like the references: each frame with its own channel count."""
    s = open_stream(path)
    nch = np.where((s.headers >> 6) & 3 == 3, 1, 2)
    parts = []
    for f in range(s.first, s.nframes):
        a, b = s.gr_start[f] * 576, s.gr_start[f + 1] * 576
        parts.append(data[a:b, 0] if nch[f] == 1 else data[a:b].reshape(-1))
    return np.concatenate(parts), int(nch[-1]) * int(s.gr_start[-1] - s.gr_start[-2]) * 576


@need_vectors
@pytest.mark.parametrize("bit,pcm", STANDARD, ids=[b.stem for b, _ in STANDARD])
def test_standard_vector(bit, pcm):
    data, sr = mp3restore.read(bit, restore=False, gapless=False, always_2d=True)
    ours, frame_values = interleaved_per_frame(bit, data)
    ref = read_reference_pcm(pcm)
    psnr, max_diff = score_pcm(ours, ref)
    print(f"{bit.stem}: PSNR {psnr:.2f} dB, max |diff| {max_diff} LSB")
    assert psnr >= PSNR_PASS_DB
    assert max_diff <= 1
    assert vector_length_ok(len(ours), len(ref), frame_values)


@need_vectors
def test_vectors_are_present():
    assert len(STANDARD) >= 16, [b.name for b, _ in STANDARD]


@need_vectors
def test_si_huff_uses_every_huffman_table():
    """l3-si_huff exercises every table: with the test above this proves each table decodes."""
    c = mp3restore.read_coefficients(VECTORS / "l3-si_huff.bit")
    used = set(np.unique(c.table_select[c.big_values > 0]).tolist())
    assert set(range(32)) - {4, 14} <= used | {0}
    assert set(np.unique(c.side_info[:, :, 17]).tolist()) == {0, 1}  # both count1 tables


@need_vectors
def test_he_mode_mono_frames_fill_both_channels():
    data, _ = mp3restore.read(VECTORS / "l3-he_mode.bit", restore=False, gapless=False)
    s = open_stream(VECTORS / "l3-he_mode.bit")
    assert data.shape[1] == 2
    mono = np.flatnonzero((s.headers >> 6) & 3 == 3)
    assert len(mono) > 0 and len(mono) < s.nframes
    f = mono[0]
    a, b = s.gr_start[f] * 576, s.gr_start[f + 1] * 576
    assert np.any(data[a:b, 0] != 0)
    np.testing.assert_array_equal(data[a:b, 0], data[a:b, 1])


@need_vectors
def test_sin1k0db_skips_leading_frames_without_reservoir():
    info = mp3restore.info(VECTORS / "l3-sin1k0db.bit")
    s = open_stream(VECTORS / "l3-sin1k0db.bit")
    assert s.first == 2
    assert info.skipped_bytes == 215
    assert info.frames == s.nframes - 2


@need_vectors
@pytest.mark.parametrize("bit,pcm", NONSTANDARD, ids=[b.stem for b, _ in NONSTANDARD])
def test_nonstandard_streams_decode_sanely(bit, pcm):
    """Odd input: either a clear error of ours or finite, bounded output (never a crash)."""
    try:
        data, sr = mp3restore.read(bit, restore=False, always_2d=True)
    except mp3restore.Mp3RestoreError as e:
        assert str(e)
        return
    assert data.dtype == np.float32 and data.ndim == 2
    # big-iscf codes amplitudes far beyond full scale on purpose: finite is the rule
    assert np.all(np.isfinite(data))
    assert sr in (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
    if pcm is not None and pcm.stat().st_size and "he_44_48" not in bit.name:
        # minimp3's own output: our decode lines up with it, where it decodes at all
        # (it drops frames with forbidden side info, which we mute in place)
        ref = read_reference_pcm(pcm)
        ours = data.reshape(-1)
        if "compl-sideinfo" not in bit.name and "big-iscf" not in bit.name:
            psnr, max_diff = score_pcm(ours, ref)
            assert max_diff <= 1, psnr


@need_vectors
def test_forbidden_side_info_frames_are_muted_not_dropped():
    bit = VECTORS / "l3-nonstandard-compl-sideinfo-bigvalues.bit"
    c = mp3restore.read_coefficients(bit)
    bad = np.flatnonzero(c.frame_status & 4)
    assert len(bad) >= 1
    for f in bad:
        g0, g1 = c.frame_granule[f], c.frame_granule[f + 1]
        assert not np.any(c.mdct[g0:g1])
    data, _ = mp3restore.read(bit, restore=False, gapless=False)
    assert len(data) == c.granules * 576  # timing kept


@need_vectors
@pytest.mark.parametrize("bit,pcm", OTHER_LAYERS[:4], ids=[b.stem for b, _ in OTHER_LAYERS[:4]])
def test_layer1_2_is_a_clear_error(bit, pcm):
    with pytest.raises(mp3restore.UnsupportedStreamError, match="Layer I/II"):
        mp3restore.read(bit)
    with pytest.raises(mp3restore.UnsupportedStreamError, match="Layer I/II"):  # a short excerpt too
        mp3restore.read(bit.read_bytes()[:8192])
