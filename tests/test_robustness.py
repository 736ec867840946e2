"""Damaged and hostile input: never a crash, never a hang, the timing kept, nothing lost.

* property tests (hypothesis, small budget) on mutated fixtures, random bytes and
  synthetic streams: ``read`` returns finite float32 audio of the length ``info``
  promises, or raises an ``Mp3RestoreError`` -- nothing else;
* every prefix of a few short streams decodes or raises ``Mp3RestoreError``;
* same-length damage (flipped bits, overwritten or zeroed spans) keeps the sample
  count of the clean file in at least 95 % of the cases (the figure is printed);
* a destroyed header is concealed in place and reported; ``strict=True`` raises;
* truncation, Xing frame counts and LAME delay/padding that do not fit the file;
* the crashes the fuzzer (``tools/fuzz.py``) found, as regression fixtures.

The mutations are those of ``tools/fuzz.py`` (its longer harness runs each case in
a child process so a segfault is caught; here everything runs in-process).
"""
from __future__ import annotations

import multiprocessing
import struct
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mp3restore
from conftest import FIXTURES, load_tool
from mp3restore import frames as fr
from mp3restore.stream import open_stream

fuzz = load_tool("fuzz")

REGRESSIONS = FIXTURES / "regressions"
SMALL = ["short_stereo_joint_cbr128_44100_300samples", "mono_cbr24_12000", "stereo_joint_cbr16_8000",
         "stereo_joint_free200_44100", "stereo_joint_cbr128_44100_crc", "stereo_joint_vbr2_44100"]
# the same-length damage figure: CBR, VBR, LSF, CRC-protected
DAMAGE = ["stereo_joint_cbr128_44100", "stereo_joint_vbr2_44100", "mono_cbr24_12000",
          "stereo_joint_cbr128_44100_crc"]
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROPERTY_LONG = settings(PROPERTY, max_examples=1000)


def _bytes(name):
    p = FIXTURES / f"{name}.mp3"
    if not p.exists():
        pytest.skip(f"fixture {name} missing")
    return p.read_bytes()


