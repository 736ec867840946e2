"""Restoration: what it must do, and the known failure modes of blind replication
(a test each, from ../shared/docs/restoration-notes.md: invented treble, pre-echo,
birdies and flicker, seams (in tools/evaluate.py), stereo image, hiss in silence and
fades, clipping)."""
import numpy as np
import pytest

import mp3restore
from mp3restore.restore import LOOKAHEAD_FRAMES, make_plan, restore_coefficients
from mp3restore.restore.envelope import NB, envelope_at
from conftest import FIXTURES, VECTORS, load_tool

lameenc = pytest.importorskip("lameenc")
SR = 44100
ev = load_tool("evaluate")


def encode(x, kbps=128, sr=SR, out_sr=None):
    """int16-scale float signal (n,) or (n, 2) -> MP3 bytes (lameenc, no LAME tag);
    ``out_sr`` forces the coded sample rate (LAME resamples at low bit rates)."""
    x = np.asarray(x)
    ch = 1 if x.ndim == 1 else x.shape[1]
    enc = lameenc.Encoder()
    enc.set_bit_rate(kbps)
    enc.set_in_sample_rate(sr)
    enc.set_channels(ch)
    enc.set_quality(2)
    if out_sr:
        enc.set_out_sample_rate(out_sr)
    pcm = np.clip(np.rint(x * 32767), -32768, 32767).astype("<i2")
    return enc.encode(pcm.tobytes()) + enc.flush()


