"""Fast checks of the metric functions of tools/evaluate.py, tools/level_breakdown.py
and of the reference method of tools/reference_bwe.py (one short encode, for the
edge power of level_breakdown)."""
import numpy as np
import pytest

from conftest import load_tool as _load

ev = _load("evaluate")
ref = _load("reference_bwe")
SR = 44100


def noise(seconds=1.0, channels=2, seed=0, tilt=True):
    """Gaussian noise, optionally tilted -3 dB/octave above 500 Hz (music-like)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = rng.standard_normal((n, channels))
    if tilt:
        X = np.fft.rfft(x, axis=0)
        f = np.fft.rfftfreq(n, 1 / SR)
        X /= np.sqrt(np.maximum(f, 500.0) / 500.0)[:, None]
        x = np.fft.irfft(X, n, axis=0)
    return 0.1 * x / x.std()


def test_stft_inverse_is_exact():
    x = noise(0.5, 1)[:, 0]
    X = ref.stft(x)
    assert X.shape == (1 + len(x) // ref.HOP, ref.N_FFT // 2 + 1)
    assert np.allclose(ref.istft(X, len(x)), x, atol=1e-12)


def test_lsd_of_a_signal_with_itself_is_zero():
    x = noise()
    for v in ev.lsd_bands(x, x, SR, 11000).values():
        assert v == 0.0
    assert ev.lsd(x[:, 0], x[:, 0]) == 0.0


def test_lsd_is_the_nuwave2_definition():
    # 10x the amplitude = 100x the power = 2 in log10 power in every bin
    x = noise(1.0, 1, tilt=False)
    assert ev.lsd(x, 10 * x) == pytest.approx(2.0, abs=1e-9)
    # the clamp at 1e-8: silence against silence is 0, silence against a signal is finite
    z = np.zeros_like(x)
    assert ev.lsd(z, z) == 0.0
    assert np.isfinite(ev.lsd(z, x))


def test_lsd_grows_when_the_high_band_is_removed():
    x = noise()
    lp16 = ev.bandpass_fft(x, SR, 0, 16000)
    lp8 = ev.bandpass_fft(x, SR, 0, 8000)
    d16, d8 = ev.lsd(x, lp16), ev.lsd(x, lp8)
    assert 0.3 < d16 < d8
    b = ev.lsd_bands(x, lp8, SR, 8000)
    assert b["hf"] > 3.0 and b["lf"] < 0.1
    assert b["full"] == pytest.approx(d8)


def test_hf_lsd_is_zero_when_only_the_low_band_differs():
    x = noise()
    y = x + 0.5 * ev.bandpass_fft(x, SR, 0, 3000)  # +3.5 dB below 3 kHz only
    b = ev.lsd_bands(x, y, SR, 11000)
    assert b["hf"] < 0.01  # only the two edge frames (reflect padding) see anything
    assert b["lf"] > 0.1


def test_hf_level_error():
    x = noise()
    assert ev.hf_level_error_db(x, 2 * x, SR, 11000) == pytest.approx(20 * np.log10(2), abs=1e-6)
    assert ev.hf_level_error_db(x, ev.bandpass_fft(x, SR, 0, 10000), SR, 11000) < -40


def power_law(db_per_octave, cutoff=None, step_db=0.0, frames=3, channels=2):
    """STFT power (C, frames, bins) falling ``db_per_octave`` from 500 Hz, ``step_db`` added from ``cutoff`` up."""
    f = np.arange(ev.N_FFT // 2 + 1) * SR / ev.N_FFT
    db = db_per_octave * np.log2(np.maximum(f, 500.0) / 500.0)
    if cutoff is not None:
        db = db + np.where(f >= cutoff, step_db, 0.0)
    return np.broadcast_to(10 ** (db / 10), (channels, frames, len(f)))


def test_continuation_of_the_originals_top_octave():
    # a spectrum that keeps its slope above the cutoff is continued at its level (within what
    # averaging a steep power law over a band costs) ...
    for slope in (-3.0, -12.0, -30.0):
        assert abs(ev.continuation_level_db(power_law(slope), SR, 11000.0)) < 0.5
    # ... one that drops above it is continued too bright, by the drop
    assert ev.continuation_level_db(power_law(-6.0, 11000.0, -20.0), SR, 11000.0) == pytest.approx(20.0, abs=0.3)
    # a rising top octave is continued flat (never rising), from the cap at 0.8..0.95 of the cutoff
    e = ev.continuation_level_db(power_law(+6.0), SR, 11000.0)
    assert -6.0 < e < -2.0


def test_oracle_offset_error_removes_only_a_per_setting_constant():
    # a constant bias per setting is removed entirely; the spread within a setting is not
    assert ev.oracle_offset_error([3.0, 3.0, -5.0, -5.0], ["a", "a", "b", "b"]) == 0.0
    assert ev.oracle_offset_error([1.0, 3.0, -2.0, 2.0], ["a", "a", "b", "b"]) == pytest.approx(1.5)
    assert ev.oracle_offset_error([0.0, 0.0, 10.0], ["a"] * 3) == pytest.approx(10 / 3)
    assert ev.oracle_offset_error([0.0, 0.0, 10.0], ["a", "a", "b"]) == 0.0


def test_originals_are_found_by_suffix_and_a_shared_name_is_refused(tmp_path):
    for n in ("b.wav", "a.FLAC", "c.aiff", "notes.txt", "d.mp3"):
        (tmp_path / n).write_bytes(b"")
    assert [p.name for p in ev.original_paths(tmp_path)] == ["a.FLAC", "b.wav", "c.aiff"]
    (tmp_path / "b.flac").write_bytes(b"")
    with pytest.raises(SystemExit, match="share a name.*b"):
        ev.original_paths(tmp_path)


def test_an_encode_coded_up_to_the_target_is_left_out_of_the_averages():
    def row(cutoff, lvl):
        lsd = {m: {"full": 1.0, "hf": 2.0, "lf": 0.5, "seam": 1.0} for m in ev.METHODS}
        return {"setting": "128k", "cutoff": cutoff, "lsd": lsd, "restore_is_noop": False,
                "level_db": {m: lvl for m in ev.METHODS}, "level_continuation_db": lvl,
                "coherence": {m: 0.5 for m in ("original",) + ev.METHODS}}
    res = [{"rows": [row(17000.0, 4.0), row(19500.0, 40.0)],
            "negative": {"lsd_plain": 1.0, "lsd_restored": 1.0, "pass": True},
            "wideband": {"identical": True}}]
    s = ev.summarise(res, ["128k"])
    assert s["averages"]["n_no_high_band"] == 1 and s["n_rows"] == 1
    assert s["averages"]["abslevel_restored"] == 4.0 and s["per_setting"]["128k"]["level_restored"] == 4.0
    assert s["averages"]["median_level_acted"] == {"128k": 4.0}
    # the median per setting is over the encodes restoration acted on only
    res[0]["rows"] += [row(17000.0, -2.0), row(17000.0, 9.0), dict(row(17000.0, -30.0), restore_is_noop=True)]
    assert ev.summarise(res, ["128k"])["averages"]["median_level_acted"] == {"128k": 4.0}


def test_coherence_identical_channels_is_one_and_independent_noise_is_zero():
    m = noise(2.0, 1, seed=1)
    same = np.repeat(m, 2, axis=1)
    assert ev.hf_coherence(same, SR, 11000) == pytest.approx(1.0, abs=1e-6)
    indep = noise(2.0, 2, seed=2)
    assert ev.hf_coherence(indep, SR, 11000) < 0.05
    assert np.isnan(ev.hf_coherence(m, SR, 11000))  # mono: not defined


@pytest.mark.parametrize("delay", [1105, 0, 37, -250])
def test_alignment_finds_a_known_delay(delay):
    x = noise(1.5, 2, seed=3)
    # what a codec gives back: band-limited, scaled, delayed, with a little noise
    expected = 0.9 * ev.bandpass_fft(x, SR, 0, 11000) + 1e-3 * noise(1.5, 2, seed=4)
    if delay >= 0:
        y = np.concatenate([np.zeros((delay, 2)), expected, np.zeros((500, 2))])
    else:
        y = expected[-delay:]
    d = ev.find_delay(x, y)
    assert d == delay
    al = ev.align(y, d, len(x))
    assert al.shape == x.shape
    s = max(0, -delay)
    assert np.array_equal(al[s:], expected[s:])
    assert not al[:s].any()


def test_clipped_count():
    assert ev.clipped(np.array([0.0, 0.5, 1.0, -1.0, 0.9999, 1.2])) == 3


def test_detect_cutoff_finds_the_band_edge():
    x = ev.bandpass_fft(noise(2.0), SR, 0, 11000)
    x = x + 1e-5 * noise(2.0, seed=9, tilt=False)  # the leakage floor of a decoder, about -100 dB
    assert abs(ref.detect_cutoff(x, SR) - 11000) < 300
    assert ref.detect_cutoff(noise(2.0), SR) == SR / 2  # nothing removed


def test_reference_method_raises_the_hf_energy_toward_the_original():
    x = noise(2.0, 2, seed=5)
    lp = ev.bandpass_fft(x, SR, 0, 11000) + 1e-5 * noise(2.0, 2, seed=6, tilt=False)
    y = ref.reference_restore(lp, SR)
    assert y.shape == lp.shape
    before = ev.hf_level_error_db(x, lp, SR, 11100)
    after = ev.hf_level_error_db(x, y, SR, 11100)
    assert before < -40
    assert abs(after) < 6.0
    bx = ev.lsd_bands(x, lp, SR, 11100)
    by = ev.lsd_bands(x, y, SR, 11100)
    assert by["hf"] < 0.5 * bx["hf"]
    # the band below the transition region is left as it was
    assert ev.lsd(lp, y, SR, 0, 10000) < 1e-3
    # mono in, mono out; a signal without a band edge is returned unchanged
    assert ref.reference_restore(lp[:, 0], SR).shape == lp[:, 0].shape
    w = noise(1.0)
    assert np.array_equal(ref.reference_restore(w, SR), w)


def test_the_coded_bandwidth_is_measured_for_the_clips_channel_count():
    # LAME gives a mono stream the whole bit rate: at 128 kbps it codes ~20.5 kHz, stereo ~17 kHz
    pytest.importorskip("lameenc")
    mono, stereo = (ev.measured_cutoff(ev.SETTINGS["128k"], channels=c) for c in (1, 2))
    assert 16000 < stereo < 18000 < 19500 < mono


def test_level_breakdown_splits_the_energy_by_kind_of_granule():
    lb = _load("level_breakdown")
    rng = np.random.default_rng(3)
    truth = rng.standard_normal((4, 2, 576))
    restored = truth.copy()
    restored[0] *= 2.0  # a long granule 6 dB too loud
    restored[2] *= 0.5  # a short one 6 dB too quiet
    block_type = np.array([0, 0, 2, 1])
    last = np.full((4, 2), 400)
    last[1] = 100  # granule 1: its coded band ends far below the cutoff (400)
    parts = lb.breakdown(restored, truth, block_type, last, 400, 500)
    assert {k: v[0] for k, v in parts.items()} == {"long": 2, "long, coded band ends low": 2, "short": 2, "start": 2}
    assert 10 * np.log10(parts["long"][1] / parts["long"][2]) == pytest.approx(20 * np.log10(2))
    assert 10 * np.log10(parts["short"][1] / parts["short"][2]) == pytest.approx(-20 * np.log10(2))
    for k in ("long, coded band ends low", "start"):
        assert parts[k][1] == pytest.approx(parts[k][2])
    assert parts["start"][2] == pytest.approx(np.sum(truth[3, :, 400:500] ** 2))


def test_level_breakdown_edge_power_adds_what_the_quantizer_zeroed():
    """Against itself as the truth, an encode's edge power is 0 dB as coded and the
    estimate of the zeroed lines adds to it (64 kbps zeroes many lines there)."""
    pytest.importorskip("lameenc")
    import io

    from mp3restore.coefficients import read_coefficients

    lb = _load("level_breakdown")
    x = noise(3.0)
    c = read_coefficients(io.BytesIO(ev.encode(np.round(x * 32767).astype(np.int16), SR, **ev.SETTINGS["64k"])))
    kc = int(ev.measured_cutoff(ev.SETTINGS["64k"]) * 1152 / SR)
    kept, estimated = lb.edge_power(c, c.mdct.astype(np.float64), kc)
    assert kept == pytest.approx(0.0, abs=1e-6)
    assert 0.2 < estimated < 6.0


def test_bench_restoration_overhead_is_the_median_per_round_ratio():
    bench = _load("bench")
    plain = bench.Row("mp3restore plain", times=[1.0, 2.0, 1.0, 4.0])
    restored = bench.Row("mp3restore restored", times=[1.2, 2.6, 1.1, 4.0])  # +20, +30, +10, +0 %
    rows = {"mp3restore plain": plain, "mp3restore restored": restored}
    (line,) = bench.restoration_overhead([("a.mp3", 30.0, rows)])
    assert line == "a.mp3 +15.0% (minima +10.0%)"
    assert bench.restoration_overhead([("b.mp3", 30.0, {"mp3restore plain": plain})]) == []


def test_spurious_peaks_counts_only_lines_the_original_lacks():
    """Welch-scale spectra: a flat floor with lines.  A line the original has, a
    line far below the original's level (leakage) and the flat floor itself are
    not birdies; a strong line where the original is flat is one."""
    n = 4097
    orig = np.full(n, 1e-6)
    orig[1000] = 1e-3  # the original's own line
    est = np.full(n, 1e-6)
    est[1000] = 1e-3  # the same line: not spurious
    assert ev.spurious_peaks(orig, est, 500, 3000) == 0
    est[2000] = 1e-4  # 20 dB over the floor where the original has none
    est[2500] = 1e-12  # far below everything: no
    assert ev.spurious_peaks(orig, est, 500, 3000) == 1
    # leakage of an empty high band: lines 40+ dB under the original's mean level are not counted
    quiet = np.full(n, 1e-14)
    quiet[1500:3000:50] = 1e-11
    assert ev.spurious_peaks(orig, quiet, 500, 3000) == 0
    # out of the range asked about
    assert ev.spurious_peaks(orig, est, 500, 1900) == 0


def test_band_flicker_tells_a_steady_band_from_one_switching_on_and_off():
    x = noise(2.0, 1, tilt=False)
    px = ev.power_spec(x).mean(axis=0)
    steady = ev.band_flicker(px, px, SR, 12000, 18000)
    gate = np.repeat(np.arange(len(x) // 1024 + 1) % 2, 1024)[:len(x), None]  # 23 ms on, 23 ms off
    hf = ev.bandpass_fft(x, SR, 12000, 18000)
    switching = ev.band_flicker(ev.power_spec(x - hf + hf * gate).mean(axis=0), px, SR, 12000, 18000)
    assert steady < 1.0
    assert switching > 5.0


def test_peak_contrast_tells_lines_from_noise():
    rng = np.random.default_rng(3)
    flat = rng.exponential(1.0, 4097) / 20 + 1.0  # a Welch PSD of noise: small spread
    lines = flat.copy()
    lines[::40] *= 1e4  # a one-bin line every 40 bins, 40 dB up
    assert ev.peak_contrast(flat, 500, 3500) < 3.0
    assert ev.peak_contrast(lines, 500, 3500) > 30.0


def test_the_other_encoders_summary_counts_encodes_made_worse_in_any_band():
    def row(noop, full, hf, lf):
        return {"restore_is_noop": noop,
                "lsd": {"plain": {"full": 2.0, "hf": 3.0, "lf": 1.0},
                        "restored": {"full": full, "hf": hf, "lf": lf}}}
    res = [{"rows": [], "negative": {"lsd_plain": 1.0, "lsd_restored": 1.0, "pass": True},
            "wideband": {"identical": True},
            "shine": [row(True, 2.0, 3.0, 1.0), row(False, 1.0, 1.5, 0.8), row(False, 1.5, 2.0, 1.2)]}]
    sh = ev.summarise(res, ["64k"])["averages"]["shine"]
    assert (sh["n"], sh["n_acted"], sh["n_worse"]) == (3, 2, 1)  # the third made LF worse
    assert sh["hf_plain"] == 3.0 and sh["hf_restored"] == 1.75  # means over the encodes acted on
    assert "shine" not in ev.summarise([dict(res[0], shine=[])], ["64k"])["averages"]


@pytest.mark.skipif(not ev.shine_available(), reason="no ffmpeg with libshine")
def test_libshine_encodes_decode_to_the_input_length_and_sound():
    x = noise(1.0)
    mp3 = ev.encode_shine(ev.to_int16(x), SR, "128k")
    y, sr = ev.decode(mp3, False)
    assert sr == SR and y.shape[1] == 2 and abs(len(y) - len(x)) < 2304
    z = ev.align(y, ev.find_delay(x, y), len(x))
    for c in range(2):  # each channel is its own input's (the pipe's sample layout is right)
        assert np.corrcoef(x[4096:-4096, c], z[4096:-4096, c])[0, 1] > 0.5  # 0.69 here; swapped: 0.0


def test_worse_bands_flags_only_bands_made_worse_beyond_float_noise():
    lsd = {"full": 2.0, "hf": 3.0, "lf": 1.0}
    row = {"lsd": {"plain": lsd, "restored": dict(lsd, hf=3.0005, lf=1.2)}}
    assert ev.worse_bands(row) == ["lf"]
    assert ev.worse_bands({"lsd": {"plain": lsd, "restored": lsd}}) == []


def test_the_no_harm_sweep_covers_settings_the_evaluation_does_not():
    sweep = _load("no_harm_sweep")
    assert len(sweep.SETTINGS) >= 6
    assert all(v not in ev.SETTINGS.values() and v != ev.CONTROL for v in sweep.SETTINGS.values())


def test_the_no_harm_sweep_encodes_mono_and_48k_input_as_named(monkeypatch, tmp_path):
    import soundfile as sf

    sweep = _load("no_harm_sweep")
    rng = np.random.default_rng(4)
    x = np.cumsum(rng.standard_normal((2 * SR, 2)), axis=0)  # a falling spectrum, two channels
    x -= x.mean(axis=0)
    sf.write(tmp_path / "clip.wav", (0.3 * x / np.abs(x).max() * 32767).astype(np.int16), SR)
    seen = []

    def spy(mp3, ref, sr):
        seen.append((sweep.ev.stream_info(mp3), ref.shape))
        return {"verdict": "restore"}

    monkeypatch.setattr(sweep, "SETTINGS", {k: sweep.SETTINGS[k] for k in ("m64", "48k_128", "112k")})
    monkeypatch.setattr(sweep.ev, "plain_vs_restored", spy)
    rows = sweep.sweep_clip(str(tmp_path / "clip.wav"))
    assert [r["setting"] for r in rows] == ["m64", "48k_128", "112k"]
    (m, m_ref), (h, h_ref), (s, s_ref) = seen
    assert m.channels == 1 and m_ref[1] == 1 and m.samplerate == SR
    assert h.channels == 2 and h.samplerate == 48000 and abs(h_ref[0] - 2 * 48000) < 10
    assert s.channels == 2 and s.samplerate == SR and s_ref == (2 * SR, 2)
