"""Tests for mp3restore.tags: container tags, Xing/LAME and VBRI tags, CRCs.

Real streams are made with the Debian ``lame`` CLI in a temporary directory
(those tests skip when it is missing); container tags are checked with
synthetic byte strings whose layout is known exactly.
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import wave

import numpy as np
import pytest

from mp3restore.errors import InputError
from mp3restore.tags import (
    TagInfo,
    VbriTag,
    XingTag,
    crc16,
    find_tags,
    lame_crc16,
    parse_vbri,
    parse_xing,
)

LAME = shutil.which("lame")
needs_lame = pytest.mark.skipif(LAME is None, reason="the `lame` CLI is not on PATH")

# --------------------------------------------------------------------------
# A tiny Layer III header walker (independent of the package)
# --------------------------------------------------------------------------

_BITRATES = {
    1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
}
_RATES = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}


def header_info(b: bytes) -> dict:
    """Decode a Layer III frame header (4 bytes)."""
    assert b[0] == 0xFF and b[1] & 0xE0 == 0xE0, "no frame sync"
    version = (b[1] >> 3) & 3           # 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
    assert version != 1 and (b[1] >> 1) & 3 == 1, "not Layer III"
    mpeg1 = version == 3
    bitrate = _BITRATES[1 if mpeg1 else 2][b[2] >> 4] * 1000
    rate = _RATES[version][(b[2] >> 2) & 3]
    padding = (b[2] >> 1) & 1
    mono = (b[3] >> 6) == 3
    size = (144 if mpeg1 else 72) * bitrate // rate + padding
    side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    return {
        "size": size,
        "side_info": side,
        "crc": not (b[1] & 1),
        "samples": 1152 if mpeg1 else 576,
        "rate": rate,
    }


def walk_frames(data: bytes, start: int, end: int) -> list:
    """Offsets of consecutive frames in data[start:end]."""
    offsets = []
    pos = start
    while pos + 4 <= end:
        info = header_info(data[pos:pos + 4])
        offsets.append(pos)
        pos += info["size"]
    assert pos == end, "frames do not end exactly at the tag boundary"
    return offsets


# --------------------------------------------------------------------------
# Helpers for real files
# --------------------------------------------------------------------------

NSAMPLES = 44100


def write_wav(path, nsamples=NSAMPLES, channels=2, rate=44100, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((nsamples, channels)) * 3000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())
    return path


def lame(tmp_path, *args, channels=2, rate=44100, nsamples=NSAMPLES, name="out.mp3"):
    wav = write_wav(tmp_path / "in.wav", nsamples, channels, rate)
    out = tmp_path / name
    subprocess.run([LAME, "--quiet", *args, str(wav), str(out)], check=True)
    return out.read_bytes()


def first_frame(data: bytes, info: TagInfo) -> tuple:
    hdr = header_info(data[info.start:info.start + 4])
    return data[info.start:info.start + hdr["size"]], hdr


def check_lame_tag(data: bytes, nsamples: int):
    """Common checks of a LAME-made file with a LAME tag; returns the tag."""
    info = find_tags(data)
    frame, hdr = first_frame(data, info)
    tag = parse_xing(frame, hdr["side_info"], hdr["crc"])
    assert tag is not None
    assert tag.encoder is not None and tag.encoder.startswith("LAME")
    assert tag.tag_crc_ok is True
    assert tag.delay == 576
    offsets = walk_frames(data, info.start, info.end)
    assert tag.frames == len(offsets) - 1           # the tag frame is not counted
    # LAME's bookkeeping: every sample is in exactly one of these.
    assert tag.frames * hdr["samples"] == tag.delay + nsamples + tag.padding
    assert tag.bytes == info.end - info.start
    assert tag.music_length == info.end - info.start
    assert tag.toc is not None and len(tag.toc) == 100
    assert all(a <= b for a, b in zip(tag.toc, tag.toc[1:]))
    assert tag.toc[0] == 0
    # The music CRC (bytes 32-33 of the LAME extension) covers the audio
    # frames after the tag frame, with the same CRC as the tag CRC.
    lame_at = 4 + hdr["side_info"] + 120
    stored_music_crc = int.from_bytes(frame[lame_at + 32:lame_at + 34], "big")
    assert lame_crc16(data[offsets[1]:info.end]) == stored_music_crc
    return tag, info, hdr


# --------------------------------------------------------------------------
# CRCs
# --------------------------------------------------------------------------


def test_crc16_check_value():
    # CRC-16/CMS: poly 0x8005, init 0xFFFF, MSB first -- catalogue check value.
    assert crc16(b"123456789") == 0xAEE7
    assert crc16(b"") == 0xFFFF


def test_lame_crc16_check_value():
    # CRC-16/ARC: reflected 0x8005, init 0 -- catalogue check value.
    assert lame_crc16(b"123456789") == 0xBB3D
    assert lame_crc16(b"") == 0


@pytest.mark.parametrize("fn", [crc16, lame_crc16])
def test_crc_continuation(fn):
    data = bytes(range(256)) * 3
    assert fn(data[100:], fn(data[:100])) == fn(data)
    assert fn(bytearray(data)) == fn(memoryview(data)) == fn(data)


def _crc16_bitwise(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        for bit in range(7, -1, -1):
            top = (crc >> 15) & 1
            crc = (crc << 1) & 0xFFFF
            if top ^ ((byte >> bit) & 1):
                crc ^= 0x8005
    return crc


def test_crc16_matches_bitwise_definition():
    rng = random.Random(5)
    for n in (1, 2, 7, 34, 300):
        data = bytes(rng.randrange(256) for _ in range(n))
        assert crc16(data) == _crc16_bitwise(data)


@needs_lame
def test_header_crc_of_every_protected_frame(tmp_path):
    data = lame(tmp_path, "-p", "-b", "128")
    info = find_tags(data)
    offsets = walk_frames(data, info.start, info.end)
    assert len(offsets) > 10
    for off in offsets:
        hdr = header_info(data[off:off + 4])
        assert hdr["crc"]
        side = data[off + 6:off + 6 + hdr["side_info"]]
        stored = int.from_bytes(data[off + 4:off + 6], "big")
        assert crc16(data[off + 2:off + 4] + side) == stored
        # Continuing a running CRC gives the same answer.
        assert crc16(side, crc16(data[off + 2:off + 4])) == stored


@needs_lame
def test_header_crc_mpeg2_mono(tmp_path):
    data = lame(tmp_path, "-p", "-b", "32", channels=1, rate=22050)
    info = find_tags(data)
    for off in walk_frames(data, info.start, info.end):
        hdr = header_info(data[off:off + 4])
        assert hdr["side_info"] == 9
        side = data[off + 6:off + 6 + 9]
        assert crc16(data[off + 2:off + 4] + side) == int.from_bytes(data[off + 4:off + 6], "big")


# --------------------------------------------------------------------------
# Xing / Info / LAME tags from real files
# --------------------------------------------------------------------------


@needs_lame
def test_lame_cbr_info_tag(tmp_path):
    data = lame(tmp_path, "-b", "128")
    tag, info, hdr = check_lame_tag(data, NSAMPLES)
    assert tag.kind == "Info"
    assert tag.vbr_method == 1
    assert tag.bitrate == 128
    assert tag.lowpass == 17000        # LAME's lowpass for 128 kbps CBR at 44.1 kHz stereo
    assert tag.encoder == "LAME3.100" or tag.encoder.startswith("LAME3.")
    assert tag.quality is not None
    assert tag.lame_revision == 0
    assert info == TagInfo(0, len(data), (), False, None, None)
    assert parse_vbri(first_frame(data, info)[0]) is None


@needs_lame
def test_lame_vbr_xing_tag(tmp_path):
    data = lame(tmp_path, "-V", "2")
    tag, info, hdr = check_lame_tag(data, NSAMPLES)
    assert tag.kind == "Xing"
    assert 3 <= tag.vbr_method <= 5
    assert tag.lowpass is not None and tag.lowpass > 15000


@needs_lame
def test_lame_abr_tag(tmp_path):
    data = lame(tmp_path, "--abr", "160")
    tag, _, _ = check_lame_tag(data, NSAMPLES)
    assert tag.kind == "Xing"
    assert tag.vbr_method == 2
    assert tag.bitrate == 160


@needs_lame
def test_lame_padding_follows_sample_count(tmp_path):
    # Padding must track the sample count exactly (the relation is checked in
    # check_lame_tag); different lengths give different paddings.
    paddings = set()
    for n in (10000, 10001, 20000, 44100 + 577):
        sub = tmp_path / str(n)
        sub.mkdir()
        tag, _, _ = check_lame_tag(lame(sub, "-b", "128", nsamples=n), n)
        paddings.add(tag.padding)
    assert len(paddings) == 4


@needs_lame
def test_lame_mpeg1_mono(tmp_path):
    data = lame(tmp_path, "-m", "m", "-b", "64")
    tag, _, hdr = check_lame_tag(data, NSAMPLES)
    assert hdr["side_info"] == 17
    assert tag.kind == "Info"


@needs_lame
def test_lame_mpeg2_mono_vbr(tmp_path):
    data = lame(tmp_path, "-V", "5", channels=1, rate=22050)
    tag, _, hdr = check_lame_tag(data, NSAMPLES)
    assert hdr["side_info"] == 9 and hdr["samples"] == 576
    assert tag.kind == "Xing"


@needs_lame
def test_lame_mpeg25_stereo(tmp_path):
    data = lame(tmp_path, "-V", "5", rate=8000, nsamples=16000)
    tag, _, hdr = check_lame_tag(data, 16000)
    assert hdr["side_info"] == 17 and hdr["rate"] == 8000


@needs_lame
def test_lame_tag_with_header_crc_is_found(tmp_path):
    # LAME writes the tag at 4 + side info even in a CRC-protected frame.
    data = lame(tmp_path, "-p", "-b", "128")
    tag, info, hdr = check_lame_tag(data, NSAMPLES)
    frame = first_frame(data, info)[0]
    assert frame[36:40] == b"Info"
    assert hdr["crc"] and tag.kind == "Info"
    # Same frame with the tag moved to 4 + 2 + 32 is found too.
    moved = frame[:38] + frame[36:-2]
    assert parse_xing(moved, 32, True).frames == tag.frames


@needs_lame
def test_lame_no_tag(tmp_path):
    data = lame(tmp_path, "-t", "-b", "128")
    info = find_tags(data)
    assert info == TagInfo(0, len(data), (), False, None, None)
    frame, hdr = first_frame(data, info)
    assert parse_xing(frame, hdr["side_info"], hdr["crc"]) is None
    assert parse_vbri(frame) is None
    # Without a tag there is nothing to tell the padding, but the frames
    # still hold the delay and every sample.
    frames = len(walk_frames(data, info.start, info.end))
    assert frames * 1152 >= NSAMPLES + 576


@needs_lame
def test_lame_nogap_writes_no_tag(tmp_path):
    a = write_wav(tmp_path / "a.wav", seed=1)
    b = write_wav(tmp_path / "b.wav", seed=2)
    subprocess.run([LAME, "--quiet", "--nogap", "-b", "128", str(a), str(b)],
                   check=True, capture_output=True)
    for name in ("a.mp3", "b.mp3"):
        data = (tmp_path / name).read_bytes()
        info = find_tags(data)
        frame, hdr = first_frame(data, info)
        # LAME disables the Xing/Info tag with --nogap.
        assert parse_xing(frame, hdr["side_info"], hdr["crc"]) is None
        walk_frames(data, info.start, info.end)


@needs_lame
def test_lame_id3v2_and_id3v1(tmp_path):
    data = lame(tmp_path, "-b", "128", "--tt", "title", "--add-id3v2")
    info = find_tags(data)
    assert data[:3] == b"ID3"
    assert len(info.id3v2) == 1 and info.id3v2[0][0] == 0
    assert info.start == info.id3v2[0][1]
    assert info.id3v1 is True
    assert info.end == len(data) - 128
    assert info.ape is None and info.lyrics3 is None
    check_lame_tag(data, NSAMPLES)


@needs_lame
def test_lame_id3v1_only(tmp_path):
    data = lame(tmp_path, "-b", "128", "--tt", "title", "--id3v1-only")
    info = find_tags(data)
    assert info == TagInfo(0, len(data) - 128, (), True, None, None)
    check_lame_tag(data, NSAMPLES)


@needs_lame
def test_lame_id3v2_only(tmp_path):
    data = lame(tmp_path, "-V", "4", "--tt", "title", "--ta", "artist", "--id3v2-only")
    info = find_tags(data)
    assert info.id3v1 is False and info.end == len(data)
    assert info.id3v2 == ((0, info.start),)
    check_lame_tag(data, NSAMPLES)


@needs_lame
def test_truncated_tag_frames_never_raise(tmp_path):
    data = lame(tmp_path, "-b", "128")
    info = find_tags(data)
    frame, hdr = first_frame(data, info)
    full = parse_xing(frame, 32, False)
    for k in range(len(frame) + 1):
        tag = parse_xing(frame[:k], 32, False)
        if k < 40:
            assert tag is None
            continue
        assert tag.kind == "Info"
        assert tag.frames == (full.frames if k >= 48 else None)
        assert tag.bytes == (full.bytes if k >= 52 else None)
        assert tag.toc == (full.toc if k >= 152 else None)
        assert tag.quality == (full.quality if k >= 156 else None)
        assert tag.encoder == (full.encoder if k >= 165 else None)
        assert tag.lowpass == (full.lowpass if k >= 167 else None)
        assert tag.delay == (full.delay if k >= 180 else None)
        assert tag.music_length == (full.music_length if k >= 188 else None)
        assert tag.tag_crc_ok == (True if k >= 192 else None)


@needs_lame
def test_corrupted_tag_crc_detected(tmp_path):
    data = bytearray(lame(tmp_path, "-b", "128"))
    data[156 + 21] ^= 0x01          # flip a bit of the delay field
    frame = bytes(data[:417])
    tag = parse_xing(frame, 32, False)
    assert tag.tag_crc_ok is False
    assert tag.delay == 576 + 16


# --------------------------------------------------------------------------
# Xing / VBRI from synthetic frames
# --------------------------------------------------------------------------


def synth_lame_ext(encoder=b"LAME3.100", delay=576, padding=1234, lowpass=170,
                   bitrate=128, music_length=5000):
    ext = bytearray(36)
    ext[0:9] = encoder
    ext[9] = 0x13                            # revision 1, method 3
    ext[10] = lowpass
    ext[20] = bitrate
    ext[21:24] = ((delay << 12) | padding).to_bytes(3, "big")
    ext[28:32] = music_length.to_bytes(4, "big")
    return bytes(ext)


def synth_xing_frame(flags, frames=77, nbytes=9999, quality=50, side_info=32,
                     crc=False, ext=None, kind=b"Xing", size=417):
    frame = bytearray(b"\xff\xfb\x90\x64" if not crc else b"\xff\xfa\x90\x64")
    if crc:
        frame += b"\0\0"
    frame += bytes(side_info) + kind + struct.pack(">I", flags)
    if flags & 1:
        frame += struct.pack(">I", frames)
    if flags & 2:
        frame += struct.pack(">I", nbytes)
    if flags & 4:
        frame += bytes(range(0, 200, 2))
    if flags & 8:
        frame += struct.pack(">I", quality)
    if ext is not None:
        crc_at = len(frame) + 34
        frame += ext[:34]
        frame += lame_crc16(frame[:crc_at]).to_bytes(2, "big")
    frame += bytes(size - len(frame))
    return bytes(frame)


@pytest.mark.parametrize("side_info", [32, 17, 9])
@pytest.mark.parametrize("crc", [False, True])
def test_synthetic_xing_all_flags(side_info, crc):
    frame = synth_xing_frame(15, side_info=side_info, crc=crc, ext=synth_lame_ext())
    tag = parse_xing(frame, side_info, crc)
    assert tag == XingTag(kind="Xing", frames=77, bytes=9999,
                          toc=tuple(range(0, 200, 2)), quality=50,
                          encoder="LAME3.100", lame_revision=1, vbr_method=3,
                          lowpass=17000, delay=576, padding=1234, bitrate=128,
                          music_length=5000, tag_crc_ok=True)
    # The wrong side info size finds nothing.
    other = {32: 17, 17: 9, 9: 32}[side_info]
    assert parse_xing(frame, other, crc) is None


def test_synthetic_xing_partial_flags():
    frame = synth_xing_frame(1 | 8, ext=synth_lame_ext(encoder=b"Lavc58.54"))
    tag = parse_xing(frame, 32, False)
    assert tag.kind == "Xing"
    assert tag.frames == 77 and tag.quality == 50
    assert tag.bytes is None and tag.toc is None
    # The LAME extension follows the fields that are present.
    assert tag.encoder == "Lavc58.54" and tag.delay == 576 and tag.tag_crc_ok


def test_synthetic_xing_no_flags_info():
    tag = parse_xing(synth_xing_frame(0, kind=b"Info"), 32, False)
    assert tag == XingTag(kind="Info")


def test_encoder_string_with_nul_and_space():
    for raw, text in ((b"LAME3.99 ", "LAME3.99"), (b"GOGO\0\0\0\0\0", "GOGO")):
        tag = parse_xing(synth_xing_frame(15, ext=synth_lame_ext(encoder=raw)), 32, False)
        assert tag.encoder == text


def test_non_ascii_encoder_means_no_lame_extension():
    for enc in (bytes(9), b"\x01\x02LAME3.1", b"LAME\xff3.10", b"9LAME3.10"):
        tag = parse_xing(synth_xing_frame(15, ext=synth_lame_ext(encoder=enc)), 32, False)
        assert tag.frames == 77
        assert tag.encoder is None and tag.delay is None and tag.lowpass is None
        assert tag.tag_crc_ok is None and tag.bitrate is None


def test_lowpass_zero_is_none():
    tag = parse_xing(synth_xing_frame(15, ext=synth_lame_ext(lowpass=0)), 32, False)
    assert tag.lowpass is None


def test_max_delay_and_padding():
    tag = parse_xing(synth_xing_frame(15, ext=synth_lame_ext(delay=4095, padding=4095)), 32, False)
    assert (tag.delay, tag.padding) == (4095, 4095)
    tag = parse_xing(synth_xing_frame(15, ext=synth_lame_ext(delay=0, padding=1)), 32, False)
    assert (tag.delay, tag.padding) == (0, 1)


def test_xing_accepts_bytes_like():
    frame = synth_xing_frame(15, ext=synth_lame_ext())
    ref = parse_xing(frame, 32, False)
    assert parse_xing(bytearray(frame), 32, False) == ref
    assert parse_xing(memoryview(frame), 32, False) == ref
    assert parse_xing(np.frombuffer(frame, np.uint8), 32, False) == ref


def synth_vbri(entries=(10, 20, 30), scale=2, width=2, size=417):
    frame = bytearray(b"\xff\xfb\x90\x64" + bytes(32))
    frame += b"VBRI" + struct.pack(">HHHIIHHHH", 1, 1105, 75, 123456, 321,
                                   len(entries), scale, width, 4)
    for e in entries:
        frame += e.to_bytes(width, "big") if 1 <= width <= 4 else bytes(width)
    frame += bytes(max(0, size - len(frame)))
    return bytes(frame)


def test_vbri():
    tag = parse_vbri(synth_vbri())
    assert tag == VbriTag(version=1, delay=1105, quality=75, bytes=123456,
                          frames=321, toc=(20, 40, 60))
    assert parse_vbri(synth_vbri(entries=(1, 2, 65535), width=2, scale=1)).toc == (1, 2, 65535)
    assert parse_vbri(synth_vbri(entries=(7, 8), width=4, scale=3)).toc == (21, 24)
    assert parse_vbri(synth_vbri(entries=(7, 8), width=1, scale=1)).toc == (7, 8)


def test_vbri_truncated_and_absent():
    frame = synth_vbri(entries=tuple(range(1, 101)), size=0)
    assert parse_vbri(frame[:36 + 25]) is None
    assert parse_vbri(frame[:36 + 26]).toc == ()
    assert parse_vbri(frame[:36 + 26 + 5]).toc == (2, 4)       # whole entries only
    assert parse_vbri(frame).frames == 321 and len(parse_vbri(frame).toc) == 100
    assert parse_vbri(bytes(417)) is None
    assert parse_vbri(b"") is None
    assert parse_vbri(synth_vbri(width=0)).toc == ()
    assert parse_vbri(synth_vbri(width=7)).toc == ()


# --------------------------------------------------------------------------
# Container tags: synthetic byte strings
# --------------------------------------------------------------------------

AUDIO = (b"\xff\xfb\x90\x64" + bytes(413)) * 3       # three fake 417-byte frames


def syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def id3v2(body_size=100, major=3, footer=False) -> bytes:
    flags = 0x10 if footer else 0
    head = b"ID3" + bytes((major, 0, flags)) + syncsafe(body_size)
    tag = head + b"\x01" * body_size
    if footer:
        tag += b"3DI" + head[3:]
    return tag


def id3v1(title=b"title") -> bytes:
    return b"TAG" + title.ljust(125, b"\0")


def ape(items=b"item-data" * 5, header=True, version=2000) -> bytes:
    size = len(items) + 32
    flags_footer = (1 << 31) if header else 0
    footer = b"APETAGEX" + struct.pack("<IIII", version, size, 1, flags_footer) + bytes(8)
    out = items + footer
    if header:
        head = b"APETAGEX" + struct.pack("<IIII", version, size, 1,
                                         (1 << 31) | (1 << 29)) + bytes(8)
        out = head + out
    return out


def lyrics3v1(text=b"some lyrics") -> bytes:
    return b"LYRICSBEGIN" + text + b"LYRICSEND"


def lyrics3v2(fields=b"IND00003110LYR00005hello") -> bytes:
    body = b"LYRICSBEGIN" + fields
    return body + b"%06d" % len(body) + b"LYRICS200"


def test_no_tags():
    assert find_tags(AUDIO) == TagInfo(0, len(AUDIO), (), False, None, None)


def test_empty_and_tiny():
    assert find_tags(b"") == TagInfo(0, 0, (), False, None, None)
    assert find_tags(b"ID3") == TagInfo(0, 3, (), False, None, None)
    assert find_tags(b"TAG") == TagInfo(0, 3, (), False, None, None)


def test_id3v2_at_start():
    tag = id3v2(100)
    info = find_tags(tag + AUDIO)
    assert info == TagInfo(110, 110 + len(AUDIO), ((0, 110),), False, None, None)


def test_id3v24_with_footer():
    tag = id3v2(100, major=4, footer=True)
    assert len(tag) == 120
    info = find_tags(tag + AUDIO)
    assert info.start == 120 and info.id3v2 == ((0, 120),)


def test_footer_flag_ignored_before_v24():
    # 0x10 is not a defined flag in ID3v2.3; no footer is written there.
    head = b"ID3" + bytes((3, 0, 0x10)) + syncsafe(50)
    info = find_tags(head + bytes(50) + AUDIO)
    assert info.start == 60


def test_two_consecutive_id3v2():
    a, b = id3v2(100), id3v2(37, major=4, footer=True)
    info = find_tags(a + b + AUDIO)
    assert info.id3v2 == ((0, 110), (110, 57))
    assert info.start == 167 and info.end == 167 + len(AUDIO)


def test_id3v2_only_file():
    tag = id3v2(100)
    assert find_tags(tag) == TagInfo(110, 110, ((0, 110),), False, None, None)


def test_id3v1():
    data = AUDIO + id3v1()
    assert find_tags(data) == TagInfo(0, len(AUDIO), (), True, None, None)


def test_id3v1_extended_tag_plus():
    ext = b"TAG+" + bytes(223)
    data = AUDIO + ext + id3v1()
    info = find_tags(data)
    assert info.id3v1 and info.end == len(AUDIO)


@pytest.mark.parametrize("header", [True, False])
def test_apev2_before_id3v1(header):
    tag = ape(header=header)
    data = AUDIO + tag + id3v1()
    info = find_tags(data)
    assert info.ape == (len(AUDIO), len(tag))
    assert info.end == len(AUDIO) and info.id3v1


@pytest.mark.parametrize("header", [True, False])
def test_apev2_at_end(header):
    tag = ape(header=header)
    info = find_tags(AUDIO + tag)
    assert info == TagInfo(0, len(AUDIO), (), False, (len(AUDIO), len(tag)), None)


def test_apev1_has_no_header():
    tag = ape(header=False, version=1000)
    info = find_tags(AUDIO + tag + id3v1())
    assert info.ape == (len(AUDIO), len(tag)) and info.end == len(AUDIO)


def test_lyrics3_v1():
    tag = lyrics3v1()
    info = find_tags(AUDIO + tag + id3v1())
    assert info == TagInfo(0, len(AUDIO), (), True, None, (len(AUDIO), len(tag)))


def test_lyrics3_v1_size_limit():
    ok = lyrics3v1(b"x" * 5100)
    info = find_tags(AUDIO + ok + id3v1())
    assert info.lyrics3 == (len(AUDIO), len(ok))
    too_long = lyrics3v1(b"x" * 5101)
    info = find_tags(AUDIO + too_long + id3v1())
    assert info.lyrics3 is None and info.end == len(AUDIO) + len(too_long)


def test_lyrics3_v2():
    tag = lyrics3v2()
    info = find_tags(AUDIO + tag + id3v1())
    assert info == TagInfo(0, len(AUDIO), (), True, None, (len(AUDIO), len(tag)))
    info = find_tags(AUDIO + tag)
    assert info == TagInfo(0, len(AUDIO), (), False, None, (len(AUDIO), len(tag)))


def test_appended_id3v2_with_footer():
    tag = id3v2(64, major=4, footer=True)
    info = find_tags(AUDIO + tag + id3v1())
    assert info.id3v2 == ((len(AUDIO), len(tag)),)
    assert info.end == len(AUDIO) and info.id3v1


def test_everything_stacked():
    front = id3v2(100) + id3v2(20, major=4, footer=True)
    a = ape()
    l3 = lyrics3v2()
    back = id3v2(30, major=4, footer=True)
    data = front + AUDIO + a + l3 + back + id3v1()
    info = find_tags(data)
    s = len(front)
    e = s + len(AUDIO)
    assert info == TagInfo(
        start=s, end=e,
        id3v2=((0, 110), (110, 40), (e + len(a) + len(l3), len(back))),
        id3v1=True, ape=(e, len(a)), lyrics3=(e + len(a), len(l3)))


def test_everything_stacked_other_order():
    l3 = lyrics3v1()
    a = ape(header=False)
    back = id3v2(30, major=4, footer=True)
    data = id3v2(10) + AUDIO + back + l3 + a + id3v1()
    info = find_tags(data)
    e = 20 + len(AUDIO)
    assert info.start == 20 and info.end == e
    assert info.id3v2 == ((0, 20), (e, len(back)))
    assert info.lyrics3 == (e + len(back), len(l3))
    assert info.ape == (e + len(back) + len(l3), len(a))


# ---- broken sizes and garbage --------------------------------------------


def test_id3v2_size_past_end_is_not_skipped():
    head = b"ID3" + bytes((3, 0, 0)) + syncsafe(200 * 1024 * 1024)
    data = head + bytes(100) + AUDIO
    assert len(data) < 2000
    info = find_tags(data)
    assert info == TagInfo(0, len(data), (), False, None, None)


def test_second_id3v2_size_past_end():
    first = id3v2(30)
    bad = b"ID3" + bytes((4, 0, 0)) + syncsafe(10 ** 6)
    info = find_tags(first + bad + AUDIO)
    assert info.start == 40 and info.id3v2 == ((0, 40),)


def test_id3v2_size_exactly_the_file():
    tag = id3v2(1000)
    assert find_tags(tag).start == len(tag)
    assert find_tags(tag[:-1]).start == 0


def test_id3_with_bad_syncsafe_byte_is_not_a_tag():
    for size in (b"\x00\x00\x00\x80", b"\x80\x00\x00\x00", b"\x00\xff\x00\x00"):
        data = b"ID3\x03\x00\x00" + size + AUDIO
        assert find_tags(data) == TagInfo(0, len(data), (), False, None, None)


def test_id3_with_ff_version_is_not_a_tag():
    data = b"ID3\xff\x00\x00" + syncsafe(10) + bytes(10) + AUDIO
    assert find_tags(data).start == 0


def test_ape_size_past_start_is_ignored():
    items = b"x" * 40
    footer = b"APETAGEX" + struct.pack("<IIII", 2000, 10 ** 7, 1, 0) + bytes(8)
    data = AUDIO + items + footer
    info = find_tags(data)
    assert info.ape is None and info.end == len(data)


def test_ape_header_flag_past_start_is_ignored():
    tag = ape(header=True)
    data = tag[32:]       # footer says "has header", but the file starts at the items
    info = find_tags(data)
    assert info.ape is None and info.end == len(data)


def test_ape_cannot_reach_into_leading_id3v2():
    front = id3v2(100)
    tag = ape(header=False)
    data = front + tag[:10] + tag       # declared size ok, but reaches the ID3v2?
    info = find_tags(data)
    assert info.ape == (len(front) + 10, len(tag)) and info.start == 110
    # Now a size that would reach into the ID3v2 tag: ignored.
    items = b"y" * 8
    footer = b"APETAGEX" + struct.pack("<IIII", 2000, 8 + 32 + 50, 1, 0) + bytes(8)
    data = front + items + footer
    info = find_tags(data)
    assert info.ape is None and info.start == 110 and info.end == len(data)


def test_lyrics3_v2_bad_size_is_ignored():
    tag = lyrics3v2()
    for bad in (tag[:-15] + b"00x012" + tag[-9:],        # non-digit
                tag[:-15] + b"%06d" % (len(tag) - 10) + tag[-9:],   # wrong size
                tag[:-15] + b"999999" + tag[-9:]):       # past the start
        data = AUDIO + bad + id3v1()
        info = find_tags(data)
        assert info.lyrics3 is None and info.end == len(AUDIO) + len(bad)


def test_lyrics3_v1_without_begin_is_ignored():
    data = AUDIO + b"no begin marker LYRICSEND" + id3v1()
    info = find_tags(data)
    assert info.lyrics3 is None and info.end == len(data) - 128


def test_appended_id3v2_footer_without_header_is_ignored():
    tag = bytearray(id3v2(64, major=4, footer=True))
    tag[0:3] = b"XXX"
    data = AUDIO + bytes(tag)
    assert find_tags(data).end == len(data)
    # and one claiming more than the file holds
    footer = b"3DI\x04\x00\x10" + syncsafe(10 ** 6)
    data = AUDIO + footer
    assert find_tags(data) == TagInfo(0, len(data), (), False, None, None)


def test_garbage_never_raises():
    rng = random.Random(1234)
    markers = [b"ID3\x04\x00\x10", b"ID3\x03\x00\x00", b"3DI\x04\x00\x10", b"TAG",
               b"TAG+", b"APETAGEX", b"LYRICSBEGIN", b"LYRICSEND", b"LYRICS200",
               b"\xd0\x07\x00\x00", b"\x00\x00\x00\x80", b"000100"]
    for _ in range(2000):
        parts = []
        for _ in range(rng.randrange(0, 8)):
            if rng.random() < 0.5:
                parts.append(rng.choice(markers))
            else:
                parts.append(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40))))
        data = b"".join(parts)
        info = find_tags(data)
        assert 0 <= info.start <= info.end <= len(data)
        for off, size in info.id3v2 + tuple(t for t in (info.ape, info.lyrics3) if t):
            assert 0 <= off and off + size <= len(data) and size > 0


def test_synthetic_stacks_random_combinations():
    rng = random.Random(99)
    for _ in range(300):
        front = []
        for _ in range(rng.randrange(0, 3)):
            major = rng.choice((3, 4))
            front.append(id3v2(rng.randrange(0, 50), major=major,
                               footer=major == 4 and rng.random() < 0.5))
        kinds = rng.sample(["ape", "lyr", "id3"], rng.randrange(0, 4))
        back = []
        for kind in kinds:
            if kind == "ape":
                back.append(ape(header=rng.random() < 0.5))
            elif kind == "lyr":
                back.append(lyrics3v1() if rng.random() < 0.5 else lyrics3v2())
            else:
                back.append(id3v2(rng.randrange(0, 50), major=4, footer=True))
        v1 = rng.random() < 0.5
        data = b"".join(front) + AUDIO + b"".join(back) + (id3v1() if v1 else b"")
        info = find_tags(data)
        s = sum(map(len, front))
        assert (info.start, info.end) == (s, s + len(AUDIO))
        assert info.id3v1 == v1
        assert (info.ape is not None) == ("ape" in kinds)
        assert (info.lyrics3 is not None) == ("lyr" in kinds)
        assert len(info.id3v2) == len(front) + kinds.count("id3")


# ---- input types ----------------------------------------------------------


def test_input_types():
    data = id3v2(10) + AUDIO + ape() + id3v1()
    ref = find_tags(data)
    assert find_tags(bytearray(data)) == ref
    assert find_tags(memoryview(data)) == ref
    assert find_tags(np.frombuffer(data, dtype=np.uint8)) == ref
    assert find_tags(np.frombuffer(data, dtype=np.uint8).copy()) == ref
    strided = np.zeros(2 * len(data), np.uint8)
    strided[::2] = np.frombuffer(data, np.uint8)
    assert find_tags(strided[::2]) == ref


def test_bad_input_type():
    with pytest.raises(InputError):
        find_tags("ID3 not bytes")
    with pytest.raises(InputError):
        find_tags(12345)