def music(seconds=4.0, seed=0, stereo=True, corr=0.8):
    """Pink-ish noise and decaying harmonic notes: a smooth spectrum that falls with frequency."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR

    def pink(m):
        spec = np.fft.rfft(rng.standard_normal(m))
        f = np.fft.rfftfreq(m, 1 / SR)
        spec /= np.sqrt(np.maximum(f, 30.0))
        spec *= 1 / (1 + (f / 8000.0) ** 2) ** 0.5  # real music falls faster above ~10 kHz
        y = np.fft.irfft(spec, m)
        return y / np.abs(y).max()

    common = pink(n)
    notes = np.zeros(n)
    for i, f0 in enumerate([220, 330, 440, 262, 392]):
        start = int(i * 0.7 * SR)
        env = np.exp(-np.arange(n - start) / (0.4 * SR))
        for h in range(1, 12):
            notes[start:] += env * np.sin(2 * np.pi * f0 * h * t[: n - start]) / h ** 1.5
    notes /= np.abs(notes).max()
    mono = 0.35 * common + 0.35 * notes
    if not stereo:
        return mono
    other = 0.35 * (corr * common + np.sqrt(1 - corr ** 2) * pink(n)) + 0.35 * notes
    return np.stack([mono, other], axis=1)


def hf_energy(x, lo, hi=20000.0):
    spec = np.abs(np.fft.rfft(x, axis=0)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return spec[(f >= lo) & (f < hi)].sum(axis=0)


@pytest.fixture(scope="module")
def mp3_128():
    return encode(music(), 128)


def test_fills_the_cliff_and_keeps_the_level_plausible(mp3_128):
    plain, _ = mp3restore.read(mp3_128, restore=False)
    rest, _ = mp3restore.read(mp3_128, restore=True)
    assert hf_energy(plain, 17500, 20000).sum() < 1e-6 * hf_energy(plain, 12000, 16000).sum()
    e_hf = hf_energy(rest, 17500, 20000).sum()
    e_ref = hf_energy(rest, 14000, 16000).sum()
    # the region above the cliff is filled, and not louder than the band below it
    assert 1e-3 * e_ref < e_hf < e_ref


def test_coded_lines_are_untouched(mp3_128):
    c = mp3restore.read_coefficients(mp3_128)
    r = restore_coefficients(c)
    coded = c.mdct != 0
    np.testing.assert_array_equal(r.mdct[coded], c.mdct[coded])
    assert np.any(r.mdct[~coded] != 0)


@pytest.mark.parametrize("name", [None, "dual_cbr128_44100.mp3", "stereo_joint_cbr64_44100.mp3"])
def test_read_equals_restore_coefficients_path(mp3_128, name):
    # read() searches long granules' top line from the decoder's Huffman bound, the
    # coefficients path from the top (they may be edited): the same lines either way.
    # The dual-channel stream has a granule with a long and a short channel.
    f = mp3_128 if name is None else FIXTURES / name
    assert mp3restore.open(f).restoration_plan().highband
    a, _ = mp3restore.read(f, restore=True)
    b, _ = mp3restore.synthesize(restore_coefficients(mp3restore.read_coefficients(f)))
    np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def mp3_intro():
    """4.5 s of silence, then 6 s of music: the lookahead (3.3 s) sees only the silence."""
    return encode(np.concatenate([np.zeros((int(4.5 * SR), 2)), music(6.0)]), 128)


def test_a_silent_intro_does_not_decide_for_the_whole_stream(mp3_intro):
    c = mp3restore.read_coefficients(mp3_intro)
    look = int(c.frame_granule[LOOKAHEAD_FRAMES])
    assert make_plan(c.stream_info(), c.mdct[:look], c.block_type[:look]).verdict == "silent"
    plan = mp3restore.open(mp3_intro).restoration_plan()
    assert plan.highband and plan.verdict == "restore" and plan.sampled_windows == 8, plan
    plain, _ = mp3restore.read(mp3_intro, restore=False)
    rest, _ = mp3restore.read(mp3_intro, restore=True)
    music_part = slice(5 * SR, None)
    assert np.all(hf_energy(rest[music_part], 17500) > 10 * hf_energy(plain[music_part], 17500))
    np.testing.assert_array_equal(rest[:4 * SR], plain[:4 * SR])  # silence stays silence
    # every path makes the same decision: restore_coefficients, threads, blocks
    b, _ = mp3restore.synthesize(restore_coefficients(c))
    np.testing.assert_array_equal(rest, b)
    np.testing.assert_array_equal(mp3restore.read(mp3_intro, restore=True, threads=2)[0], rest)
    np.testing.assert_array_equal(np.concatenate(list(mp3restore.blocks(mp3_intro, 7000, threads=2))), rest)


def test_a_band_limited_intro_does_not_decide_for_the_whole_stream():
    from scipy.signal import butter, sosfiltfilt

    intro = sosfiltfilt(butter(12, 7000, fs=SR, output="sos"), music(5.0, seed=3), axis=0)
    mp3 = encode(np.concatenate([intro, music(6.0)]), 128)
    c = mp3restore.read_coefficients(mp3)
    look = int(c.frame_granule[LOOKAHEAD_FRAMES])
    assert make_plan(c.stream_info(), c.mdct[:look], c.block_type[:look]).verdict == "band-limited"
    plan = mp3restore.open(mp3).restoration_plan()
    assert plan.highband and plan.sampled_windows == 8, plan


def test_sample_ranges_spread_over_the_rest_of_the_stream():
    from mp3restore.restore.plan import SAMPLE_FRAMES, SAMPLE_WINDOWS, sample_ranges

    assert sample_ranges(0, LOOKAHEAD_FRAMES) == []
    assert sample_ranges(3, LOOKAHEAD_FRAMES + 10) == [(LOOKAHEAD_FRAMES + 3, LOOKAHEAD_FRAMES + 10)]
    for first, n in ((0, 1000), (5, 100000), (0, LOOKAHEAD_FRAMES + SAMPLE_WINDOWS * SAMPLE_FRAMES + 1)):
        r = sample_ranges(first, n)
        assert len(r) == SAMPLE_WINDOWS and all(b - a == SAMPLE_FRAMES for a, b in r)
        assert r[0][0] >= first + LOOKAHEAD_FRAMES and r[-1][1] <= n
        assert all(r[i][1] <= r[i + 1][0] for i in range(len(r) - 1))  # disjoint, in order
        if n > 10000:  # evenly spread: the gaps between windows agree within a frame
            gaps = np.diff([a for a, _ in r])
            assert gaps.max() - gaps.min() <= 1


def test_the_decode_plan_is_the_reported_plan_without_the_hole_count():
    """``read()`` skips counting the lookahead's holes (only ``info`` reports them);
    everything else in its plan is what ``restoration_plan()`` reports."""
    import dataclasses

    from mp3restore.api import _plan

    with mp3restore.open(FIXTURES / "stereo_joint_cbr64_44100.mp3") as f:
        reported = f.restoration_plan()
        decoded = _plan(f._stream, 1.0, None)
    assert reported.holes_found > 0 and decoded.holes_found == 0
    assert dataclasses.replace(reported, holes_found=0) == decoded


@pytest.mark.parametrize("path", [
    FIXTURES / "stereo_joint_cbr64_44100.mp3",  # mid/side
    FIXTURES / "stereo_joint_cbr64_22050.mp3",  # MPEG-2 LSF
    FIXTURES / "dual_cbr128_44100.mp3",
    VECTORS / "l3-he_mode.bit",  # intensity, mid/side and both, mixed blocks, mode switches
    VECTORS / "M2L3_bitrate_22_all.bit",  # LSF intensity positions
], ids=lambda p: p.name)
def test_decoder_bound_on_nonzero_lines_holds(path):
    """``read`` lets restoration search a long granule's highest non-zero line
    below the coded channels' highest ``last_nonzero`` (Huffman, before stereo
    processing): no line at or above it may be non-zero after stereo processing."""
    if not path.exists():
        pytest.skip(f"{path} not found")
    c = mp3restore.read_coefficients(path)
    nc = c.coded_channels
    checked = tight = 0
    for g in range(len(c.mdct)):
        if np.any(c.block_type[g, :nc[g]] == 2):  # the kernel uses the bound when all coded channels are long
            continue
        top = int(c.last_nonzero[g, :nc[g]].max())
        assert not np.any(c.mdct[g, :, top:]), f"granule {g}: a non-zero line at or above {top}"
        checked += 1
        tight += top < 576 and np.any(c.mdct[g, :, :top])
    assert checked > 20 and tight > checked // 2  # the bound is below the top in most granules


@pytest.mark.parametrize("name", ["stereo_joint_cbr320_44100.mp3", "mono_cbr128_44100.mp3",
                                  "mono_cbr128_48000_shine.mp3"])
def test_wideband_stream_is_bit_identical(name):
    p = FIXTURES / name
    a, _ = mp3restore.read(p, restore=False)
    b, _ = mp3restore.read(p, restore=True)
    np.testing.assert_array_equal(a, b)


def test_another_encoders_ragged_band_edge_is_restored_without_harm():
    """libshine (through FFmpeg) has no lowpass: each granule's coded band ends where
    its bits run out, from about 5 to 14 kHz here, and the stream has no LAME tag.
    Restoration was developed on LAME streams; on this one it must still bring every
    band of the spectrum closer to the source and keep the high band's level."""
    f = FIXTURES / "stereo_cbr64_44100_shine.mp3"
    gen = load_tool("make_fixtures")
    src = gen.to_int16(gen.music_signal(SR, 88200, 801, 2)) / 32768.0  # the fixture's source (its sidecar)
    c = mp3restore.read_coefficients(f)
    top = np.array([np.flatnonzero(m.any(axis=0)).max() + 1 if m.any() else 0 for m in c.mdct]) * SR / 1152
    assert np.percentile(top, 90) - np.percentile(top, 10) > 5000  # a ragged edge, not a lowpass
    row = ev.plain_vs_restored(f.read_bytes(), src, SR)  # split at the plan's cutoff
    assert row["verdict"] == "restore", row
    lp, lr = row["lsd"]["plain"], row["lsd"]["restored"]
    assert lr["full"] < 0.8 * lp["full"] and lr["hf"] < 0.8 * lp["hf"] and lr["lf"] <= lp["lf"], (lp, lr)
    assert abs(row["level_db"]["restored"]) < 3.0


