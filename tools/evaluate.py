#!/usr/bin/env python3
"""Evaluate mp3restore's high-band restoration against the originals.

    python tools/evaluate.py ORIGINALS_DIR [--out eval/report] [--quick]
                             [--clips a,b] [--settings 64k,128k] [--workers 2] [--no-plots]

For every original (WAV, FLAC or AIFF at any rate; ``tools/fetch_originals.py`` makes a set) and every
setting (LAME through the ``lameenc`` package: 64 kbps and 96 kbps with the
output sample rate forced to 44.1 kHz, 128 kbps, V5, 192 kbps) the original is
encoded, decoded plain (``restore=False``), restored (``restore=True``) and
with the simple reference method (``tools/reference_bwe.py`` applied to the
plain decode), aligned with the original, and measured:

* LSD, the NU-Wave 2 definition: periodic Hann 2048, hop 512, centred frames
  (reflect padding), log10 of the power of the unnormalised STFT clamped at
  1e-8, root mean square over bins, mean over frames (and channels); over the
  full band, above the cutoff (HF: bins >= round(cutoff * 2048 / sr)), below
  it (LF) and within +-1 kHz of it (seam).
* HF level error: 10 log10 of the STFT energy from the cutoff to
  min(20 kHz, Nyquist) of the decode over that of the original (dB; 0 is right).
* HF coherence: magnitude-squared coherence of left and right (Welch, Hann
  2048, 50 % overlap) averaged over the bins from the cutoff to
  min(20 kHz, Nyquist): original vs decodes (music ~0.6, independent noise ~0).
* Clipped samples: float output samples with |x| > 32767/32768.
* Pre-echo, on a generated click train (noise-burst clicks on a -80 dBFS
  noise floor), per setting: "dPre" = the energy from cutoff/2 to
  min(20 kHz, Nyquist) in the windows 25..3 ms before each click, restored
  (or reference) over plain, dB (0 = the restoration adds no pre-echo);
  "pre/post" = energy above the cutoff 25..3 ms before the clicks over the
  energy in the 25 ms from each click, dB, for the original, restored and
  reference; "plain top octave" = the same ratio for the plain decode from
  cutoff/2 to the cutoff (the codec's own pre-echo).
* Birdies and flicker, on two generated tonal probes (sustained harmonic notes;
  struck bells with inharmonic partials), per setting: "spurious peaks" = peaks
  above the cutoff in a Welch PSD (Hann 8192) of the decode that the original
  lacks (:func:`spurious_peaks`: 10 dB over the running median, 10 dB over the
  original at that bin, within 40 dB of the original's mean level there);
  "contrast" = how line-like the high band's PSD is (:func:`peak_contrast`:
  about 2 dB for noise, tens of dB for a line spectrum: too little on the
  harmonic probe is the "hissy" side of the trade-off, spurious peaks the
  "metallic" side);
  "flicker" = the RMS frame-to-frame change (dB, STFT 2048/512) of the energy
  in six bands above the cutoff, and in the coded top octave (cutoff/2 to the
  cutoff, where holes switch on and off), where the original is active
  (:func:`band_flicker`).

The cutoff of a setting is the lowpass of the LAME tag when the stream has
one, otherwise (lameenc writes no tag) the measured coded bandwidth of that
setting: the top of the encoder's transition band, measured on the plain
decode of a white-noise probe encoded with the same setting
(:func:`measured_cutoff`).  The
reference method detects its cutoff blindly from the decode (column "blind").
lameenc writes no LAME tag, so mp3restore cannot trim the encoder delay: every
decode is aligned to the original by cross-correlation (column "delay",
samples; 1105 = 576 encoder + 529 decoder for LAME).

Controls, per original:
* negative: the original low-passed at 10 kHz (elliptic, order 12, 120 dB
  stopband, zero phase), encoded at 320 kbps: full-band LSD against the
  low-passed original, restored (and reference) vs plain, and the energy they
  add above 11 kHz relative to plain (dB).
* wideband: the original at 320 kbps: ``restore=True`` must give the same
  float32 samples as ``restore=False``.

Targets (averaged over all clips at 64k, 96k, 128k and V5; an encode coded to
within 1 kHz of the target, such as a mono clip at 96 kbps and up, has no high
band and is left out and counted):
HF LSD restored <= 0.7 x plain; HF LSD restored < reference; mean |HF level
error| of restored <= 3 dB; LF LSD restored <= plain (+0.001 for float noise);
negative controls: restored full-band LSD <= plain + 0.02 on every clip;
wideband control bit-identical on every clip.

Another encoder, for the general case (information, no target): when FFmpeg
with libshine is installed (Debian's ``ffmpeg`` has it), each original is also
encoded by libshine at 64 and 128 kbps.  Shine has no lowpass: its coded band
ends where each granule's bits run out, so the cutoff varies granule by
granule.  Measured as above against the original, with the restoration plan's
cutoff (``Mp3File.restoration_plan``) splitting HF from LF; the restoration was
developed on LAME streams only.  ``--no-shine`` skips it.

Output: the tables on stdout and ``OUT/report.md`` (with ``psd_<clip>.png``
Welch PSD plots: original, plain, restored, reference per setting, and
``results.json``).  ``--quick``: 2 clips x 2 settings (64k, 128k).
Work is spread over at most 2 processes.
"""
from __future__ import annotations

import argparse
import os
import concurrent.futures as cf
import datetime
import json
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
for _p in (str(TOOLS), str(ROOT)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from reference_bwe import N_FFT, HOP, detect_cutoff, reference_restore, stft  # noqa: E402
from make_fixtures import to_int16  # noqa: E402  (float PCM, full scale 1.0, to int16)

SR = 44100
# name -> lameenc settings; out_sr forces 44.1 kHz where LAME would resample
SETTINGS = {
    "64k": {"bit_rate": 64, "out_sr": 44100},
    "96k": {"bit_rate": 96, "out_sr": 44100},
    "128k": {"bit_rate": 128},
    "V5": {"vbr": 5},
    "192k": {"bit_rate": 192},
}
CONTROL = {"bit_rate": 320}
TARGET_SETTINGS = ("64k", "96k", "128k", "V5")
QUICK_SETTINGS = ("64k", "128k")
QUICK_CLIPS = ("drums_rock", "band")
METHODS = ("plain", "restored", "reference")
LSD_FLOOR = 1e-8
HF_TOP = 20000.0
SEAM_HZ = 1000.0
LF_TOL = 0.001
NEG_TOL = 0.02


# ----------------------------------------------------------------------------- codec

def encode(pcm: np.ndarray, sr: int, bit_rate=None, vbr=None, out_sr=None, quality=2) -> bytes:
    """Encode int16 PCM (n, C) with lameenc (the LAME it bundles)."""
    import lameenc
    e = lameenc.Encoder()
    e.set_in_sample_rate(sr)
    e.set_channels(pcm.shape[1])
    e.set_quality(quality)
    if out_sr:
        e.set_out_sample_rate(out_sr)
    if vbr is not None:
        e.set_vbr(4)  # vbr_mtrh, LAME's default VBR mode (-V n)
        e.set_vbr_quality(vbr)
    else:
        e.set_bit_rate(bit_rate)
    e.silence()
    return bytes(e.encode(np.ascontiguousarray(pcm, dtype=np.int16).tobytes()) + e.flush())


# restoration's target bandwidth for mp3restore AND the reference method
# (--bandwidth, passed to worker processes through the environment;
# None = mp3restore's default, 20 kHz or Nyquist)
BANDWIDTH = float(os.environ["MP3RESTORE_EVAL_BANDWIDTH"]) if os.environ.get("MP3RESTORE_EVAL_BANDWIDTH") else None


def target_hz(sr: int = SR) -> float:
    return min(BANDWIDTH or 20000.0, sr / 2)


def decode(mp3: bytes, restore: bool):
    """mp3restore float32 output, always (n, C), and the sample rate."""
    import mp3restore
    y, sr = mp3restore.read(mp3, restore=restore, always_2d=True, bandwidth=BANDWIDTH)
    return y, sr


def stream_info(mp3: bytes):
    import mp3restore
    return mp3restore.info(mp3)


SHINE_SETTINGS = ("64k", "128k")


def shine_available() -> bool:
    """Whether an ``ffmpeg`` with the libshine MP3 encoder is on the PATH."""
    import shutil
    if not shutil.which("ffmpeg"):
        return False
    p = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True)
    return p.returncode == 0 and " libshine " in p.stdout


