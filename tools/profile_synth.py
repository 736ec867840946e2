"""Time the two decoder kernels separately on one file.

Usage: python tools/profile_synth.py [file.mp3] [--runs N] [--chunk FRAMES]

Decodes the whole file once into coefficients (``FrameDecoder.decode``) and
synthesizes them (``SynthState.run``) in chunks of ``--chunk`` frames, the way
``mp3restore.read`` does; reports the median of ``--runs`` warm runs of each.
Without a file argument it uses ``/tmp/b30.mp3`` (30 s, stereo, 128 kbps),
creating it with ``lame -b 128`` from generated tones and noise if missing.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mp3restore.decoder import FrameDecoder, SynthState, granule_channels  # noqa: E402
from mp3restore.sideinfo import BLOCK_TYPE, MIXED_BLOCK  # noqa: E402
from mp3restore.stream import open_stream  # noqa: E402

DEFAULT = "/tmp/b30.mp3"


def make_default(path):
    """30 s stereo test signal (tones + noise) encoded with lame at 128 kbps."""
    import wave

    sr = 44100
    t = np.arange(30 * sr) / sr
    rng = np.random.default_rng(0)
    x = np.stack([0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * rng.standard_normal(len(t)),
                  0.3 * np.sin(2 * np.pi * 660 * t) + 0.1 * rng.standard_normal(len(t))], 1)
    pcm = np.clip(np.rint(x * 32767), -32768, 32767).astype("<i2")
    wav = path[:-4] + ".wav"
    with wave.open(wav, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    subprocess.run(["lame", "--quiet", "-b", "128", wav, path], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?", default=DEFAULT)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=128, help="frames per kernel call")
    args = ap.parse_args()
    if not os.path.exists(args.file):
        if args.file != DEFAULT:
            sys.exit(f"{args.file}: no such file")
        make_default(args.file)

    s = open_stream(args.file)
    f0, f1 = s.first, s.nframes
    C = s.channels
    chunks = [(a, min(f1, a + args.chunk)) for a in range(f0, f1, args.chunk)]
    dec = FrameDecoder(s, args.chunk)
    G_all = int(s.gr_start[f1] - s.gr_start[f0])
    mdct = np.empty((G_all, C, 576), np.float32)
    bt = np.empty((G_all, C), np.int32)
    mx = np.empty((G_all, C), np.int32)
    coded = granule_channels(s.headers, s.gr_start, f0, f1)
    bounds = []

    def decode_all():
        for a, b in chunks:
            G, m, gi, _sf, _st, _mdb = dec.decode(a, b)
            g0 = int(s.gr_start[a] - s.gr_start[f0])
            mdct[g0:g0 + G] = m
            bt[g0:g0 + G] = gi[:, :, BLOCK_TYPE]
            mx[g0:g0 + G] = gi[:, :, MIXED_BLOCK]

    for a, b in chunks:
        g0 = int(s.gr_start[a] - s.gr_start[f0])
        bounds.append((g0, int(s.gr_start[b] - s.gr_start[f0])))
    pcm = np.empty((G_all * 576, C), np.float32)

    def synth_all():
        st = SynthState(C)
        for g0, g1 in bounds:
            st.run(mdct[g0:g1], bt[g0:g1], mx[g0:g1], coded[g0:g1], pcm[g0 * 576:g1 * 576])

    def timed(fn):
        fn()  # warm-up (compilation / cache load)
        wall, cpu = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            c = time.thread_time()
            fn()
            cpu.append(time.thread_time() - c)
            wall.append(time.perf_counter() - t)
        return np.median(wall) * 1000, min(wall) * 1000, np.median(cpu) * 1000

    td, td_min, td_cpu = timed(decode_all)
    ts, ts_min, ts_cpu = timed(synth_all)
    dur = G_all * 576 / s.samplerate
    short = np.mean(bt == 2) * 100
    print(f"{os.path.basename(args.file)}: {dur:.1f} s, {C} ch, {G_all} granules ({short:.1f}% short), "
          f"{args.runs} runs")
    print(f"  FrameDecoder.decode  median {td:7.2f} ms  (min {td_min:.2f}, thread CPU median {td_cpu:.2f})")
    print(f"  SynthState.run       median {ts:7.2f} ms  (min {ts_min:.2f}, thread CPU median {ts_cpu:.2f})")
    print(f"  total                       {td + ts:7.2f} ms  ({dur / ((td + ts) / 1000):.0f}x real time)")
    print("  (wall-clock times; the thread CPU time is less disturbed by other processes)")
    print(f"  pcm checksum {float(np.abs(pcm.astype(np.float64)).sum()):.6f}")


if __name__ == "__main__":
    main()