@pytest.mark.parametrize("stereo", [True, False])
def test_the_lowest_bit_rates_cliff_is_an_encoder_cliff(stereo):
    """At 8 kbps LAME codes 8 kHz audio and cuts it at about 2 kHz (stereo) or 3 kHz
    (mono), far below the 5.5 kHz it keeps at 32 kbps: the plan must know the lowpass
    of rates under 32 kbps, or it takes the cliff for content that ended there."""
    x = music(6.0, seed=5, stereo=stereo)
    mp3 = encode(x, 8)
    sr = ev.stream_info(mp3).samplerate
    assert sr == 8000
    row = ev.plain_vs_restored(mp3, ev.resample(x, sr, SR).reshape(-1, 2 if stereo else 1), sr)
    assert row["verdict"] == "restore", row
    assert 1500 < row["cutoff"] < 3500, row
    lp, lr = row["lsd"]["plain"], row["lsd"]["restored"]
    assert lr["hf"] < 0.5 * lp["hf"] and lr["lf"] <= lp["lf"], (lp, lr)
    assert abs(row["level_db"]["restored"]) < abs(row["level_db"]["plain"]) / 2, row["level_db"]


def test_band_limited_source_gets_no_invented_treble():
    from scipy.signal import butter, sosfiltfilt

    x = sosfiltfilt(butter(12, 9000, fs=SR, output="sos"), music(), axis=0)
    mp3 = encode(x, 128)
    c = mp3restore.read_coefficients(mp3)
    look = int(c.frame_granule[min(LOOKAHEAD_FRAMES, len(c.frame_header))])
    plan = make_plan(c.stream_info(), c.mdct[:look], c.block_type[:look])
    assert not plan.highband and plan.verdict == "band-limited", plan.reason
    # the windows sampled further on (this band limit is the whole stream's) agree
    plan = mp3restore.open(mp3).restoration_plan()
    assert not plan.highband and plan.sampled_windows == 1, plan
    plain, _ = mp3restore.read(mp3, restore=False)
    rest, _ = mp3restore.read(mp3, restore=True)
    assert hf_energy(rest, 12000).sum() <= 1.01 * hf_energy(plain, 12000).sum() + 1e-12