def encode_shine(pcm: np.ndarray, sr: int, kbps: str) -> bytes:
    """Encode int16 PCM (n, C) with libshine through FFmpeg (pipes, no temporary files)."""
    cmd = ["ffmpeg", "-v", "error", "-f", "s16le", "-ar", str(sr), "-ac", str(pcm.shape[1]), "-i", "pipe:0",
           "-c:a", "libshine", "-b:a", kbps, "-f", "mp3", "pipe:1"]
    p = subprocess.run(cmd, input=np.ascontiguousarray(pcm, dtype="<i2").tobytes(), capture_output=True)
    if p.returncode != 0 or not p.stdout:
        raise RuntimeError(f"ffmpeg libshine {kbps} failed: {p.stderr.decode(errors='replace').strip()}")
    return p.stdout


# ----------------------------------------------------------------------------- alignment

def find_delay(ref, y, max_lag: int = 8192, seconds: float = 15.0, sr: int = SR) -> int:
    """Lag d maximising sum ref[i] * y[i + d] (|d| <= max_lag): ``y[d:]`` lines up with ``ref``."""
    a = np.asarray(ref, np.float64)
    b = np.asarray(y, np.float64)
    a = a.mean(axis=1) if a.ndim == 2 else a
    b = b.mean(axis=1) if b.ndim == 2 else b
    m = int(seconds * sr)
    a = a[:m]
    b = b[:m + max_lag]
    nfft = 1 << int(np.ceil(np.log2(len(a) + len(b) + 1)))
    c = np.fft.irfft(np.fft.rfft(b, nfft) * np.conj(np.fft.rfft(a, nfft)), nfft)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    return int(lags[np.argmax(c[lags % nfft])])


def align(y, delay: int, n: int) -> np.ndarray:
    """``y[delay:delay + n]``, zero-padded where it runs out; float64 (n, C)."""
    y = np.asarray(y, np.float64)
    y = y[:, None] if y.ndim == 1 else y
    out = np.zeros((n, y.shape[1]))
    a, b = max(0, delay), min(len(y), delay + n)
    if b > a:
        out[a - delay:b - delay] = y[a:b]
    return out


# ----------------------------------------------------------------------------- metrics

def _2d(x):
    x = np.asarray(x, np.float64)
    return x[:, None] if x.ndim == 1 else x


def power_spec(x) -> np.ndarray:
    """|STFT|^2 per channel: (C, frames, 1025), NU-Wave 2 framing."""
    x = _2d(x)
    return np.stack([np.abs(stft(x[:, c], N_FFT, HOP)) ** 2 for c in range(x.shape[1])])


def log_spec(P) -> np.ndarray:
    return np.log10(np.maximum(P, LSD_FLOOR))