def decode_checked(data, *, restore=False, gapless=True, threads=1):
    """Decode ``data``: finite float32 audio of the length ``info`` promises, or ``None``
    when it raises an ``Mp3RestoreError``.  Anything else fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy overflow/invalid warnings are bugs
        warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)
        try:
            f = mp3restore.open(data)
            x, sr = f.read(restore=restore, gapless=gapless, always_2d=True, threads=threads)
        except mp3restore.Mp3RestoreError as e:
            assert str(e)
            return None
    info = f.info
    assert x.dtype == np.float32
    assert x.shape == (info.samples if gapless else info.samples_decoded, info.channels)
    assert np.all(np.isfinite(x))
    assert sr == info.samplerate
    return x


def _count(data, gapless):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)
        try:
            return len(mp3restore.read(data, restore=False, gapless=gapless)[0])
        except mp3restore.Mp3RestoreError:
            return -1


# ---------------------------------------------------------------------------
# Never a crash
# ---------------------------------------------------------------------------

@PROPERTY_LONG
@given(name=st.sampled_from(SMALL), seed=st.integers(0, 2 ** 32 - 1),
       strategy=st.sampled_from(sorted(fuzz.STRATEGIES) + ["stack"]), restore=st.booleans(),
       gapless=st.booleans())
def test_mutated_fixture_decodes_or_raises_a_clean_error(name, seed, strategy, restore, gapless):
    rng = np.random.default_rng(seed)
    corpus = [_bytes(n) for n in SMALL[:3]]
    data, desc = fuzz.mutate(_bytes(name), rng, corpus, strategy)
    decode_checked(data, restore=restore, gapless=gapless)


@PROPERTY
@given(st.binary(min_size=0, max_size=4000))
def test_random_bytes_decode_or_raise_a_clean_error(data):
    decode_checked(data)


@PROPERTY
@given(seed=st.integers(0, 2 ** 32 - 1), restore=st.booleans())
def test_synthetic_streams_with_extreme_side_info(seed, restore):
    """Valid headers of every kind (free format down to 13-byte frames), random side info
    at its extremes (part2_3_length 4095, big_values 511, global_gain 255, ...)."""
    data, desc = fuzz.m_synth(None, np.random.default_rng(seed))
    x = decode_checked(data, restore=restore, gapless=False)
    if x is not None:
        c = mp3restore.read_coefficients(data)
        assert np.all(np.isfinite(c.mdct))


@PROPERTY
@given(name=st.sampled_from(SMALL), seed=st.integers(0, 2 ** 32 - 1))
def test_scanner_accounts_for_every_byte(name, seed):
    """The frame scanner advances by a whole frame or by one byte at each step: frames
    plus skipped bytes cover the data (up to the 3 last bytes, too short for a header),
    so its time is linear in the input size whatever the bytes."""
    rng = np.random.default_rng(seed)
    data, _ = fuzz.mutate(_bytes(name), rng)
    if rng.random() < 0.3:
        data, _ = fuzz.m_synth(None, rng)
    n = len(data)
    buf = np.zeros(n + 64, np.uint8)
    buf[:n] = np.frombuffer(data, np.uint8)
    cap = n // fr.MIN_ANY_FRAME + 1
    offsets, headers, sizes = (np.zeros(cap, np.int64) for _ in range(3))
    count, skipped, truncated, _ = fr.scan_frames(buf, 0, n, offsets, headers, sizes)
    assert count < cap  # room for every frame
    covered = int(sizes[:count].sum()) + int(skipped)
    assert np.all(np.diff(offsets[:count]) >= sizes[:count - 1]) if count > 1 else True
    if truncated:
        assert covered <= n
    else:
        assert 0 <= n - covered <= 3
    # with less room than frames it stops at the end of the arrays (guard zones intact)
    small = max(1, count // 2)
    guarded = [np.full(small + 8, -7, np.int64) for _ in range(3)]
    k, *_ = fr.scan_frames(buf, 0, n, *(g[:small] for g in guarded))
    assert k <= small and all(np.all(g[small:] == -7) for g in guarded)


def test_decoding_with_threads_on_damage():
    rng = np.random.default_rng(7)
    data, _ = fuzz.m_flip(_bytes("stereo_joint_cbr128_44100"), rng, density=5e-4)
    a = decode_checked(data, threads=1)
    b = decode_checked(data, threads=2)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name,limit", [
    ("short_stereo_joint_cbr128_44100_300samples", None),
    ("mono_cbr24_12000", 2600),
    ("stereo_joint_free200_44100", 2200),
    ("stereo_joint_cbr128_44100_crc", 1700),
])
def test_every_prefix_decodes_or_raises(name, limit):
    data = _bytes(name)[:limit]
    decoded = 0
    for n in range(len(data) + 1):
        x = decode_checked(data[:n], gapless=n % 2 == 0, restore=n % 7 == 0)
        decoded += x is not None
    assert decoded > 0


def test_hostile_free_format_and_sync_bait():
    """13-byte free-format frames (more frames than the index had room for: a heap
    overflow once), 0xFF runs, header copies, a lone header."""
    h = bytes([0xFF, 0xF3, 0x00, 0xC0])
    for data in [(h + bytes(9)) * 500, b"\xff" * 5000, bytes([0xFF, 0xFB, 0x90, 0x64]) * 2000,
                 bytes([0xFF, 0xFB, 0x00, 0x00]) * 3000, h, (h + bytes(9)) * 2 + b"\xff"]:
        decode_checked(data, gapless=False)


# ---------------------------------------------------------------------------
# Keep the timing
# ---------------------------------------------------------------------------

def test_same_length_damage_keeps_the_sample_count():
    """Flipped bits (density 1e-5..1e-3), overwritten and zeroed spans (10..500 bytes) on
    4 fixtures, 50 cases each: the sample count equals the clean file's in >= 95 % of the
    cases, with gapless=False and with the default (gapless) trimming."""
    kept = {False: 0, True: 0}
    total = 0
    for name in DAMAGE:
        data = _bytes(name)
        clean = {g: _count(data, g) for g in (False, True)}
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        for _ in range(50):
            damaged, _ = fuzz.same_length_damage(data, rng)
            assert len(damaged) == len(data)
            total += 1
            for g in (False, True):
                kept[g] += _count(damaged, g) == clean[g]
    share = {g: kept[g] / total for g in kept}
    print(f"\nsame-length damage, {total} cases: sample count kept in {kept[False]} "
          f"({100 * share[False]:.1f}%) with gapless=False, {kept[True]} ({100 * share[True]:.1f}%) gapless")
    assert share[False] >= 0.95 and share[True] >= 0.95


def _frame_offsets(data):
    s = open_stream(data)
    return s, [int(o) for o in s.offsets]


@pytest.mark.parametrize("name", ["stereo_joint_cbr128_44100", "mono_cbr24_12000", "stereo_joint_free200_44100"])
@pytest.mark.parametrize("how", ["zero", "flip-sync"])
def test_destroyed_header_is_concealed_in_place(name, how):
    data = _bytes(name)
    s, offs = _frame_offsets(data)
    k = len(offs) // 2
    bad = bytearray(data)
    if how == "zero":
        bad[offs[k]:offs[k] + 4] = bytes(4)
    else:  # sync bits and the layer: too much for a repair
        bad[offs[k]] ^= 0xFF
        bad[offs[k] + 1] ^= 0x06
    with pytest.warns(mp3restore.Mp3RestoreWarning, match="concealed"):
        info = mp3restore.info(bytes(bad))
    assert k - s.first in info.concealed_positions
    assert info.frames == s.info.frames and info.samples == s.info.samples
    for g in (False, True):
        assert _count(bytes(bad), g) == _count(data, g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)
        c = mp3restore.read_coefficients(bytes(bad))
    f = k - s.first
    assert c.frame_status[f] & 16  # ST_LOST
    assert not np.any(c.mdct[c.frame_granule[f]:c.frame_granule[f + 1]])


def test_two_lost_headers_in_a_row_and_the_last_header():
    data = _bytes("stereo_joint_cbr128_44100")
    s, offs = _frame_offsets(data)
    bad = bytearray(data)
    for k in (20, 21, len(offs) - 1):
        bad[offs[k]:offs[k] + 4] = b"\x00\x00\x00\x00"
    with pytest.warns(mp3restore.Mp3RestoreWarning):
        info = mp3restore.info(bytes(bad))
    assert {20 - s.first, 21 - s.first, len(offs) - 1 - s.first} <= set(info.concealed_positions)
    assert _count(bytes(bad), False) == _count(data, False)


def test_damaged_bit_rate_and_padding_are_repaired():
    """A flipped bit that doubles the bit rate (128 -> 256 kbit/s: the wrong length also
    lands on a header) or breaks the sync: the header is mended from its neighbours and the
    frame decodes as it was."""
    data = _bytes("stereo_joint_cbr128_44100")
    s, offs = _frame_offsets(data)
    clean = decode_checked(data, gapless=False)
    for k, (byte, mask) in [(30, (2, 0x40)), (31, (0, 0x10)), (40, (2, 0x20))]:
        bad = bytearray(data)
        bad[offs[k] + byte] ^= mask
        with pytest.warns(mp3restore.Mp3RestoreWarning, match="1 frame header.* repaired") as w:
            info = mp3restore.info(bytes(bad))
        assert not any("concealed" in str(v.message) for v in w)
        assert info.concealed_frames == 0
        x = decode_checked(bytes(bad), gapless=False)
        np.testing.assert_array_equal(x, clean)
        with pytest.raises(mp3restore.StreamError, match="repaired"):
            mp3restore.open(bytes(bad), strict=True)


def test_damaged_xing_tag_is_repaired_by_its_crc():
    """One flipped bit anywhere in the first 190 bytes of the LAME tag frame (header, side
    info, Xing fields, LAME fields): the tag CRC says which one, the gapless trim is kept."""
    data = _bytes("stereo_joint_vbr2_44100")
    info = mp3restore.info(data)
    rng = np.random.default_rng(3)
    for bit in rng.choice(190 * 8, 40, replace=False):
        bad = bytearray(data)
        bad[bit // 8] ^= 1 << (bit % 8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)
            got = mp3restore.info(bytes(bad))
        assert (got.tag, got.frames, got.samples, got.delay, got.padding) == \
            (info.tag, info.frames, info.samples, info.delay, info.padding), bit


def test_huffman_overrun_found_while_decoding_is_muted_and_reported():
    """Damage in the main data only (the side info, under its CRC, is intact): the frames
    whose Huffman data overruns are muted; info counts them after the decode."""
    data = _bytes("stereo_joint_cbr128_44100_crc")
    s, offs = _frame_offsets(data)
    clean = decode_checked(data, gapless=False)
    rng = np.random.default_rng(11)
    for attempt in range(40):
        bad = bytearray(data)
        k = int(rng.integers(5, len(offs) - 5))
        start = offs[k] + 6 + 32
        bad[start:start + 40] = rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)
            c = mp3restore.read_coefficients(bytes(bad))
        over = np.flatnonzero(c.frame_status & 8)
        if len(over) and mp3restore.info(bytes(bad)).concealed_frames == 0:
            break
    else:
        pytest.skip("no overrun produced")
    for f in over:
        assert not np.any(c.mdct[c.frame_granule[f]:c.frame_granule[f + 1]])
    f = mp3restore.open(bytes(bad))
    with pytest.warns(mp3restore.Mp3RestoreWarning, match="while decoding"):
        x, _ = f.read(restore=False, gapless=False)
    assert len(x) == len(clean)
    assert set(int(v) for v in over) <= set(f.info.concealed_positions)
    with pytest.raises(mp3restore.StreamError):
        mp3restore.read(bytes(bad), strict=True)


def test_clean_fixtures_have_nothing_concealed_or_repaired():
    for p in sorted(FIXTURES.glob("*.mp3")):
        data = p.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("error", mp3restore.Mp3RestoreWarning)
            s = open_stream(data)
        assert s.info.concealed_frames == 0 and s.info.concealed_positions == ()
        assert bytes(s.buf[:len(data)]) == data  # no header was rewritten
        assert not np.any(s.headers >> 32)


# ---------------------------------------------------------------------------
# strict mode
# ---------------------------------------------------------------------------

def test_strict_does_not_raise_on_clean_fixtures():
    for p in sorted(FIXTURES.glob("*.mp3")):
        mp3restore.read(p, restore=False, strict=True)
        for _ in mp3restore.blocks(p, 1 << 20, restore=False, strict=True):
            pass


@pytest.mark.parametrize("damage", ["header", "truncate", "crc", "junk"])
def test_strict_raises_stream_error_on_damage(damage):
    name = "stereo_joint_cbr128_44100_crc" if damage == "crc" else "stereo_joint_cbr128_44100"
    data = _bytes(name)
    s, offs = _frame_offsets(data)
    bad = bytearray(data)
    if damage == "header":
        bad[offs[10]:offs[10] + 4] = bytes(4)
    elif damage == "truncate":
        bad = bad[:-100]
    elif damage == "crc":
        bad[offs[10] + 8] ^= 0x01
    else:
        bad[offs[10]:offs[10]] = b"junk" * 10
    with pytest.raises(mp3restore.StreamError):
        mp3restore.read(bytes(bad), strict=True)
    with pytest.raises(mp3restore.StreamError):
        mp3restore.open(bytes(bad), strict=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        x, _ = mp3restore.read(bytes(bad), restore=False)
    assert any(issubclass(v.category, mp3restore.Mp3RestoreWarning) for v in w)
    assert np.all(np.isfinite(x))


def test_cli_strict(tmp_path, capsys):
    from mp3restore.cli import main

    data = bytearray(_bytes("stereo_joint_cbr128_44100"))
    _, offs = _frame_offsets(bytes(data))
    data[offs[10]:offs[10] + 4] = bytes(4)
    src = tmp_path / "bad.mp3"
    src.write_bytes(bytes(data))
    assert main(["decode", str(src), "-o", str(tmp_path / "a.wav"), "-q", "--no-restore"]) == 0
    assert "warning" in capsys.readouterr().err
    assert main(["decode", str(src), "-o", str(tmp_path / "b.wav"), "-q", "--strict"]) == 1
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "b.wav").exists()


# ---------------------------------------------------------------------------
# Truncation, tags and trimming information that do not fit the file
# ---------------------------------------------------------------------------

def test_truncated_file_warns_and_decodes_the_complete_frames():
    data = _bytes("stereo_joint_cbr128_44100")
    full = mp3restore.info(data)
    with pytest.warns(mp3restore.Mp3RestoreWarning, match="truncated"):
        x, _ = mp3restore.read(data[:-150], restore=False, gapless=False)
    assert len(x) == (full.frames - 1) * 1152


def _patch_xing(data, frames=None, delay=None, padding=None):
    """Set fields of the Xing/LAME tag of ``data`` (frame 0, MPEG-1 stereo: tag at 36)."""
    from mp3restore.tags import lame_crc16

    b = bytearray(data)
    assert b[36:40] in (b"Xing", b"Info")
    if frames is not None:
        b[44:48] = int(frames).to_bytes(4, "big")
    lame = 36 + 120
    if delay is not None or padding is not None:
        old = int.from_bytes(b[lame + 21:lame + 24], "big")
        d = old >> 12 if delay is None else delay
        p = old & 0xFFF if padding is None else padding
        b[lame + 21:lame + 24] = ((d << 12) | p).to_bytes(3, "big")
    b[lame + 34:lame + 36] = lame_crc16(bytes(b[:lame + 34])).to_bytes(2, "big")  # a valid tag CRC
    return bytes(b)


@pytest.mark.parametrize("frames", [1, 10, 77, 79, 1000, 2 ** 32 - 1])
def test_xing_frame_count_that_disagrees_with_the_file(frames):
    data = _bytes("stereo_joint_cbr128_44100")
    ref = mp3restore.info(data)
    info = mp3restore.info(_patch_xing(data, frames=frames))
    assert info.frames == ref.frames
    x = decode_checked(_patch_xing(data, frames=frames))
    assert len(x) == info.samples
    if frames < ref.frames:  # too small: the file's own count is used
        assert info.samples == ref.samples
    else:  # larger (a truncated file): nothing is cut at the end
        assert ref.samples <= info.samples <= ref.samples_decoded


@pytest.mark.parametrize("delay,padding", [(4095, 0), (0, 4095), (4095, 4095), (576, 4095)])
def test_lame_delay_and_padding_larger_than_a_short_stream(delay, padding):
    data = _bytes("short_stereo_joint_cbr128_44100_300samples")
    bad = _patch_xing(data, delay=delay, padding=padding)
    info = mp3restore.info(bad)
    x = decode_checked(bad)
    assert len(x) == info.samples >= 0
    assert len(decode_checked(bad, gapless=False)) == info.samples_decoded


def test_tag_sizes_larger_than_the_file():
    data = _bytes("stereo_joint_cbr128_44100")
    ref = decode_checked(data, gapless=False)
    id3 = b"ID3\x03\x00\x00" + bytes([0x7F, 0x7F, 0x7F, 0x7F])  # claims 256 MB
    ape = b"APETAGEX" + (2000).to_bytes(4, "little") + (10 ** 9).to_bytes(4, "little") + bytes(16)
    for bad in (id3 + data, data + ape, id3 + data + ape):
        x = decode_checked(bad, gapless=False)
        assert x is not None and len(x) == len(ref)


def _id3v2(payload_size):
    """An ID3v2.3 tag of ``payload_size`` bytes (one PRIV frame of noise, like a big cover image)."""
    rng = np.random.default_rng(7)
    body = rng.integers(0, 256, payload_size - 10, dtype=np.uint8).tobytes()
    frame = b"PRIV" + len(body).to_bytes(4, "big") + b"\0\0" + body
    n = len(frame)
    size = bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])
    return b"ID3\x03\x00\x00" + size + frame


def _ape(text_size):
    body = text_size.to_bytes(4, "little") + bytes(4) + b"Title\0" + b"x" * text_size
    size = (len(body) + 32).to_bytes(4, "little")
    head = b"APETAGEX" + (2000).to_bytes(4, "little") + size + (1).to_bytes(4, "little")
    return (head + (0xA0000000).to_bytes(4, "little") + bytes(8) + body
            + head + (0x80000000).to_bytes(4, "little") + bytes(8))


@pytest.mark.parametrize("middle", ["id3v2_big", "id3v1_id3v2", "ape_id3v2", "ape"])
def test_tags_between_files_joined_with_cat_are_not_lost_frames(middle):
    """``cat a.mp3 b.mp3``: the tags left in the middle (here up to 300 kB, a cover image)
    are skipped as mpg123 does, not taken for lost frames (muted placeholders: 20 s of
    silence inserted for a 300 kB tag, a warning, and an error with ``strict``)."""
    data = _bytes("stereo_joint_cbr128_44100")
    v1 = b"TAG" + bytes(125)
    tags = {"id3v2_big": _id3v2(300_000), "id3v1_id3v2": v1 + _id3v2(5000),
            "ape_id3v2": _ape(3000) + _id3v2(500), "ape": _ape(3000)}[middle]
    plain, _ = mp3restore.read(data + data, restore=False, gapless=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, _ = mp3restore.read(data + tags + data, restore=False, gapless=False, strict=True)
    assert x.shape == plain.shape
    np.testing.assert_array_equal(x, plain)
    assert mp3restore.info(data + tags + data).concealed_frames == 0


def test_tag_frame_of_a_file_appended_with_cat_is_not_audio():
    """``cat a.mp3 b.mp3`` of two LAME files: b's Info/Xing tag frame in the middle is
    skipped (as FFmpeg does), not decoded as 1152 samples of silence; the end is
    trimmed by b's padding (its tag's), the start by a's delay, and the junction keeps
    a's padding and b's delay as every decoder does."""
    a = _bytes("stereo_joint_cbr128_44100")  # Info tag (CBR)
    b = _bytes("short_stereo_joint_cbr128_44100_300samples")  # Info tag, another padding
    c = _bytes("stereo_joint_vbr2_44100")  # Xing tag (VBR)
    ia, ib, ic = mp3restore.info(a), mp3restore.info(b), mp3restore.info(c)
    assert ia.padding != ib.padding
    for first, second, i1, i2 in ((a, b, ia, ib), (b, c, ib, ic), (a, c, ia, ic)):
        joined = first + second
        info = mp3restore.info(joined)
        assert info.appended_streams == 1
        assert info.frames == i1.frames + i2.frames
        x1, _ = mp3restore.read(first, restore=False)
        x2, _ = mp3restore.read(second, restore=False)
        y, _ = mp3restore.read(joined, restore=False)
        assert len(y) == info.samples == len(x1) + i1.padding + i2.delay + len(x2)
        np.testing.assert_array_equal(y[:len(x1)], x1)
        # the second file's decode, once the filterbank has forgotten the first (two granules)
        k = 1152
        np.testing.assert_array_equal(y[len(y) - len(x2) + k:], x2[k:])
        z, _ = mp3restore.read(joined, restore=False, gapless=False)
        assert len(z) == (i1.frames + i2.frames) * 1152
    # three files: two tag frames skipped
    assert mp3restore.info(a + b + c).appended_streams == 2


def test_an_audio_frame_with_tag_bytes_is_not_taken_for_a_tag_frame():
    """Only a frame with all-zero side info before the magic is a tag frame: an audio
    frame whose main data happens to begin with ``Info`` stays (as a frame, its data
    damaged), so the frame count and the timing do not change."""
    data = bytearray(_bytes("stereo_joint_cbr128_44100"))
    s = open_stream(bytes(data))
    f = s.first + 10
    off = int(s.offsets[f])
    assert any(data[off + 4:off + 36])  # audio: non-zero side info
    data[off + 36:off + 40] = b"Info"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp3restore.Mp3RestoreWarning)  # its main data is damaged now
        info = mp3restore.info(bytes(data))
    assert info.appended_streams == 0
    assert info.frames == mp3restore.info(_bytes("stereo_joint_cbr128_44100")).frames
    # the same frame with its side info zeroed is a tag frame (and skipped)
    data[off + 4:off + 36] = bytes(32)
    info = mp3restore.info(bytes(data))
    assert info.appended_streams == 1
    assert info.frames == mp3restore.info(_bytes("stereo_joint_cbr128_44100")).frames - 1


def test_a_stream_that_changes_sample_rate_is_decoded_whole_with_a_warning():
    """``cat`` of a 44.1 kHz and a 22.05 kHz file: every frame is still decoded (nothing
    lost), but the second part cannot play at the right speed at one output rate, so
    the user is told (a warning; an error with ``strict``) instead of silently getting
    it at double speed."""
    a = _bytes("stereo_joint_cbr128_44100")
    b = _bytes("stereo_joint_cbr64_22050")
    xa, _ = mp3restore.read(a, restore=False, gapless=False)
    xb, _ = mp3restore.read(b, restore=False, gapless=False)
    with pytest.warns(mp3restore.Mp3RestoreWarning, match="sample rate changes from 44100 Hz to 22050 Hz"):
        x, sr = mp3restore.read(a + b, restore=False, gapless=False)
    # the second file's Info tag frame is skipped (not a granule of silence in the middle)
    assert sr == 44100 and len(x) == len(xa) + len(xb)
    assert mp3restore.info(a + b).appended_streams == 1
    k = 1152  # once the filterbank has forgotten the first file (two granules)
    np.testing.assert_array_equal(x[len(x) - len(xb) + k:], xb[k:])
    with pytest.raises(mp3restore.StreamError, match="sample rate changes"):
        mp3restore.read(a + b, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mp3restore.read(a + a, restore=False, strict=True)  # one rate: no warning


# ---------------------------------------------------------------------------
# Regression fixtures (inputs that crashed once), each run in a child process
# ---------------------------------------------------------------------------

REGRESSION_FILES = sorted(REGRESSIONS.glob("*.mp3")) if REGRESSIONS.is_dir() else []


@pytest.mark.parametrize("path", REGRESSION_FILES, ids=[p.stem for p in REGRESSION_FILES])
def test_regression_input_in_a_child_process(path):
    ctx = multiprocessing.get_context("fork")
    outcome, detail = fuzz.run_isolated(ctx, path.read_bytes(), {"extra": True}, timeout=120)
    assert outcome in ("ok", "error"), detail


def _riff_wave(fmt_tag: int, data: bytes, extensible_subformat: int | None = None) -> bytes:
    """A RIFF WAVE file: a ``fmt `` chunk with ``fmt_tag`` (2 channels, 44.1 kHz, 16 bits) and a
    ``data`` chunk; with ``extensible_subformat``, WAVE_FORMAT_EXTENSIBLE naming that subformat."""
    fmt = struct.pack("<HHIIHH", fmt_tag, 2, 44100, 44100 * 4, 4, 16)
    if extensible_subformat is not None:
        fmt += struct.pack("<HHI", 22, 16, 3) + struct.pack("<H", extensible_subformat) + bytes(14)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    body += b"\0" * (len(data) & 1)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _noise_pcm(n=60000, seed=5) -> bytes:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * 6000).clip(-32768, 32767).astype("<i2").tobytes()


@pytest.mark.parametrize("kind", ["wav_pcm", "wav_extensible_pcm", "aiff", "flac", "ogg", "mp4", "avi"])
def test_other_audio_formats_are_named_not_scanned_for_frames(kind):
    """A file that is not MPEG audio is recognised by its first bytes and named in a
    NotMpegAudioError. Scanned for frame headers, 16-bit PCM noise in a WAV had passed for
    Layer I/II, and an AIFF decoded as hundreds of concealed Layer III frames."""
    pcm = _noise_pcm()
    data = {
        "wav_pcm": _riff_wave(1, pcm),
        "wav_extensible_pcm": _riff_wave(0xFFFE, pcm, extensible_subformat=1),
        "aiff": b"FORM" + struct.pack(">I", len(pcm) + 4) + b"AIFF" + b"SSND" + struct.pack(">I", len(pcm)) + pcm,
        "flac": b"fLaC" + pcm,
        "ogg": b"OggS" + pcm,
        "mp4": struct.pack(">I", 24) + b"ftypM4A " + bytes(12) + pcm,
        "avi": b"RIFF" + struct.pack("<I", len(pcm) + 4) + b"AVI " + pcm,
    }[kind]
    want = {"wav_pcm": "WAV file of PCM", "wav_extensible_pcm": "WAV file of PCM", "aiff": "AIFF", "flac": "FLAC",
            "ogg": "Ogg", "mp4": "MP4", "avi": "RIFF AVI"}[kind]
    with pytest.raises(mp3restore.NotMpegAudioError, match=want):
        mp3restore.info(data)
    id3 = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10)  # behind an ID3v2 tag too
    with pytest.raises(mp3restore.NotMpegAudioError, match=want):
        mp3restore.read(id3 + data)


@pytest.mark.parametrize("tag", [0x55, 0x50, 1])
def test_mpeg_audio_in_a_wav_file_decodes_as_the_raw_stream(tag):
    """A RIFF WAVE whose format tag is MPEG (Layer III 0x55, or 0x50), and a RIFF RMP3, decode
    as the MP3 stream they wrap: the same samples, the RIFF chunks skipped.  So does MP3 data
    behind a WAV header that says PCM (tag 1), as some recorders write: its frames fill it."""
    raw = _bytes("stereo_joint_cbr128_44100")
    want, sr = mp3restore.read(raw, restore=False)
    for wrapped in (_riff_wave(tag, raw),
                    b"RIFF" + struct.pack("<I", len(raw) + 12) + b"RMP3" + b"data" + struct.pack("<I", len(raw)) + raw):
        got, sr2 = mp3restore.read(wrapped, restore=False)
        assert sr2 == sr
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [200_000, 2_000_000])
def test_random_bytes_are_not_called_layer_1_2(n):
    """Random data holds something that passes for a Layer I/II header about once per 8 KB;
    only headers at least once per 2.5 KB (the largest Layer II frame is 1.7 KB) name the input
    Layer I/II. Before, any two did, so every random file over ~20 KB was "Layer I/II"."""
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    with pytest.raises(mp3restore.NotMpegAudioError, match="no Layer III frame"):
        mp3restore.info(data)


@pytest.mark.parametrize("head,want", [(b"\xff\xf1\x50\x80", "ADTS AAC"), (b"\xff\xf9\x50\x80", "ADTS AAC"),
                                       (b"\x0b\x77\x12\x34", "AC-3"), (b"\x7f\xfe\x80\x01", "DTS")])
def test_raw_aac_ac3_dts_streams_are_named(head, want):
    with pytest.raises(mp3restore.NotMpegAudioError, match=want):
        mp3restore.info(head + _noise_pcm(30000))


@pytest.mark.parametrize("head", [b"\xff\xf1\x50\x80", b"\x0b\x77"])
def test_an_mp3_that_starts_with_an_aac_or_ac3_mark_still_decodes(head):
    """Two bytes are too short a mark to reject a file for: an MP3 whose first bytes are junk or
    a damaged header that looks like ADTS or AC-3 decodes as the stream after them."""
    raw = _bytes("stereo_joint_cbr128_44100")
    want, _ = mp3restore.read(raw, restore=False)
    got, _ = mp3restore.read(head + raw, restore=False)
    np.testing.assert_array_equal(got, want)


def test_no_frames_errors_say_why():
    """Without a Layer III frame, the error says when the data is a stream cut inside its first
    frame (EmptyInputError: no complete frame, with the byte counts) or text such as an HTML
    error page saved under an .mp3 name."""
    raw = _bytes("stereo_joint_cbr128_44100")
    with pytest.raises(mp3restore.EmptyInputError, match=r"inside its first frame \(100 of 417 bytes\)"):
        mp3restore.info(raw[:100])
    page = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>gone</body></html>\n" * 20
    with pytest.raises(mp3restore.NotMpegAudioError, match="it is text: an HTML page"):
        mp3restore.read(page)
    with pytest.raises(mp3restore.NotMpegAudioError, match=r"found; it is text\)"):
        mp3restore.info(b'{"error": "rate limited"}\n')
    with pytest.raises(mp3restore.NotMpegAudioError, match=r"no Layer III frame found\)$"):
        mp3restore.info(bytes(5000))  # neither