def test_strength_and_bandwidth_controls(mp3_128):
    plain, _ = mp3restore.read(mp3_128, restore=False)
    zero, _ = mp3restore.read(mp3_128, restore=True, strength=0.0)
    np.testing.assert_array_equal(plain, zero)
    half, _ = mp3restore.read(mp3_128, restore=True, strength=0.5)
    full, _ = mp3restore.read(mp3_128, restore=True)
    e_half, e_full = hf_energy(half, 17500).sum(), hf_energy(full, 17500).sum()
    assert 0.15 * e_full < e_half < 0.35 * e_full  # amplitude x0.5 -> energy x0.25
    narrow, _ = mp3restore.read(mp3_128, restore=True, bandwidth=18500)
    assert hf_energy(narrow, 18800).sum() < 0.02 * hf_energy(full, 18800).sum()
    with pytest.raises(mp3restore.InputError):
        mp3restore.read(mp3_128, strength=1.5)


def test_no_clipping_because_of_restoration():
    # a loud master (clipped at full scale): its decode overshoots, and the high band
    # restoration adds would push a hundred more samples over without the limiter
    x = music(seed=3)
    x = np.clip(1.5 * x / np.abs(x).max(), -0.999, 0.999)
    mp3 = encode(x, 128)
    plain, _ = mp3restore.read(mp3, restore=False)
    limit = 32767 / 32768
    assert (np.abs(plain) > limit).any()
    for rest in (mp3restore.read(mp3, restore=True)[0], mp3restore.read(mp3, restore=True, threads=2)[0],
                 mp3restore.synthesize(mp3restore.restore_coefficients(mp3restore.read_coefficients(mp3)))[0]):
        new_over = (np.abs(rest) > limit) & (np.abs(rest) > np.abs(plain) + 1e-6)
        assert not new_over.any()
        assert not np.array_equal(plain, rest)


