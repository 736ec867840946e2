"""Pictures of a stream (``mp3restore plot``): PSD, spectrogram, band energies.

matplotlib is optional (``pip install mp3restore[plot]``): it is imported when
a figure is made, and its absence raises :class:`PlotDependencyError`.  Figures
are built with ``matplotlib.figure.Figure`` (no pyplot, no global state, no
display needed).

* ``psd``: Welch power spectral density (``scipy.signal.welch``) of the plain
  decode (``restore=False``), the restored decode (``restore=True``) and,
  optionally, the original, in dB against kHz, with the measured cutoff (p90
  of the per-granule highest non-zero frequency, :func:`mp3restore.inspect.measure_bandwidth`)
  and the LAME lowpass (from the LAME tag) as vertical lines.
* ``spectrogram``: STFT magnitude (``scipy.signal.stft``) of the decode, dB colour scale.
* ``bands``: energy per long scalefactor band and granule, from the MDCT
  coefficients (:func:`mp3restore.inspect.band_energies`; short granules summed
  over their windows), dB colour scale, band edges on a kHz axis.
"""
from __future__ import annotations

import os

import numpy as np

from .errors import InputError, Mp3RestoreError

KINDS = ("psd", "spectrogram", "bands")
MISSING = "plotting needs matplotlib: pip install mp3restore[plot]"


class PlotDependencyError(Mp3RestoreError):
    """matplotlib is not installed."""


def require_matplotlib():
    """Return ``matplotlib.figure.Figure``; raise :class:`PlotDependencyError` if matplotlib is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotDependencyError(MISSING) from None
    return Figure


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------

def read_reference(path):
    """Read an original WAV (or anything soundfile reads): float32 (n, channels), samplerate.

    Uses ``soundfile`` when it is installed, else the standard ``wave`` module
    (16-bit PCM WAV only).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    try:
        import soundfile
    except ImportError:
        soundfile = None
    if soundfile is not None:
        try:
            data, sr = soundfile.read(path, dtype="float32", always_2d=True)
        except Exception as e:  # soundfile raises its own LibsndfileError / RuntimeError
            raise InputError(f"{path}: cannot read the reference audio ({e})") from None
        return data, int(sr)
    import wave

    try:
        with wave.open(path, "rb") as w:
            if w.getsampwidth() != 2:
                raise InputError(f"{path}: only 16-bit PCM WAV can be read without soundfile")
            ch, sr, n = w.getnchannels(), w.getframerate(), w.getnframes()
            raw = w.readframes(n)
    except (wave.Error, EOFError) as e:
        raise InputError(f"{path}: not a PCM WAV file ({e})") from None
    data = np.frombuffer(raw, "<i2").astype(np.float32).reshape(-1, ch) / 32768.0
    return data, int(sr)


def _fit(x, n):
    """``x`` (n_x, ch) cut or zero-padded to ``n`` rows."""
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.zeros((n - len(x), x.shape[1]), x.dtype)])


def _title(mp3, name):
    i = mp3.info
    br = f"{i.bitrate_mode} {i.bitrate:.0f} kbit/s"
    return f"{name or mp3.name or 'input'}: MPEG-{i.version} Layer III, {i.samplerate} Hz, {i.mode}, {br}"


def _psd_db(x, sr):
    from scipy.signal import welch

    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    nper = int(min(4096, max(16, len(x))))
    f, p = welch(x, fs=sr, nperseg=nper, axis=0)
    p = p.mean(axis=1)
    return f, 10.0 * np.log10(np.maximum(p, 1e-20))


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

