#!/usr/bin/env python3
"""Does restoration ever make a decode worse? LAME settings outside the evaluation's targets.

    python tools/no_harm_sweep.py ORIGINALS_DIR [--workers 2]

``tools/evaluate.py`` measures the target settings (64k/96k at 44.1 kHz, 128k,
V5, 192k).  This sweep encodes every original (lameenc) at settings users
also meet: 112 and 160 kbps, VBR V0/V2/V7, and 8/16/32/48/64/96 kbps with
LAME's own choice of sample rate (8, 8, 16, 22.05, 24 and 32 kHz, where the
target band ends at Nyquist); mono (the channels averaged) at 24 to 128 kbps,
V5 and V7; and 48 kHz input (the clip resampled) at 64 to 192 kbps and V5.
Each encode is decoded plain and restored and compared with the
original (resampled to the coded rate): NU-Wave 2 LSD over the full band,
above and below the restoration plan's cutoff, and the HF level error (as in
``evaluate.py``).  It prints one row per encode and the encodes where
restoration made the LSD of any of the three bands worse than plain's.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate as ev  # noqa: E402

SETTINGS = {
    "112k": {"bit_rate": 112}, "160k": {"bit_rate": 160},
    "V0": {"vbr": 0}, "V2": {"vbr": 2}, "V7": {"vbr": 7},
    "8k": {"bit_rate": 8}, "16k": {"bit_rate": 16}, "32k": {"bit_rate": 32},  # LAME resamples these
    "48k": {"bit_rate": 48}, "64k": {"bit_rate": 64}, "96k": {"bit_rate": 96},
    # mono (the clip's channels averaged): LAME keeps a wider band at the same bit rate
    **{f"m{k}": {"bit_rate": k, "mono": True} for k in (24, 40, 48, 64, 96, 128)},
    "mV5": {"vbr": 5, "mono": True}, "mV7": {"vbr": 7, "mono": True},
    # 48 kHz input (the clip resampled): 48 kHz streams, and LAME's own lower rates
    **{f"48k_{k}": {"bit_rate": k, "in_rate": 48000} for k in (64, 96, 128, 192)},
    "48k_V5": {"vbr": 5, "in_rate": 48000},
}
BANDS = ("full", "hf", "lf")


def sweep_clip(path: str) -> list[dict]:
    pcm = ev.load_original(Path(path))
    rows = []
    for name, setting in SETTINGS.items():
        setting = dict(setting)
        x = pcm
        if setting.pop("mono", False):
            x = np.round(pcm.mean(axis=1, keepdims=True)).astype(np.int16)
        in_rate = setting.pop("in_rate", ev.SR)
        if in_rate != ev.SR:
            y = ev.resample(x.astype(np.float64), in_rate, ev.SR)
            x = np.clip(np.round(y), -32768, 32767).astype(np.int16)
        mp3 = ev.encode(x, in_rate, **setting)
        sr = ev.stream_info(mp3).samplerate
        ref = x / 32768.0 if sr == in_rate else ev.resample(x / 32768.0, sr, in_rate)
        rows.append({"clip": Path(path).stem, "setting": name, "rate": sr, **ev.plain_vs_restored(mp3, ref, sr)})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("originals", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    paths = ev.original_paths(args.originals)
    if not paths:
        sys.exit(f"no originals in {args.originals} (run tools/fetch_originals.py)")
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max(1, args.workers), mp_context=ctx) as ex:
        rows = [r for rs in ex.map(sweep_clip, map(str, paths)) for r in rs]
    print("clip        set    rate   verdict       cutoff   full P -> R     HF P -> R       LF P -> R    "
          "  HF level P -> R")
    for r in rows:
        P, R = r["lsd"]["plain"], r["lsd"]["restored"]
        w = ev.worse_bands(r)
        print(f"{r['clip']:10s}  {r['setting']:6s} {r['rate']:5d}  {r['verdict']:12s} {r['cutoff']:7.0f}  "
              + "  ".join(f"{P[b]:.3f} -> {R[b]:.3f}" for b in BANDS)
              + f"  {r['level_db']['plain']:+6.1f} -> {r['level_db']['restored']:+6.1f}"
              + ("  identical" if r["restore_is_noop"] else "") + (f"  WORSE: {', '.join(w)}" if w else ""))
    acted = [r for r in rows if not r["restore_is_noop"]]
    bad = [r for r in rows if ev.worse_bands(r)]
    print(f"\n{len(rows)} encodes, {len(acted)} restored (the others bit-identical to plain); "
          f"LSD worse than plain in some band: {len(bad)}"
          + (" (" + ", ".join(f"{r['clip']} {r['setting']}" for r in bad) + ")" if bad else ""))
    if acted:
        print("over the restored ones, mean LSD plain -> restored: "
              + ", ".join(f"{b} {ev.mean(r['lsd']['plain'][b] for r in acted):.3f} -> "
                          f"{ev.mean(r['lsd']['restored'][b] for r in acted):.3f}" for b in BANDS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