def test_no_pre_echo_on_a_click_train():
    n = 4 * SR
    x = 0.02 * music(seed=5, stereo=False)
    clicks = np.arange(SR // 2, n - SR // 4, SR // 2)
    for c in clicks:
        x[c:c + 64] += 0.7 * np.hanning(64) * np.sign(np.sin(np.arange(64)))
    mp3 = encode(x, 128)
    plain, _ = mp3restore.read(mp3, restore=False)
    rest, _ = mp3restore.read(mp3, restore=True)
    from scipy.signal import butter, sosfilt

    sos = butter(8, 17500, "highpass", fs=SR, output="sos")
    hp_rest = sosfilt(sos, rest)
    # lameenc writes no LAME tag, so the decode keeps LAME's 576 + the decoder's 529 samples of delay
    clicks = clicks + 576 + 529
    before = np.concatenate([hp_rest[c - int(0.025 * SR):c - int(0.003 * SR)] for c in clicks])
    at = np.concatenate([hp_rest[c:c + int(0.005 * SR)] for c in clicks])
    assert np.mean(before ** 2) < 0.1 * np.mean(at ** 2)


@pytest.mark.parametrize("corr", [0.95, 0.0])
def test_stereo_image_of_the_high_band_follows_the_source(corr):
    x = music(seed=7, corr=corr)
    x[:, 1] = x[:, 0] if corr > 0.9 else x[:, 1]
    mp3 = encode(x, 128)
    rest, _ = mp3restore.read(mp3, restore=True)
    from scipy.signal import coherence

    f, coh = coherence(rest[:, 0], rest[:, 1], fs=SR, nperseg=2048)
    band = (f > 17500) & (f < 19500)
    if corr > 0.9:
        assert coh[band].mean() > 0.8
    else:
        assert coh[band].mean() < 0.6


def test_silence_gets_no_hiss():
    x = music(seed=9)
    x[SR:2 * SR] = 0.0
    mp3 = encode(x, 128)
    plain, _ = mp3restore.read(mp3, restore=False)
    rest, _ = mp3restore.read(mp3, restore=True)
    mid = slice(int(1.2 * SR), int(1.8 * SR))
    assert np.abs(rest[mid]).max() <= np.abs(plain[mid]).max() + 1e-7


def test_a_fade_out_takes_the_high_band_down_with_it():
    """No hiss left behind in a fade: what restoration adds above the cutoff
    follows the coded top octave down a 60 dB fade (a high band at a level
    fixed per stream would end up 60 dB too loud relative to it)."""
    x = music(seconds=5.0, seed=11)
    t = np.arange(len(x)) / SR
    x = x * 10 ** (-60.0 / 20 * np.clip((t - 1.0) / 3.0, 0.0, 1.0))[:, None]
    mp3 = encode(x, 128)
    plain, _ = mp3restore.read(mp3, restore=False)
    rest, _ = mp3restore.read(mp3, restore=True)
    plan = mp3restore.open(mp3).restoration_plan()
    assert plan.highband, plan.reason
    cut = plan.cutoff_hz
    added = ev.bandpass_fft(rest - plain, SR, cut, 20000.0)
    top = ev.bandpass_fft(plain, SR, cut / 2, cut)
    seg = SR // 4
    ratio = np.array([10 * np.log10(np.sum(added[i:i + seg] ** 2) / np.sum(top[i:i + seg] ** 2))
                      for i in range(SR // 4, 4 * SR, seg)])  # 0.25 s .. 4 s (the fade ends at 4 s)
    before = np.median(ratio[:3])  # 0.25 .. 1 s, before the fade
    assert np.all(np.isfinite(ratio))
    assert ratio.max() <= before + 6.0, ratio - before


def _probe_decodes(probe, setting, seconds=4.0):
    """(original, plain, restored) of a tonal probe of tools/evaluate.py, aligned, and the plan."""
    sig, _, mp3 = ev.probe_decodes(ev.TONAL_PROBES[probe](seconds=seconds), setting)
    return sig["original"], sig["plain"], sig["restored"], mp3restore.open(mp3).restoration_plan()


@pytest.mark.parametrize("probe", ["harmonic", "bell"])
def test_tonal_sources_get_no_birdies(probe):
    """A copy-up of a line spectrum puts lines where the source has none
    ("birdies", a metallic sound): with the patch alone (no noise) the count is
    11 (bell) to 14 (harmonic) on these probes at 128 kbps.  The noise blend
    must keep the high band nearly free of them (0 and 2 when written)."""
    orig, plain, rest, plan = _probe_decodes(probe, "128k")
    assert plan.highband, plan.reason
    f, p_orig = ev.welch_psd(orig)
    lo, hi = np.searchsorted(f, plan.cutoff_hz + 200.0), np.searchsorted(f, 19800.0)
    assert ev.spurious_peaks(p_orig, ev.welch_psd(rest)[1], lo, hi) <= 3


@pytest.mark.parametrize("setting", ["64k", "128k"])
def test_the_high_band_and_the_holes_do_not_flicker(setting):
    """Steady notes: the restored high band's energy changes little from one
    STFT frame to the next (the original's 0.6 dB, the restoration's 1.5 to
    1.7 dB when written; a high band left out every other granule gives 2.5 to
    2.8 dB, every other 4 granules 11 dB), and filling holes makes the coded
    top octave no more jumpy than the plain decode's."""
    orig, plain, rest, plan = _probe_decodes("harmonic", setting)
    assert plan.highband, plan.reason
    cut = plan.cutoff_hz
    p_orig, p_plain, p_rest = (ev.power_spec(x).mean(axis=0) for x in (orig, plain, rest))
    assert ev.band_flicker(p_rest, p_orig, SR, cut, 20000.0) < 2.2
    assert ev.band_flicker(p_rest, p_orig, SR, cut / 2, cut) <= ev.band_flicker(p_plain, p_orig, SR, cut / 2, cut) + 0.05


def test_envelope_fit_matches_the_power_law():
    """A spectrum falling 9 dB/octave through -40 dB at line 400: the one-pass fit finds both."""
    rng = np.random.default_rng(1)
    k = np.arange(576)
    slope_true = -9.0
    power = 10 ** ((-40 + slope_true * np.log2((k + 0.5) / 400)) / 10)
    x = (np.sqrt(power) * rng.choice([-1, 1], 576)).astype(np.float32)
    level, slope, n, noisy = envelope_at(x, 400, np.empty(NB), np.empty(NB), np.zeros(576, np.float32))
    assert n == NB
    assert abs(slope - slope_true) < 0.3
    assert abs(level - (-40)) < 0.5
    assert noisy > 0.9  # equal magnitudes: |x| mean squared over mean power is ~1
    x[200:400:7] *= 30  # a few strong peaks: tonal
    assert envelope_at(x, 400, np.empty(NB), np.empty(NB), np.zeros(576, np.float32))[3] < 0.3


def test_added_lines_recovers_the_spectrum_before_restoration(mp3_128):
    from mp3restore.restore import Restorer

    c = mp3restore.read_coefficients(mp3_128)
    plan = mp3restore.open(mp3_128).restoration_plan()
    m = c.mdct.copy()
    r = Restorer(plan, c.samplerate, c.channels)
    r.process(m, c.side_info, c.scalefactors, c.coded_channels, c.joint_modes, 0)
    assert np.any(m != c.mdct)
    np.testing.assert_array_equal(m - r.added(np.arange(len(m))), c.mdct)
    idx = np.array([3, 4, 40, len(m) - 1])  # any granules, in the order asked
    np.testing.assert_array_equal(r.added(idx), r.added(np.arange(len(m)))[idx])


def test_the_decoder_bound_is_used_only_when_every_channel_is_long(mp3_128):
    """``read()`` lets the kernel start the search for a long granule's top line at the
    decoder's Huffman bound; a short block's reordering moves lines above its Huffman
    index, so a granule with a short channel is searched from the top."""
    from mp3restore.restore import Restorer
    from mp3restore.sideinfo import BLOCK_TYPE, LAST_NONZERO

    c = mp3restore.read_coefficients(mp3_128)
    plan = mp3restore.open(mp3_128).restoration_plan()
    coded, joint = c.coded_channels, c.joint_modes
    g = int(np.flatnonzero((c.block_type != 2).all(axis=1) & (c.last_nonzero.min(axis=1) > 300))[0])
    sl = slice(g, g + 1)

    def restore_with_bound(short_channel_1):
        gi = np.array(c.side_info[sl], np.int32)
        gi[:, :, LAST_NONZERO] = 250  # a bound below the coded lines (and above half the cutoff): wrong
        if short_channel_1:
            gi[:, 1, BLOCK_TYPE] = 2
        m = c.mdct[sl].copy()
        Restorer(plan, c.samplerate, c.channels).process(m, gi, np.ascontiguousarray(c.scalefactors[sl]),
                                                         coded[sl], joint[sl], g, bounded=True)
        kept = c.mdct[sl] != 0
        return np.array_equal(m[kept], c.mdct[sl][kept])

    assert restore_with_bound(short_channel_1=True)  # ignored: the coded lines are kept
    assert not restore_with_bound(short_channel_1=False)  # used (and here wrong): lines overwritten


def test_a_granule_with_a_long_and_a_short_channel_fills_each_on_its_own_path():
    """Channels may switch blocks independently (dual channel, or LAME's --allow-diff-short):
    the long channel gets the long-block fill, the short one the window-by-window fill
    (its attack stays in its window), and the coded lines of both are kept."""
    from mp3restore.restore import Restorer

    f = FIXTURES / "dual_cbr128_44100.mp3"
    c = mp3restore.read_coefficients(f)
    split = np.flatnonzero((c.block_type[:, 0] == 2) != (c.block_type[:, 1] == 2))
    assert len(split) >= 1
    r = Restorer(mp3restore.open(f).restoration_plan(), c.samplerate, c.channels)
    m = c.mdct.copy()
    r.process(m, c.side_info, c.scalefactors, c.coded_channels, c.joint_modes, 0)
    kept = c.mdct != 0
    np.testing.assert_array_equal(m[kept], c.mdct[kept])
    for g in split:
        for ch in range(2):
            filled = r._filled[g, ch]  # [long start, window starts x3, hole mask]
            if c.block_type[g, ch] == 2:
                assert filled[0] == 576 and np.all(filled[1:4] < 192), (g, ch, filled)
            else:
                assert filled[0] < 576 and np.all(filled[1:4] == 192), (g, ch, filled)


def test_short_block_copies_keep_the_attack_where_it_is():
    """Short windows share one gain per subband piece, so the aliases of the copied
    lines cancel between windows and the high band does not start before the attack
    (per-window gains left each attack's alias up to half a window, 4 ms, ahead of it)."""
    rng = np.random.default_rng(99)
    n = 6 * SR
    x = 1e-4 * rng.standard_normal((n, 2))
    clicks = np.arange(SR // 4, n - SR // 8, int(0.3127 * SR))
    m = int(0.004 * SR)
    for c in clicks:
        burst = rng.standard_normal(m) * np.exp(-np.arange(m) / (0.0012 * SR))
        x[c:c + m] += (0.7 * burst / np.abs(burst).max())[:, None]
    mp3 = encode(x, 64, out_sr=SR)
    rest, _ = mp3restore.read(mp3, restore=True)
    from scipy.signal import butter, sosfiltfilt

    hf = sosfiltfilt(butter(8, [12000, 19500], "bandpass", fs=SR, output="sos"), rest[:, 0])
    at = clicks + 576 + 529

    def energy(a_ms, b_ms):
        return sum(np.sum(hf[t + int(a_ms * SR / 1000):t + int(b_ms * SR / 1000)] ** 2) for t in at)

    assert energy(0, 10) > 0  # the attacks do get a high band
    assert 10 * np.log10(energy(-4, -1) / energy(0, 10)) < -16.0  # -18.1 dB now, -12.7 with per-window gains


def test_a_steep_top_octave_is_continued_at_its_own_slope():
    """Content whose top octave falls 45 dB/octave (a dull source that still reaches the
    encoder's lowpass) is continued at that slope, not flattened to a fixed steepest slope
    (the former -30 dB/octave bound put the high band up to 5 dB above the trend)."""
    from mp3restore.restore import Restorer
    from mp3restore.restore.plan import Plan

    kf, kt, slope_true = 400, 522, -45.0
    k = np.arange(576)
    rng = np.random.default_rng(5)
    G = 40
    power = 10 ** ((-40 + slope_true * np.log2((k + 0.5) / kf)) / 10)
    m = (np.sqrt(power) * rng.choice([-1, 1], (G, 1, 576))).astype(np.float32)
    m[..., kf:] = 0.0
    plan = Plan(kf * SR / 1152, 20000.0, kf, kt, kf * SR / 1152, 17000.0, True, False, "test")
    r = Restorer(plan, SR, 1)
    r.process(m, np.zeros((G, 1, 22), np.int32), np.zeros((G, 1, 39), np.int16), np.ones(G, np.int32),
              np.zeros(G, np.int32), 0)
    got = 10 * np.log10(np.mean(m[:, 0, 430:kt].astype(np.float64) ** 2, axis=0))
    want = 10 * np.log10(power[430:kt])
    assert abs(np.mean(got - want)) < 1.5


@pytest.mark.parametrize("passband, bounded", [(522, True), (400, False)])
def test_the_high_band_starts_no_louder_than_the_zeroed_lines_can_have_been(passband, bounded):
    """A granule whose coded band ends at kf below the encoder's passband had the lines
    above quantized to zero, each below half its band's step: the high band starts at no
    more than step**2 / 12 per line there.  At or above the passband edge (the lines may
    have been filtered, not quantized) the envelope's own level stands."""
    from mp3restore.restore import Restorer
    from mp3restore.restore.plan import Plan
    from mp3restore.sideinfo import GLOBAL_GAIN, N_FIELDS

    kf, kt, G = 400, 522, 40
    k = np.arange(576)
    rng = np.random.default_rng(7)
    power = 10 ** ((-40 - 6 * np.log2((k + 0.5) / kf)) / 10)  # -40 dB per line at kf
    m = (np.sqrt(power) * rng.choice([-1, 1], (G, 1, 576))).astype(np.float32)
    m[..., kf:] = 0.0
    gi = np.zeros((G, 1, N_FIELDS), np.int32)
    gi[..., GLOBAL_GAIN] = 210 - 4 * 14  # step 2**-14 with zero scalefactors: 10 log10(step**2 / 12) = -95.1 dB
    plan = Plan(kf * SR / 1152, 20000.0, kf + 40, kt, kf * SR / 1152, 17000.0, True, False, "test",
                passband_line=passband)
    out = m.copy()
    Restorer(plan, SR, 1).process(out, gi, np.zeros((G, 1, 39), np.int16), np.ones(G, np.int32),
                                  np.zeros(G, np.int32), 0)
    start = 10 * np.log10(np.mean(out[:, 0, kf:kf + 18].astype(np.float64) ** 2))
    bound = 10 * np.log10((2.0 ** -14) ** 2 / 12)
    if bounded:
        assert abs(start - bound) < 1.5
    else:
        assert abs(start - (-40)) < 2.0


def test_the_passband_is_inside_the_encoders_lowpass(fixtures_dir):
    """LAME tag lowpass 17 kHz: its filter passes everything below 95 % of that, 16.15 kHz
    (line 421 at 44.1 kHz), and the measured cutoff (16.5 kHz) is above it."""
    with mp3restore.open(fixtures_dir / "stereo_joint_cbr128_44100.mp3") as m:
        p = m.restoration_plan()
    assert p.expected_hz == 17000.0 and p.cutoff_line > 421
    assert p.passband_line == 421