def plot_psd(mp3, ref=None, *, name=None, bandwidth=None):
    """Welch PSD of the decode(s) and the original; returns a matplotlib Figure."""
    from .inspect import measure_bandwidth

    Figure = require_matplotlib()
    sr = mp3.samplerate
    plain, _ = mp3.read(restore=False, always_2d=True)
    restored, _ = mp3.read(restore=True, always_2d=True)
    if len(plain) == 0:
        raise InputError(f"{name or mp3.name or 'input'}: no audio to plot")
    bw = bandwidth if bandwidth is not None else measure_bandwidth(mp3)
    fig = Figure(figsize=(10, 5.5), dpi=100, layout="constrained")
    ax = fig.subplots()
    lows = []
    if ref is not None:
        rdata, rsr = ref
        rdata = _fit(rdata, int(round(len(plain) * rsr / sr)))
        f, db = _psd_db(rdata, rsr)
        ax.plot(f / 1000, db, color="0.35", lw=1.2, label="original")
        lows.append(db)
    f, db_plain = _psd_db(plain, sr)
    ax.plot(f / 1000, db_plain, color="tab:blue", lw=1.2, label="decoded (plain)")
    same = np.array_equal(plain, restored)
    f, db_rest = _psd_db(restored, sr)
    ax.plot(f / 1000, db_rest, color="tab:orange", lw=1.0, ls="--",
            label="decoded (restored)" + (" = plain" if same else ""))
    lows += [db_plain, db_rest]
    top = max(float(np.max(d)) for d in lows)
    bottom = max(min(float(np.percentile(d, 1)) for d in lows), top - 160.0)
    ax.set_ylim(bottom - 5, top + 5)
    if bw.get("p90_hz") is not None:
        ax.axvline(bw["p90_hz"] / 1000, color="tab:red", lw=1.2,
                   label=f"measured cutoff (p90 highest coded line): {bw['p90_hz'] / 1000:.2f} kHz")
    lp = mp3.info.lowpass
    if lp:
        ax.axvline(lp / 1000, color="tab:green", lw=1.2, ls=":", label=f"LAME lowpass (tag): {lp / 1000:.2f} kHz")
    ax.set_xlim(0, max(sr, ref[1] if ref is not None else 0) / 2000)
    ax.set_xlabel("frequency (kHz)")
    ax.set_ylabel("power spectral density (dB re 1/Hz, full scale 1.0)")
    ax.set_title(_title(mp3, name), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    return fig


def plot_spectrogram(mp3, *, name=None, bandwidth=None, max_columns=4000):
    """STFT magnitude of the decode in dB; returns a matplotlib Figure."""
    from scipy.signal import stft

    Figure = require_matplotlib()
    sr = mp3.samplerate
    x, _ = mp3.read(restore=False, always_2d=True)
    if len(x) == 0:
        raise InputError(f"{name or mp3.name or 'input'}: no audio to plot")
    mono = x.mean(axis=1, dtype=np.float64)
    hop = max(256, -(-len(mono) // max_columns))
    nper = max(1024, hop)
    nper = min(nper, max(16, len(mono)))
    hop = min(hop, nper)
    f, t, z = stft(mono, fs=sr, nperseg=nper, noverlap=nper - hop, boundary=None, padded=True)
    db = 20.0 * np.log10(np.maximum(np.abs(z), 1e-12))
    vmax = float(db.max())
    fig = Figure(figsize=(10, 5.5), dpi=100, layout="constrained")
    ax = fig.subplots()
    dt = t[1] - t[0] if len(t) > 1 else len(mono) / sr
    im = ax.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=vmax - 100, vmax=vmax,
                   extent=(t[0] - dt / 2, t[-1] + dt / 2, 0, sr / 2000), interpolation="nearest")
    cb = fig.colorbar(im, ax=ax)
    cb.set_label("magnitude (dB)")
    if bandwidth is not None and bandwidth.get("p90_hz") is not None:
        ax.axhline(bandwidth["p90_hz"] / 1000, color="cyan", lw=1, ls="--",
                   label=f"measured cutoff (p90): {bandwidth['p90_hz'] / 1000:.2f} kHz")
    if mp3.info.lowpass:
        ax.axhline(mp3.info.lowpass / 1000, color="lime", lw=1, ls=":",
                   label=f"LAME lowpass: {mp3.info.lowpass / 1000:.2f} kHz")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=9)
    ax.set_xlabel("time (s, gapless decode)")
    ax.set_ylabel("frequency (kHz)")
    ax.set_title(_title(mp3, name) + " - spectrogram", fontsize=10)
    return fig


def plot_bands(mp3, *, name=None, max_columns=4000):
    """Band energy (dB) per granule and long scalefactor band; returns a matplotlib Figure."""
    from .inspect import _scan, band_edges_hz, summarize_bandwidth

    Figure = require_matplotlib()
    hl, sr, energies = _scan(mp3._stream, energies=True)
    G = len(energies)
    if G == 0:
        raise InputError(f"{name or mp3.name or 'input'}: no audio to plot")
    e = energies.sum(axis=1)  # (G, 22): all channels
    step = max(1, -(-G // max_columns))
    if step > 1:  # sum neighbouring granules so the image stays small
        pad = (-G) % step
        e = np.concatenate([e, np.zeros((pad, 22))]).reshape(-1, step, 22).sum(axis=1)
    db = 10.0 * np.log10(np.maximum(e, 1e-20))
    vmax = float(db.max())
    vmin = vmax - 100.0
    db = np.maximum(db, vmin)
    t_edges = np.arange(len(e) + 1) * step * 576 / sr
    f_edges = band_edges_hz(sr) / 1000
    fig = Figure(figsize=(10, 5.5), dpi=100, layout="constrained")
    ax = fig.subplots()
    mesh = ax.pcolormesh(t_edges, f_edges, db.T, cmap="viridis", vmin=vmin, vmax=vmax, shading="flat",
                         rasterized=True)
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label("band energy (dB, sum of squared MDCT lines)")
    bw = summarize_bandwidth(hl, sr)
    if bw["p90_hz"] is not None:
        ax.axhline(bw["p90_hz"] / 1000, color="red", lw=1, ls="--",
                   label=f"measured cutoff (p90): {bw['p90_hz'] / 1000:.2f} kHz")
    if mp3.info.lowpass:
        ax.axhline(mp3.info.lowpass / 1000, color="white", lw=1, ls=":",
                   label=f"LAME lowpass: {mp3.info.lowpass / 1000:.2f} kHz")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=9)
    ax.set_ylim(0, f_edges[-1])
    ax.set_xlabel("time (s, full decode; granules of 576 samples)")
    ax.set_ylabel("frequency (kHz; rows are the 22 long scalefactor bands)")
    ax.set_title(_title(mp3, name) + " - band energy from the MDCT coefficients", fontsize=10)
    return fig


def make_figure(mp3, kind="psd", *, ref=None, name=None):
    """The figure of ``kind`` (``psd``, ``spectrogram`` or ``bands``) for an ``Mp3File``.

    ``ref``: ``(data, samplerate)`` of the original (psd only; see :func:`read_reference`).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    require_matplotlib()
    if kind == "psd":
        return plot_psd(mp3, ref, name=name)
    from .inspect import measure_bandwidth

    if kind == "spectrogram":
        return plot_spectrogram(mp3, name=name, bandwidth=measure_bandwidth(mp3))
    return plot_bands(mp3, name=name)


def save_png(fig, fh):
    """Write ``fig`` as PNG to the binary file ``fh``."""
    fig.savefig(fh, format="png")