def cutoff_bin(cutoff: float, sr: int = SR) -> int:
    return int(min(N_FFT // 2 + 1, max(0, round(cutoff * N_FFT / sr))))


def lsd_logs(La, Lb, k0: int = 0, k1: int | None = None) -> float:
    """LSD between two log10 power spectrograms over bins [k0, k1)."""
    d = La[..., k0:k1] - Lb[..., k0:k1]
    if d.shape[-1] == 0:
        return float("nan")
    return float(np.sqrt(np.mean(d * d, axis=-1)).mean())


def lsd(ref, est, sr: int = SR, lo_hz: float | None = None, hi_hz: float | None = None) -> float:
    """NU-Wave 2 log-spectral distance of ``est`` against ``ref`` over [lo_hz, hi_hz)."""
    k0 = 0 if lo_hz is None else cutoff_bin(lo_hz, sr)
    k1 = None if hi_hz is None else cutoff_bin(hi_hz, sr)
    return lsd_logs(log_spec(power_spec(ref)), log_spec(power_spec(est)), k0, k1)


def lsd_bands_logs(La, Lb, kc: int, sr: int = SR) -> dict:
    ks = int(round(SEAM_HZ * N_FFT / sr))
    return {"full": lsd_logs(La, Lb), "hf": lsd_logs(La, Lb, kc), "lf": lsd_logs(La, Lb, 0, kc),
            "seam": lsd_logs(La, Lb, max(0, kc - ks), kc + ks)}


def lsd_bands(ref, est, sr: int, cutoff: float) -> dict:
    """LSD over the full band, above the cutoff (hf), below it (lf) and within +-1 kHz of it (seam)."""
    return lsd_bands_logs(log_spec(power_spec(ref)), log_spec(power_spec(est)), cutoff_bin(cutoff, sr), sr)


def band_energy(P, sr: int, lo_hz: float, hi_hz: float | None = None) -> float:
    hi = min(sr / 2, HF_TOP) if hi_hz is None else hi_hz
    return float(P[..., cutoff_bin(lo_hz, sr):cutoff_bin(hi, sr)].sum())


def level_db(P_est, P_ref, sr: int, cutoff: float) -> float:
    """HF level error: energy of est over ref from the cutoff to min(20 kHz, Nyquist), dB."""
    e, r = band_energy(P_est, sr, cutoff), band_energy(P_ref, sr, cutoff)
    return float(10 * np.log10((e + 1e-12) / (r + 1e-12)))


def continuation_level_db(P_ref, sr: int, cutoff: float, bands: int = 4) -> float:
    """HF level error of an oracle: the original's own top octave continued in a straight line.

    ``P_ref``: the original's STFT power (:func:`power_spec`), averaged here over
    channels and frames.  Over ``cutoff/2 .. 31/32 cutoff`` (``bands`` log-spaced
    bands, as the restoration measures the top coded octave) a least-squares line
    through the bands' mean power in dB against log2 of frequency, never rising,
    its level at the cutoff capped by the mean power at 0.8..0.95 of it; the line
    is continued from the cutoff to min(20 kHz, Nyquist) and its energy compared
    with the original's there (dB, as :func:`level_db`).  It is what the
    restoration's envelope model gives when the coded band is the original (no
    quantization loss) and is measured on the clip as a whole: the part of the
    level error that a better estimate from the coded band cannot remove."""
    p = np.asarray(P_ref, np.float64).reshape(-1, P_ref.shape[-1]).mean(axis=0)
    f = np.arange(len(p)) * sr / N_FFT
    edges = cutoff / 2 * (31 / 16) ** (np.arange(bands + 1) / bands)  # cutoff/2 .. 31/32 cutoff
    xs, ys = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        band = p[(f >= a) & (f < b)]
        if band.size and band.mean() > 0:
            xs.append(np.log2(0.5 * (a + b) / cutoff))
            ys.append(10 * np.log10(band.mean()))
    hf = slice(cutoff_bin(cutoff, sr), cutoff_bin(min(sr / 2, HF_TOP), sr))  # the bins of band_energy
    if len(xs) < 2 or hf.stop <= hf.start:
        return float("nan")
    slope, level = np.polyfit(xs, ys, 1)
    near = p[(f >= 0.8 * cutoff) & (f < 0.95 * cutoff)]
    if near.size and near.mean() > 0:
        level = min(level, 10 * np.log10(near.mean()))
    pred = 10 ** ((level + min(slope, 0.0) * np.log2(f[hf] / cutoff)) / 10)
    return float(10 * np.log10((pred.sum() + 1e-12) / (p[hf].sum() + 1e-12)))


def hf_level_error_db(ref, est, sr: int, cutoff: float) -> float:
    return level_db(power_spec(est), power_spec(ref), sr, cutoff)


def hf_coherence(x, sr: int, cutoff: float, top: float | None = None) -> float:
    """Mean magnitude-squared coherence of channels 0 and 1 over [cutoff, min(20 kHz, Nyquist))."""
    from scipy.signal import coherence
    x = _2d(x)
    if x.shape[1] < 2:
        return float("nan")
    f, c = coherence(x[:, 0], x[:, 1], fs=sr, window="hann", nperseg=N_FFT, noverlap=N_FFT // 2,
                     detrend=False)
    hi = min(sr / 2, HF_TOP) if top is None else top
    sel = (f >= cutoff) & (f < hi)
    return float(np.nanmean(c[sel])) if sel.any() else float("nan")


def clipped(y) -> int:
    """Samples that 16-bit output would clip."""
    return int(np.count_nonzero(np.abs(np.asarray(y)) > 32767 / 32768))


def bandpass_fft(x, sr: int, lo: float, hi: float) -> np.ndarray:
    """Zero-phase brick-wall band-pass over the whole signal (per channel)."""
    x = _2d(x)
    X = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(len(x), 1 / sr)
    X[(f < lo) | (f >= hi)] = 0
    return np.fft.irfft(X, len(x), axis=0)


# ----------------------------------------------------------------------------- probes

def noise_probe(seconds: float = 4.0, sr: int = SR, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(1234)
    return to_int16(rng.standard_normal((int(seconds * sr), channels)) * 0.18)


def measured_cutoff(setting: dict, sr: int = SR, channels: int = 2) -> float:
    """Coded bandwidth of a setting, measured on the plain decode of a white-noise
    probe encoded with it: the 90th percentile over frames of each bin's power,
    in dB; the highest bin more than 30 dB above the floor (median of the top
    4 % of the spectrum, the last 8 bins left out).  Gives the top of LAME's
    transition band (e.g. ~17.1 kHz at 128 kbps, ~11.2 kHz at 64 kbps/44.1 kHz).
    Mono and stereo differ (a mono stream has all the bits for one channel), so
    it is measured with the clip's channel count."""
    y, _ = decode(encode(noise_probe(sr=sr, channels=channels), sr, **setting), restore=False)
    P = power_spec(y).mean(axis=0)
    M = 10 * np.log10(np.percentile(P, 90, axis=0) + 1e-30)
    hi = len(M) - 9
    floor = np.median(M[int(0.96 * (len(M) - 1)):hi])
    ok = np.nonzero(M[:hi] > floor + 30)[0]
    return float((ok[-1] + 1) * sr / N_FFT) if len(ok) else sr / 2


def click_train(sr: int = SR, seconds: float = 6.0, period: float = 0.3127, first: float = 0.25):
    """Stereo int16 click train: 4 ms decaying noise bursts on a -80 dBFS noise floor;
    returns (pcm, click times in samples)."""
    rng = np.random.default_rng(99)
    n = int(seconds * sr)
    x = rng.standard_normal((n, 2)) * 10 ** (-80 / 20)
    m = int(0.004 * sr)
    env = np.exp(-np.arange(m) / (0.0012 * sr))
    times = np.arange(int(first * sr), n - int(0.05 * sr), int(period * sr))
    for t in times:
        burst = rng.standard_normal(m) * env
        burst *= 0.7 / np.abs(burst).max()
        x[t:t + m, 0] += burst
        x[t:t + m, 1] += burst
    return to_int16(x), times


def window_energy(x, times, a_ms: float, b_ms: float, sr: int = SR) -> float:
    """Sum over clicks of the energy in [t + a_ms, t + b_ms)."""
    x = _2d(x)
    e = 0.0
    for t in times:
        a, b = t + int(a_ms * sr / 1000), t + int(b_ms * sr / 1000)
        e += float((x[max(0, a):max(0, b)] ** 2).sum())
    return e


def probe_decodes(pcm: np.ndarray, setting_name: str, sr: int = SR) -> tuple[dict, int, bytes]:
    """Encode a probe (int16 (n, C)) with a setting, decode it plain and restored and
    run the reference method: ``({"original", "plain", "restored", "reference"}: float
    (n, C) aligned with the original, delay, the MP3)``."""
    orig = pcm / 32768.0
    mp3 = encode(pcm, sr, **SETTINGS.get(setting_name, CONTROL))
    yp, _ = decode(mp3, False)
    yr, _ = decode(mp3, True)
    d = find_delay(orig, yp)
    sig = {"original": orig, "plain": align(yp, d, len(orig)), "restored": align(yr, d, len(orig))}
    sig["reference"] = reference_restore(sig["plain"], sr, top=target_hz(sr))
    return sig, d, mp3


def pre_echo(setting_name: str, cutoff: float) -> dict:
    """Pre-echo figures of one setting on the click train (see the module docstring)."""
    sr = SR
    pcm, times = click_train(sr)
    sig, d, _ = probe_decodes(pcm, setting_name, sr)
    top = min(sr / 2, HF_TOP)
    tiny = 1e-20

    def db(a, b):
        return float(10 * np.log10((a + tiny) / (b + tiny)))

    wide = {k: bandpass_fft(v, sr, cutoff / 2, top) for k, v in sig.items()}
    hf = {k: bandpass_fft(v, sr, cutoff, top) for k, v in sig.items()}
    oct_plain = bandpass_fft(sig["plain"], sr, cutoff / 2, cutoff)
    pre_w = {k: window_energy(v, times, -25, -3) for k, v in wide.items()}
    out = {"setting": setting_name, "cutoff": cutoff, "delay": d,
           "dpre_restored": db(pre_w["restored"], pre_w["plain"]),
           "dpre_reference": db(pre_w["reference"], pre_w["plain"]),
           "plain_top_octave": db(window_energy(oct_plain, times, -25, -3), window_energy(oct_plain, times, 0, 25))}
    for k in ("original", "restored", "reference"):
        out[f"prepost_{k}"] = db(window_energy(hf[k], times, -25, -3), window_energy(hf[k], times, 0, 25))
    return out


# ----------------------------------------------------------------------------- tonal probes

PEAK_DB = 10.0  # a peak stands this far above the running median of its PSD (+-PEAK_HALF bins)
PEAK_HALF = 64
PEAK_OVER_ORIGINAL_DB = 10.0  # and this far above the original's PSD at its bin (a component the original lacks)
PEAK_RELEVANT_DB = 40.0  # and no more than this below the original's mean power per bin there
FLICKER_BANDS = 6
FLICKER_ACTIVE_DB = 30.0


def harmonic_probe(seconds: float = 6.0, sr: int = SR) -> np.ndarray:
    """Stereo int16: four sustained notes (196..415 Hz, no vibrato), each with every
    harmonic up to 20 kHz at ``h ** -1.2``, on a -86 dBFS noise floor: a source whose
    high band is a line spectrum, where a copy-up shifts lines off the harmonic grid."""
    rng = np.random.default_rng(7)
    n = int(seconds * sr)
    notes = (196.0, 246.9, 311.1, 415.3)
    m = n // len(notes)
    t = np.arange(m) / sr
    env = np.minimum(1.0, t / 0.05) * np.exp(-t / 3.0)
    x = np.zeros(n)
    for i, f0 in enumerate(notes):
        h = np.arange(1, int(min(20000.0, sr / 2) / f0) + 1)
        ph = rng.uniform(0, 2 * np.pi, len(h))
        x[i * m:(i + 1) * m] = env * (np.sin(2 * np.pi * f0 * t[:, None] * h + ph) / h ** 1.2).sum(axis=1)
    x = 0.5 * x / np.abs(x).max()
    x = np.stack([x, x], axis=1) + 5e-5 * rng.standard_normal((n, 2))
    return to_int16(x)


def bell_probe(seconds: float = 6.0, sr: int = SR) -> np.ndarray:
    """Stereo int16: a bell struck once a second (six pitches), 20 inharmonic partials
    (church-bell ratios 0.5..27) to 20 kHz, the higher ones decaying faster."""
    rng = np.random.default_rng(8)
    ratios = np.array([0.5, 1.0, 1.183, 1.506, 2.0, 2.514, 2.662, 3.011, 4.166, 5.433,
                       6.796, 8.215, 9.6, 11.3, 13.1, 15.2, 17.7, 20.4, 23.6, 27.1])
    n = int(seconds * sr)
    x = np.zeros(n)
    for k, start in enumerate(range(0, int(seconds), 1)):
        f = (523.0, 659.0, 587.0, 784.0, 698.0, 880.0)[k % 6] * ratios
        f = f[f < min(20000.0, sr / 2)]
        a = start * sr
        t = np.arange(n - a) / sr
        amp = 1.0 / (1.0 + np.arange(len(f))) ** 0.7
        ph = rng.uniform(0, 2 * np.pi, len(f))
        x[a:] += (amp * np.sin(2 * np.pi * f * t[:, None] + ph) * np.exp(-t[:, None] * (0.8 + f / 2000.0))).sum(axis=1)
    x = 0.5 * x / np.abs(x).max()
    x = np.stack([x, 0.9 * x], axis=1) + 5e-5 * rng.standard_normal((n, 2))
    return to_int16(x)


TONAL_PROBES = {"harmonic": harmonic_probe, "bell": bell_probe}


def welch_psd(x, sr: int = SR) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, channel-mean Welch PSD): Hann 8192 (5.4 Hz bins at 44.1 kHz), 50 % overlap."""
    from scipy.signal import welch
    f, p = welch(_2d(x), fs=sr, window="hann", nperseg=8192, detrend=False, axis=0)
    return f, p.mean(axis=1)


def _level_over_median(P) -> tuple[np.ndarray, np.ndarray]:
    """A PSD's level (dB) and that level over its running median (+-``PEAK_HALF`` bins)."""
    from scipy.ndimage import median_filter
    L = 10 * np.log10(np.asarray(P, np.float64) + 1e-30)
    return L, L - median_filter(L, size=2 * PEAK_HALF + 1, mode="nearest")


def spurious_peaks(P_orig, P_est, lo: int, hi: int) -> int:
    """Peaks of ``P_est`` in bins ``lo..hi`` that the original does not have ("birdies").

    A peak: the maximum of its +-3 bins, ``PEAK_DB`` above the running median of
    ``P_est`` (+-``PEAK_HALF`` bins), ``PEAK_OVER_ORIGINAL_DB`` above ``P_orig`` at
    the same bin and at most ``PEAK_RELEVANT_DB`` below the original's mean power
    per bin over ``lo..hi`` (so the leakage of a plain decode's empty high band does
    not count)."""
    from scipy.ndimage import maximum_filter1d
    L, over = _level_over_median(P_est)
    Lo = 10 * np.log10(np.asarray(P_orig, np.float64) + 1e-30)
    top = maximum_filter1d(L, size=7, mode="nearest")
    floor = 10 * np.log10(np.mean(P_orig[lo:hi]) + 1e-30) - PEAK_RELEVANT_DB
    k = np.arange(lo, hi)
    ok = (L[k] >= top[k]) & (over[k] >= PEAK_DB) & (L[k] - Lo[k] >= PEAK_OVER_ORIGINAL_DB) & (L[k] >= floor)
    return int(ok.sum())


def peak_contrast(P, lo: int, hi: int) -> float:
    """How line-like a PSD is in bins ``lo..hi`` (dB): the 99th percentile minus the
    median of its level over its running median (+-``PEAK_HALF`` bins).  About 2 dB
    for noise at Welch's averaging, tens of dB for a line spectrum."""
    d = _level_over_median(P)[1][lo:hi]
    return float(np.percentile(d, 99) - np.median(d))


def band_flicker(P, R, sr: int, lo_hz: float, hi_hz: float) -> float:
    """How much a signal's energy jumps from one STFT frame to the next between
    ``lo_hz`` and ``hi_hz``: the RMS frame-to-frame change in dB of each of
    ``FLICKER_BANDS`` log-spaced bands, over the frame pairs where the reference's
    band is within ``FLICKER_ACTIVE_DB`` of its loudest, averaged over the bands.
    ``P``, ``R``: the signal's and the reference's channel-mean :func:`power_spec`
    (frames, bins).  High bands or holes switching on and off make it large; a
    steady tone gives well under 1 dB."""
    edges = np.geomspace(lo_hz, hi_hz, FLICKER_BANDS + 1)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        ka, kb = cutoff_bin(a, sr), max(cutoff_bin(a, sr) + 1, cutoff_bin(b, sr))
        e = 10 * np.log10(P[:, ka:kb].sum(axis=1) + 1e-12)
        r = 10 * np.log10(R[:, ka:kb].sum(axis=1) + 1e-12)
        on = r > r.max() - FLICKER_ACTIVE_DB
        d = np.diff(e)[on[1:] & on[:-1]]
        if d.size:
            out.append(float(np.sqrt(np.mean(d ** 2))))
    return float(np.mean(out)) if out else float("nan")


def tonal_probe(setting_name: str, probe: str, cutoff: float) -> dict:
    """Birdies and flicker of one setting on one tonal probe (see the module docstring)."""
    sr = SR
    sig, _, _ = probe_decodes(TONAL_PROBES[probe](sr=sr), setting_name, sr)
    orig = sig["original"]
    top = min(sr / 2, HF_TOP)
    f, P_o = welch_psd(orig, sr)
    lo, hi = int(np.searchsorted(f, cutoff + 200.0)), int(np.searchsorted(f, top - 200.0))
    out = {"setting": setting_name, "probe": probe, "cutoff": cutoff, "contrast_original": peak_contrast(P_o, lo, hi)}
    for k in ("plain", "restored", "reference"):
        P = welch_psd(sig[k], sr)[1]
        out[f"spurious_{k}"] = spurious_peaks(P_o, P, lo, hi)
        out[f"contrast_{k}"] = peak_contrast(P, lo, hi)
    S = {k: power_spec(v).mean(axis=0) for k, v in sig.items()}
    for k in ("original", "restored", "reference"):
        out[f"flicker_hf_{k}"] = band_flicker(S[k], S["original"], sr, cutoff, top)
    for k in ("original", "plain", "restored"):
        out[f"flicker_top_octave_{k}"] = band_flicker(S[k], S["original"], sr, cutoff / 2, cutoff)
    return out


# ----------------------------------------------------------------------------- originals

ORIGINAL_SUFFIXES = (".wav", ".flac", ".aif", ".aiff")


def original_paths(folder: Path) -> list:
    """The lossless originals in ``folder`` (any rate, depth and channel count libsndfile reads)."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in ORIGINAL_SUFFIXES and p.is_file())
    stems = [p.stem for p in paths]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise SystemExit(f"evaluate: originals share a name (results are keyed by it): {', '.join(twice)}")
    return paths


def resample(x: np.ndarray, to_rate: int, from_rate: int) -> np.ndarray:
    """``x`` (time axis first) from ``from_rate`` to ``to_rate`` (polyphase, scipy)."""
    from scipy.signal import resample_poly
    g = np.gcd(to_rate, from_rate)
    return resample_poly(x, to_rate // g, from_rate // g, axis=0)


def load_original(path: Path):
    """int16 (n, C) PCM at 44.1 kHz: the exact encoder input."""
    import soundfile as sf
    info = sf.info(str(path))
    if info.channels > 2:
        raise ValueError(f"{path.name}: {info.channels} channels; LAME encodes mono or stereo")
    if info.subtype == "PCM_16" and info.samplerate == SR:
        pcm, _ = sf.read(str(path), dtype="int16", always_2d=True)
        return pcm
    x, sr = sf.read(str(path), dtype="float64", always_2d=True)
    if sr != SR:
        x = resample(x, SR, sr)
    return to_int16(x)


def lowpass_10k(pcm: np.ndarray, sr: int = SR) -> np.ndarray:
    from scipy.signal import ellip, sosfiltfilt
    sos = ellip(12, 0.01, 120, 10000, btype="low", fs=sr, output="sos")
    y = sosfiltfilt(sos, pcm / 32768.0, axis=0)
    return to_int16(y)


# ----------------------------------------------------------------------------- one clip

def plain_vs_restored(mp3: bytes, ref: np.ndarray, sr: int) -> dict:
    """``mp3`` decoded plain and restored, each against ``ref`` (float, at the coded
    rate ``sr``), split at the restoration plan's cutoff: LSD (full, HF, LF, seam),
    HF level error, the plan's verdict, the alignment delay and whether restoration
    left the decode bit-identical.  For encodes without a fixed lowpass (another
    encoder, other settings), where the cutoff is what the plan measures."""
    import mp3restore

    with mp3restore.open(mp3) as f:
        plan = f.restoration_plan()
    yp, sr_p = decode(mp3, False)
    yr, _ = decode(mp3, True)
    if sr_p != sr:
        raise RuntimeError(f"decoded at {sr_p} Hz, the reference is at {sr} Hz")
    d = find_delay(ref, yp, sr=sr)
    cutoff = float(plan.cutoff_hz)
    P_ref = power_spec(ref)
    L_ref = log_spec(P_ref)
    row = {"cutoff": cutoff, "verdict": plan.verdict, "delay": d, "restore_is_noop": bool(np.array_equal(yp, yr)),
           "lsd": {}, "level_db": {}}
    for m, y in (("plain", yp), ("restored", yr)):
        P = power_spec(align(y, d, len(ref)))
        row["lsd"][m] = lsd_bands_logs(L_ref, log_spec(P), cutoff_bin(cutoff, sr), sr)
        row["level_db"][m] = level_db(P, P_ref, sr, cutoff)
    return row


def shine_rows(name: str, pcm: np.ndarray, sr: int) -> list[dict]:
    """The other encoder's rows (see the module docstring): plain and restored against the original."""
    return [{"clip": name, "setting": s, **plain_vs_restored(encode_shine(pcm, sr, s), pcm / 32768.0, sr)}
            for s in SHINE_SETTINGS]


def evaluate_clip(path: str, settings: list[str], cutoffs_by_channels: dict, out_dir: str, plots: bool,
                  shine: bool = False) -> dict:
    t0 = time.time()
    path = Path(path)
    name = path.stem
    sr = SR
    pcm = load_original(path)
    orig = pcm / 32768.0
    n, C = orig.shape
    P_o = power_spec(orig)
    L_o = log_spec(P_o)
    coh_o = {}
    rows, psd = [], {}
    for s in settings:
        mp3 = encode(pcm, sr, **SETTINGS[s])
        info = stream_info(mp3)
        yp, sr_p = decode(mp3, False)
        yr, sr_r = decode(mp3, True)
        if sr_p != sr:
            raise RuntimeError(f"{name} {s}: decoded at {sr_p} Hz, expected {sr}")
        d = find_delay(orig, yp)
        d_r = find_delay(orig, yr)
        cutoff = float(info.lowpass) if info.lowpass else cutoffs_by_channels[C][s]
        dec = {"plain": align(yp, d, n), "restored": align(yr, d, n)}
        blind = detect_cutoff(dec["plain"], sr)
        dec["reference"] = reference_restore(dec["plain"], sr, top=target_hz(sr))
        kc = cutoff_bin(cutoff, sr)
        if cutoff not in coh_o:
            coh_o[cutoff] = hf_coherence(orig, sr, cutoff)
        row = {"clip": name, "setting": s, "bitrate": round(float(info.bitrate), 1), "cutoff": cutoff,
               "cutoff_source": "LAME tag" if info.lowpass else "noise probe", "blind_cutoff": blind,
               "orig_hf_db": float(10 * np.log10((band_energy(P_o, sr, cutoff) + 1e-20) / (P_o.sum() + 1e-20))),
               "level_continuation_db": continuation_level_db(P_o, sr, cutoff),
               "delay": d, "delay_restored": d_r, "lsd": {}, "level_db": {}, "coherence": {"original": coh_o[cutoff]},
               "clipped": {"original": clipped(orig)}, "restore_is_noop": bool(np.array_equal(yp, yr))}
        for m in METHODS:
            P = power_spec(dec[m])
            row["lsd"][m] = lsd_bands_logs(L_o, log_spec(P), kc, sr)
            row["level_db"][m] = level_db(P, P_o, sr, cutoff)
            row["coherence"][m] = hf_coherence(dec[m], sr, cutoff)
        row["clipped"].update({"plain": clipped(yp), "restored": clipped(yr), "reference": clipped(dec["reference"])})
        rows.append(row)
        if plots:
            psd[s] = (cutoff, {"original": orig, **dec})

    # negative control: low-passed at 10 kHz, 320 kbps
    lp = lowpass_10k(pcm, sr)
    lpo = lp / 32768.0
    mp3 = encode(lp, sr, **CONTROL)
    yp, _ = decode(mp3, False)
    yr, _ = decode(mp3, True)
    d = find_delay(lpo, yp)
    L_lp = log_spec(power_spec(lpo))
    neg = {"clip": name, "delay": d}
    decs = {"plain": align(yp, d, n), "restored": align(yr, d, n)}
    decs["reference"] = reference_restore(decs["plain"], sr, top=target_hz(sr))
    Ps = {m: power_spec(v) for m, v in decs.items()}
    for m in METHODS:
        neg[f"lsd_{m}"] = lsd_logs(L_lp, log_spec(Ps[m]))
    e_plain = band_energy(Ps["plain"], sr, 11000.0, sr / 2)
    for m in ("restored", "reference"):
        neg[f"added_{m}_db"] = float(10 * np.log10((band_energy(Ps[m], sr, 11000.0, sr / 2) + 1e-12) / (e_plain + 1e-12)))
    neg["pass"] = bool(neg["lsd_restored"] <= neg["lsd_plain"] + NEG_TOL)
    if plots:
        psd["LP10k@320k"] = (10000.0, {"original": lpo, **decs})

    # wideband control: 320 kbps of the original, restore must be a no-op
    mp3 = encode(pcm, sr, **CONTROL)
    yp, _ = decode(mp3, False)
    yr, _ = decode(mp3, True)
    same_shape = yp.shape == yr.shape
    wide = {"clip": name, "identical": bool(same_shape and np.array_equal(yp, yr)),
            "max_abs_diff": float(np.abs(yp.astype(np.float64) - yr).max()) if same_shape else float("inf")}

    png = None
    if plots:
        png = f"psd_{name}.png"
        plot_psd(name, psd, Path(out_dir) / png, sr)
    other = shine_rows(name, pcm, sr) if shine else []
    return {"clip": name, "seconds": n / sr, "channels": C, "rows": rows, "negative": neg, "wideband": wide,
            "shine": other, "png": png, "elapsed": time.time() - t0}


def plot_psd(name, psd: dict, path: Path, sr: int):
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from scipy.signal import welch
    keys = list(psd)
    fig = Figure(figsize=(11, 2.6 * len(keys)), dpi=90)
    FigureCanvasAgg(fig)
    styles = {"original": ("k", 1.4), "plain": ("tab:blue", 1.0), "restored": ("tab:red", 1.0),
              "reference": ("tab:green", 1.0)}
    for i, k in enumerate(keys):
        cutoff, sig = psd[k]
        ax = fig.add_subplot(len(keys), 1, i + 1)
        for m, x in sig.items():
            f, p = welch(_2d(x), fs=sr, window="hann", nperseg=4096, detrend=False, axis=0)
            ax.plot(f / 1000, 10 * np.log10(p.mean(axis=1) + 1e-20), color=styles[m][0], lw=styles[m][1], label=m)
        ax.axvline(cutoff / 1000, color="gray", ls="--", lw=0.8)
        ax.set_xlim(0, sr / 2000)
        top = 10 * np.log10(welch(_2d(sig["original"]), fs=sr, nperseg=4096, detrend=False, axis=0)[1].mean(axis=1).max() + 1e-20)
        ax.set_ylim(top - 110, top + 5)
        ax.set_ylabel("dB/Hz")
        ax.set_title(f"{name}: {k} (cutoff {cutoff:.0f} Hz)", fontsize=9)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(loc="upper right", fontsize=8, ncol=4)
    ax.set_xlabel("kHz")
    fig.tight_layout()
    fig.savefig(str(path))


# ----------------------------------------------------------------------------- summary

def mean(v):
    v = [x for x in v if x is not None and np.isfinite(x)]
    return float(np.mean(v)) if v else float("nan")


def oracle_offset_error(errors, groups) -> float:
    """Mean |error| left when each group's errors are shifted by that group's own median.

    Applied to the level errors of the encodes restoration acted on, grouped by
    setting: what the best constant dB correction per setting of this envelope
    could reach.  What it leaves is clip-to-clip spread, which only a better
    estimate from each clip's own coded band can reduce."""
    errors = np.asarray(errors, np.float64)
    groups = np.asarray(groups)
    if len(errors) == 0:
        return float("nan")
    left = np.concatenate([errors[groups == g] - np.median(errors[groups == g]) for g in np.unique(groups)])
    return float(np.mean(np.abs(left)))


MIN_HIGH_BAND_HZ = 1000.0


def has_high_band(row: dict) -> bool:
    """Whether the encode left at least 1 kHz to restore below the target.  A mono clip at
    96 kbps or more is coded to about 20.5 kHz: no high band, so nothing to average."""
    return row["cutoff"] < target_hz() - MIN_HIGH_BAND_HZ


def worse_bands(row: dict, tol: float = LF_TOL) -> list[str]:
    """The bands (full, hf, lf) whose LSD restoration made worse than plain's, beyond float noise."""
    return [b for b in ("full", "hf", "lf") if row["lsd"]["restored"][b] > row["lsd"]["plain"][b] + tol]


def summarise(results: list[dict], settings: list[str]) -> dict:
    rows = [r for res in results for r in res["rows"] if r["setting"] in TARGET_SETTINGS]
    avg = {"n_no_high_band": sum(not has_high_band(r) for r in rows)}
    rows = [r for r in rows if has_high_band(r)]
    for m in METHODS:
        for b in ("full", "hf", "lf", "seam"):
            avg[f"lsd_{b}_{m}"] = mean(r["lsd"][m][b] for r in rows)
        avg[f"level_{m}"] = mean(r["level_db"][m] for r in rows)
        avg[f"abslevel_{m}"] = mean(abs(r["level_db"][m]) for r in rows)
        avg[f"coh_{m}"] = mean(r["coherence"][m] for r in rows)
        avg[f"cohdiff_{m}"] = mean(abs(r["coherence"][m] - r["coherence"]["original"]) for r in rows)
    # the level error split by what restoration did: the encodes it acted on, and those it left
    # alone (the plan judged the content band-limited at its source; restored == plain there)
    for part, sel in (("acted", False), ("alone", True)):
        rs = [r for r in rows if r["restore_is_noop"] is sel]
        avg[f"abslevel_restored_{part}"] = mean(abs(r["level_db"]["restored"]) for r in rs) if rs else float("nan")
        avg[f"n_{part}"] = len(rs)
    acted = [r for r in rows if not r["restore_is_noop"]]
    avg["abslevel_continuation"] = mean(abs(r["level_continuation_db"]) for r in rows)
    avg["abslevel_continuation_acted"] = mean(abs(r["level_continuation_db"]) for r in acted)
    avg["abslevel_oracle_setting"] = oracle_offset_error(
        [r["level_db"]["restored"] for r in acted], [r["setting"] for r in acted])
    avg["median_level_acted"] = {s: float(np.median([r["level_db"]["restored"] for r in acted if r["setting"] == s]))
                                 for s in TARGET_SETTINGS if any(r["setting"] == s for r in acted)}
    avg["coh_original"] = mean(r["coherence"]["original"] for r in rows)
    shine = [r for res in results for r in res.get("shine", [])]
    if shine:
        acted_s = [r for r in shine if not r["restore_is_noop"]]
        avg["shine"] = {"n": len(shine), "n_acted": len(acted_s),
                        "n_worse": sum(bool(worse_bands(r)) for r in shine),
                        **{f"{b}_{m}": mean(r["lsd"][m][b] for r in acted_s)
                           for b in ("full", "hf", "lf") for m in ("plain", "restored")}}
    negs = [res["negative"] for res in results]
    wides = [res["wideband"] for res in results]
    t = []
    if rows:
        t.append(("HF LSD restored <= 0.7 x plain", f"{avg['lsd_hf_restored']:.3f} vs 0.7 x {avg['lsd_hf_plain']:.3f} = {0.7 * avg['lsd_hf_plain']:.3f}",
                  avg["lsd_hf_restored"] <= 0.7 * avg["lsd_hf_plain"]))
        t.append(("HF LSD restored < reference", f"{avg['lsd_hf_restored']:.3f} vs {avg['lsd_hf_reference']:.3f}",
                  avg["lsd_hf_restored"] < avg["lsd_hf_reference"]))
        t.append(("mean |HF level error| restored <= 3 dB", f"{avg['abslevel_restored']:.2f} dB (signed mean {avg['level_restored']:+.2f} dB)",
                  avg["abslevel_restored"] <= 3.0))
        t.append((f"LF LSD restored <= plain (+{LF_TOL})", f"{avg['lsd_lf_restored']:.4f} vs {avg['lsd_lf_plain']:.4f}",
                  avg["lsd_lf_restored"] <= avg["lsd_lf_plain"] + LF_TOL))
    if negs:
        worst = max(n["lsd_restored"] - n["lsd_plain"] for n in negs)
        t.append((f"negative controls: full LSD restored <= plain + {NEG_TOL} (every clip)",
                  f"worst restored - plain = {worst:+.4f}", all(n["pass"] for n in negs)))
    if wides:
        t.append(("wideband control (320k) bit-identical (every clip)",
                  f"{sum(w['identical'] for w in wides)}/{len(wides)} identical", all(w["identical"] for w in wides)))
    per_setting = {}
    for s in settings:
        rs = [r for res in results for r in res["rows"] if r["setting"] == s and has_high_band(r)]
        per_setting[s] = {f"{k}_{m}": mean(r["lsd"][m][k] for r in rs) for m in METHODS for k in ("full", "hf", "lf", "seam")}
        per_setting[s].update({f"level_{m}": mean(r["level_db"][m] for r in rs) for m in METHODS})
        per_setting[s].update({f"coh_{m}": mean(r["coherence"][m] for r in rs) for m in ("original",) + METHODS})
        per_setting[s]["cutoff"] = mean(r["cutoff"] for r in rs)
    return {"averages": avg, "targets": t, "per_setting": per_setting, "n_rows": len(rows)}


def fmt(v, spec=".3f"):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    return format(v, spec)


def tables(results, summary, pre, tonal, settings, quick) -> tuple[str, str]:
    """(plain-text report for stdout, markdown report)."""
    txt, md = [], []

    def both(header, rows, title):
        w = [max(len(str(header[i])), *(len(str(r[i])) for r in rows)) if rows else len(str(header[i]))
             for i in range(len(header))]
        txt.append(title)
        txt.append("  ".join(str(h).rjust(w[i]) if i else str(h).ljust(w[i]) for i, h in enumerate(header)))
        for r in rows:
            txt.append("  ".join(str(c).rjust(w[i]) if i else str(c).ljust(w[i]) for i, c in enumerate(r)))
        txt.append("")
        md.append(f"### {title}\n")
        md.append("| " + " | ".join(map(str, header)) + " |")
        md.append("|" + "|".join(["---"] * len(header)) + "|")
        for r in rows:
            md.append("| " + " | ".join(map(str, r)) + " |")
        md.append("")

    h = ["clip", "set", "kbps", "cutoff", "blind", "delay", "O hf dB",
         "HF P", "HF R", "HF ref", "LF P", "LF R", "LF ref", "full P", "full R", "full ref",
         "seam P", "seam R", "seam ref", "lvl P", "lvl R", "lvl ref",
         "coh O", "coh P", "coh R", "coh ref", "clip P/R/ref", "noop"]
    rows = []
    for res in results:
        for r in res["rows"]:
            L = r["lsd"]
            dl = str(r["delay"]) if r["delay"] == r["delay_restored"] else f"{r['delay']}/{r['delay_restored']}!"
            rows.append([r["clip"], r["setting"], fmt(r["bitrate"], ".0f"), fmt(r["cutoff"], ".0f"), fmt(r["blind_cutoff"], ".0f"), dl,
                         fmt(r["orig_hf_db"], ".1f"),
                         fmt(L["plain"]["hf"]), fmt(L["restored"]["hf"]), fmt(L["reference"]["hf"]),
                         fmt(L["plain"]["lf"]), fmt(L["restored"]["lf"]), fmt(L["reference"]["lf"]),
                         fmt(L["plain"]["full"]), fmt(L["restored"]["full"]), fmt(L["reference"]["full"]),
                         fmt(L["plain"]["seam"]), fmt(L["restored"]["seam"]), fmt(L["reference"]["seam"]),
                         fmt(r["level_db"]["plain"], "+.1f"), fmt(r["level_db"]["restored"], "+.1f"), fmt(r["level_db"]["reference"], "+.1f"),
                         fmt(r["coherence"]["original"], ".2f"), fmt(r["coherence"]["plain"], ".2f"),
                         fmt(r["coherence"]["restored"], ".2f"), fmt(r["coherence"]["reference"], ".2f"),
                         f"{r['clipped']['plain']}/{r['clipped']['restored']}/{r['clipped']['reference']}",
                         "yes" if r["restore_is_noop"] else "no"])
    both(h, rows, "Per clip and setting (LSD: NU-Wave 2; P = plain, R = restored, ref = reference method; "
                  "O hf dB = energy of the original above the cutoff over its total; "
                  "lvl = HF level error dB; coh = HF L/R coherence, O = original; noop = restored == plain)")

    ps = summary["per_setting"]
    h2 = ["set", "cutoff", "HF P", "HF R", "HF ref", "LF P", "LF R", "LF ref", "full P", "full R", "full ref",
          "seam P", "seam R", "seam ref", "lvl P", "lvl R", "lvl ref", "coh O", "coh R", "coh ref"]
    rows2 = [[s, fmt(v["cutoff"], ".0f"), fmt(v["hf_plain"]), fmt(v["hf_restored"]), fmt(v["hf_reference"]),
              fmt(v["lf_plain"]), fmt(v["lf_restored"]), fmt(v["lf_reference"]),
              fmt(v["full_plain"]), fmt(v["full_restored"]), fmt(v["full_reference"]),
              fmt(v["seam_plain"]), fmt(v["seam_restored"]), fmt(v["seam_reference"]),
              fmt(v["level_plain"], "+.1f"), fmt(v["level_restored"], "+.1f"), fmt(v["level_reference"], "+.1f"),
              fmt(v["coh_original"], ".2f"), fmt(v["coh_restored"], ".2f"), fmt(v["coh_reference"], ".2f")]
             for s, v in ps.items()]
    a = summary["averages"]
    if summary["n_rows"]:
        rows2.append(["avg 64/96/128/V5", "", fmt(a["lsd_hf_plain"]), fmt(a["lsd_hf_restored"]), fmt(a["lsd_hf_reference"]),
                      fmt(a["lsd_lf_plain"]), fmt(a["lsd_lf_restored"]), fmt(a["lsd_lf_reference"]),
                      fmt(a["lsd_full_plain"]), fmt(a["lsd_full_restored"]), fmt(a["lsd_full_reference"]),
                      fmt(a["lsd_seam_plain"]), fmt(a["lsd_seam_restored"]), fmt(a["lsd_seam_reference"]),
                      fmt(a["level_plain"], "+.1f"), fmt(a["level_restored"], "+.1f"), fmt(a["level_reference"], "+.1f"),
                      fmt(a["coh_original"], ".2f"), fmt(a["coh_restored"], ".2f"), fmt(a["coh_reference"], ".2f")])
    both(h2, rows2, "Averages over clips per setting")

    h3 = ["set", "cutoff", "delay", "dPre R dB", "dPre ref dB", "pre/post O", "pre/post R", "pre/post ref", "plain top octave"]
    rows3 = [[p["setting"], fmt(p["cutoff"], ".0f"), p["delay"], fmt(p["dpre_restored"], "+.1f"), fmt(p["dpre_reference"], "+.1f"),
              fmt(p["prepost_original"], "+.1f"), fmt(p["prepost_restored"], "+.1f"), fmt(p["prepost_reference"], "+.1f"),
              fmt(p["plain_top_octave"], "+.1f")] for p in pre]
    both(h3, rows3, "Pre-echo on the click train (dPre: energy cutoff/2..20 kHz 25..3 ms before the clicks, vs plain; "
                    "pre/post: energy above the cutoff before vs after the clicks)")

    h6 = ["set", "probe", "cutoff", "spurious P", "spurious R", "spurious ref", "contrast O", "contrast R",
          "contrast ref", "flicker HF O", "flicker HF R",
          "flicker HF ref", "flicker top oct O", "flicker top oct P", "flicker top oct R"]
    rows6 = [[t["setting"], t["probe"], fmt(t["cutoff"], ".0f"), t["spurious_plain"], t["spurious_restored"],
              t["spurious_reference"], fmt(t["contrast_original"], ".1f"), fmt(t["contrast_restored"], ".1f"),
              fmt(t["contrast_reference"], ".1f"), fmt(t["flicker_hf_original"], ".2f"), fmt(t["flicker_hf_restored"], ".2f"),
              fmt(t["flicker_hf_reference"], ".2f"), fmt(t["flicker_top_octave_original"], ".2f"),
              fmt(t["flicker_top_octave_plain"], ".2f"), fmt(t["flicker_top_octave_restored"], ".2f")] for t in tonal]
    both(h6, rows6, "Birdies and flicker on the tonal probes (spurious: high-band PSD peaks the original lacks; "
                    "contrast: how line-like the high band is, dB, ~2 for noise; "
                    "flicker: RMS frame-to-frame band-energy change, dB, above the cutoff and in the coded top octave)")

    h4 = ["clip", "LSD P", "LSD R", "LSD ref", "R - P", "added >11k R dB", "added >11k ref dB", "pass", "320k bit-identical", "max |diff|"]
    rows4 = []
    for res in results:
        ng, wd = res["negative"], res["wideband"]
        rows4.append([res["clip"], fmt(ng["lsd_plain"]), fmt(ng["lsd_restored"]), fmt(ng["lsd_reference"]),
                      fmt(ng["lsd_restored"] - ng["lsd_plain"], "+.4f"), fmt(ng["added_restored_db"], "+.1f"),
                      fmt(ng["added_reference_db"], "+.1f"), "PASS" if ng["pass"] else "FAIL",
                      str(wd["identical"]), fmt(wd["max_abs_diff"], ".2e")])
    both(h4, rows4, "Controls: negative (original low-passed at 10 kHz, 320 kbps; full-band LSD) and wideband (320 kbps)")

    shine = [r for res in results for r in res.get("shine", [])]
    if shine:
        h7 = ["clip", "set", "cutoff", "verdict", "full P", "full R", "HF P", "HF R", "LF P", "LF R",
              "lvl P", "lvl R", "noop"]
        rows7 = [[r["clip"], r["setting"], fmt(r["cutoff"], ".0f"), r["verdict"],
                  fmt(r["lsd"]["plain"]["full"]), fmt(r["lsd"]["restored"]["full"]),
                  fmt(r["lsd"]["plain"]["hf"]), fmt(r["lsd"]["restored"]["hf"]),
                  fmt(r["lsd"]["plain"]["lf"]), fmt(r["lsd"]["restored"]["lf"]),
                  fmt(r["level_db"]["plain"], "+.1f"), fmt(r["level_db"]["restored"], "+.1f"),
                  "yes" if r["restore_is_noop"] else "no"] for r in shine]
        both(h7, rows7, "Another encoder: libshine through FFmpeg (no lowpass: the coded band ends granule by granule "
                        "where the bits run out; cutoff = the restoration plan's; information, no target)")

    h5 = ["target", "value", "result"]
    rows5 = [[t, v, "PASS" if ok else "FAIL"] for t, v, ok in summary["targets"]]
    if summary["n_rows"]:
        rows5.append(["(info) HF coherence: original / restored / reference",
                      f"{a['coh_original']:.2f} / {a['coh_restored']:.2f} / {a['coh_reference']:.2f} "
                      f"(mean |R - O| {a['cohdiff_restored']:.2f}, |ref - O| {a['cohdiff_reference']:.2f})", ""])
        rows5.append(["(info) HF level error: mean |R| / mean |ref|",
                      f"{a['abslevel_restored']:.2f} / {a['abslevel_reference']:.2f} dB", ""])
        rows5.append(["(info) mean |HF level error| restored: encodes restoration acted on / left alone as band-limited",
                      f"{fmt(a['abslevel_restored_acted'], '.2f')} dB ({a['n_acted']}) / "
                      f"{fmt(a['abslevel_restored_alone'], '.2f')} dB ({a['n_alone']})", ""])
        rows5.append(["(info) acted-on mean |HF level error| with each setting's median error removed "
                      "(the best a constant per-setting correction could do)",
                      f"{fmt(a['abslevel_oracle_setting'], '.2f')} dB", ""])
        rows5.append(["(info) mean |HF level error| of the original's own top octave continued in a straight line "
                      "(the envelope model with a lossless coded band): all / acted on",
                      f"{fmt(a['abslevel_continuation'], '.2f')} / {fmt(a['abslevel_continuation_acted'], '.2f')} dB", ""])
        rows5.append(["(info) acted-on median HF level error per setting (its bias)",
                      ", ".join(f"{k} {v:+.1f}" for k, v in a["median_level_acted"].items()) + " dB", ""])
    if a["n_no_high_band"]:
        rows5.append(["(info) encodes left out of the averages: coded to within 1 kHz of the target, no high band",
                      str(a["n_no_high_band"]), ""])
    tp = [p for p in pre if p["setting"] in TARGET_SETTINGS]
    if tp:
        rows5.append(["(info) pre-echo dPre restored / reference (mean)",
                      f"{mean(p['dpre_restored'] for p in tp):+.1f} / {mean(p['dpre_reference'] for p in tp):+.1f} dB", ""])
    tt = [t for t in tonal if t["setting"] in TARGET_SETTINGS]
    if tt:
        rows5.append(["(info) tonal probes: spurious high-band peaks restored / reference (total); "
                      "HF flicker original / restored / reference (mean dB)",
                      f"{sum(t['spurious_restored'] for t in tt)} / {sum(t['spurious_reference'] for t in tt)}; "
                      f"{mean(t['flicker_hf_original'] for t in tt):.2f} / {mean(t['flicker_hf_restored'] for t in tt):.2f} / "
                      f"{mean(t['flicker_hf_reference'] for t in tt):.2f}", ""])
    if "shine" in a:
        sh = a["shine"]
        rows5.append(["(info) libshine encodes: acted on; full / HF / LF LSD plain -> restored over those; "
                      "encodes where restoration made a band's LSD worse",
                      f"{sh['n_acted']} of {sh['n']}; {fmt(sh['full_plain'])} -> {fmt(sh['full_restored'])} / "
                      f"{fmt(sh['hf_plain'])} -> {fmt(sh['hf_restored'])} / {fmt(sh['lf_plain'])} -> "
                      f"{fmt(sh['lf_restored'])}; {sh['n_worse']} of {sh['n']}", ""])
    nclip = [sum(r["clipped"][m] for res in results for r in res["rows"]) for m in METHODS]
    rows5.append(["(info) clipped samples plain / restored / reference (all rows)", "/".join(map(str, nclip)), ""])
    both(h5, rows5, "Targets (averages over all clips at 64k/96k/128k/V5)" + (" -- QUICK RUN, not the full set" if quick else ""))
    return "\n".join(txt), "\n".join(md)


def git_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return f"{head}{' + uncommitted changes' if dirty else ''}"
    except OSError:
        return "unknown"


def cutoffs_text(by_ch: dict) -> str:
    """The measured cutoffs of each setting (stereo, then mono when measured) as one line."""
    def one(cut):
        return ", ".join(f"{s} {c:.0f} Hz" for s, c in cut.items())
    return one(by_ch[2]) + (f"; mono: {one(by_ch[1])}" if 1 in by_ch else "")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("originals", type=Path)
    ap.add_argument("--out", type=Path, default=Path("eval/report"))
    ap.add_argument("--quick", action="store_true", help="2 clips x 2 settings")
    ap.add_argument("--clips", help="comma-separated clip names (file stems)")
    ap.add_argument("--settings", help=f"comma-separated, from {','.join(SETTINGS)}")
    ap.add_argument("--workers", type=int, default=2, help="processes (1 or 2)")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--no-shine", action="store_true", help="skip the other encoder (libshine through FFmpeg)")
    ap.add_argument("--bandwidth", type=float, default=None,
                    help="target bandwidth in Hz for restoration and the reference method "
                         "(default: mp3restore's, 20 kHz)")
    args = ap.parse_args(argv)
    t0 = time.time()

    global BANDWIDTH
    if args.bandwidth:
        BANDWIDTH = args.bandwidth
        os.environ["MP3RESTORE_EVAL_BANDWIDTH"] = str(args.bandwidth)
    paths = original_paths(args.originals)
    if not paths:
        sys.exit(f"evaluate: no {'/'.join(ORIGINAL_SUFFIXES)} files in {args.originals} "
                 "(run tools/fetch_originals.py)")
    if args.clips:
        want = args.clips.split(",")
        paths = [p for p in paths if p.stem in want]
    elif args.quick:
        pick = [p for p in paths if p.stem in QUICK_CLIPS]
        paths = (pick + [p for p in paths if p not in pick])[:2]
    settings = args.settings.split(",") if args.settings else list(QUICK_SETTINGS if args.quick else SETTINGS)
    for s in settings:
        if s not in SETTINGS:
            sys.exit(f"evaluate: unknown setting {s!r}")
    args.out.mkdir(parents=True, exist_ok=True)
    plots = not args.no_plots

    import lameenc  # noqa: F401  (fail early)
    import mp3restore
    import soundfile as sf
    channels = {p: sf.info(str(p)).channels for p in paths}
    many = [p.name for p, c in channels.items() if c > 2]
    if many:
        sys.exit(f"evaluate: LAME encodes mono or stereo; more channels in {', '.join(many)}")
    channel_counts = sorted(set(channels.values()) | {2})  # 2: the click train
    by_ch = {ch: {s: measured_cutoff(SETTINGS[s], channels=ch) for s in settings} for ch in channel_counts}
    cutoffs = by_ch[2]
    print("coded bandwidth per setting (white-noise probe): " + cutoffs_text(by_ch), flush=True)

    shine = not args.no_shine and shine_available()
    if not args.no_shine and not shine:
        print("evaluate: no ffmpeg with libshine on the PATH: the other encoder's rows are skipped", flush=True)

    workers = max(1, min(2, args.workers))
    ctx = multiprocessing.get_context("spawn")
    results, pre = [], []
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        futs = {ex.submit(evaluate_clip, str(p), settings, by_ch, str(args.out), plots, shine): p.stem for p in paths}
        pfuts = [ex.submit(pre_echo, s, cutoffs[s]) for s in settings]
        tfuts = [ex.submit(tonal_probe, s, p, cutoffs[s]) for s in settings for p in TONAL_PROBES]
        for f in cf.as_completed(futs):
            r = f.result()
            print(f"  {r['clip']}: done in {r['elapsed']:.1f} s", flush=True)
            results.append(r)
        pre = [f.result() for f in pfuts]
        tonal = [f.result() for f in tfuts]
    order = [p.stem for p in paths]
    results.sort(key=lambda r: order.index(r["clip"]))

    summary = summarise(results, settings)
    txt, md = tables(results, summary, pre, tonal, settings, args.quick)
    print()
    print(txt)
    elapsed = time.time() - t0
    print(f"elapsed {elapsed:.0f} s")

    head = [
        "# mp3restore restoration report", "",
        f"* date: {datetime.datetime.now().isoformat(timespec='seconds')}; mp3restore source: {git_state()}; "
        f"mp3restore {getattr(mp3restore, '__version__', '?')}",
        f"* originals: `{args.originals}` ({len(paths)} clips: {', '.join(order)}); settings: {', '.join(settings)}"
        + ("; **quick run**" if args.quick else ""),
        "* encoder: lameenc (bundled LAME), quality 2; 64k/96k with the output rate forced to 44.1 kHz; V5 = VBR mtrh quality 5. "
        "lameenc writes no LAME tag: decodes are aligned by cross-correlation (delay column)."
        + (" Other encoder: libshine through FFmpeg at " + ", ".join(SHINE_SETTINGS) + "." if shine else ""),
        "* cutoff per setting (white-noise probe): " + cutoffs_text(by_ch),
        "* LSD: NU-Wave 2 definition (Hann 2048, hop 512, log10 power clamped at 1e-8, unnormalised STFT, RMS over bins, "
        "mean over frames and channels). HF = bins from the cutoff up, LF = below, seam = +-1 kHz around it.",
        "* reference = `tools/reference_bwe.py` on the plain decode (blind cutoff, octave copy-up, linear log-envelope extrapolation).",
        f"* run time {elapsed:.0f} s", "",
    ]
    pngs = [f"* [{r['clip']}]({r['png']})" for r in results if r["png"]]
    doc = "\n".join(head) + "\n" + md + ("\n### PSD plots (Welch, channel mean)\n\n" + "\n".join(pngs) + "\n" if pngs else "")
    (args.out / "report.md").write_text(doc)
    (args.out / "results.json").write_text(json.dumps(
        {"settings": settings, "cutoffs": cutoffs, "results": results, "pre_echo": pre, "tonal": tonal,
         "summary": {k: v for k, v in summary.items() if k != "targets"},
         "targets": [{"target": t, "value": v, "pass": ok} for t, v, ok in summary["targets"]]},
        indent=1, default=float))
    print(f"wrote {args.out / 'report.md'}")


if __name__ == "__main__":
    main()
