#!/usr/bin/env python3
"""Where the high-band level error of one encode comes from, granule by granule.

    python tools/level_breakdown.py ORIGINAL.wav SETTING      (SETTING: 64k, 96k, 128k, V5, 192k)

The original is encoded with the setting and at 320 kbps (LAME codes to 20.5 kHz
there, with the same framing and block decisions in nearly every granule).  The
320 kbps encode's MDCT lines stand in for the truth above the cutoff.  For each
kind of granule (long, start, stop, short; and whether its own coded band ends
more than 40 lines below the stream's cutoff) it prints the energy restoration
put from the setting's cutoff to 20 kHz over the truth's (dB), and each kind's
share of both.  Short granules are compared in their stored (window-interleaved)
order, which keeps lines within a scalefactor band of the same frequency.

`tools/evaluate.py` measures the same error on the decoded audio, for all the
clips together.  This tool says which granules carry it.

It also prints the power the encode kept just below its cutoff (0.8 to 0.95 of
it, where restoration's envelope takes its level) over the truth's there, in
the long granules, as coded and with the estimate of the power the quantizer
zeroed (``mp3restore.restore.envelope.zero_line_power``) added.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

KIND = {0: "long", 1: "start", 2: "short", 3: "stop"}
BELOW = 40  # lines: a granule whose coded band ends this far below the stream's cutoff


def breakdown(restored, truth, block_type, last, kc, kt):
    """Per kind of granule: ``{kind: (granule-channels, restored energy, truth energy)}``.

    ``restored``, ``truth``: float[G, C, 576] MDCT lines; ``block_type`` int[G]
    (granule, channel 0); ``last`` int[G, C]: one past the highest coded line of
    the encode before restoration; ``kc``/``kt``: lines of the cutoff and the top."""
    out = {}
    for g in range(len(restored)):
        for c in range(restored.shape[1]):
            kind = KIND.get(int(block_type[g]), "long")
            if kind != "short" and last[g, c] < kc - BELOW:
                kind += ", coded band ends low"
            n, a, o = out.get(kind, (0, 0.0, 0.0))
            a += float(np.sum(np.asarray(restored[g, c, kc:kt], np.float64) ** 2))
            o += float(np.sum(np.asarray(truth[g, c, kc:kt], np.float64) ** 2))
            out[kind] = (n + 1, a, o)
    return out


def edge_power(coded, truth, kc):
    """Power of ``coded`` (a :class:`~mp3restore.coefficients.Coefficients`) in
    lines ``0.8 kc .. 0.95 kc`` of its long granules (in both encodes) over
    that of ``truth`` (float[G, C, 576]), as coded and with the quantizer's
    zeroed power estimated: ``(coded_db, estimated_db)``."""
    from mp3restore.restore.envelope import NB, cap_range, zero_line_power
    from mp3restore.tables.bands import SAMPLE_RATES, SFB_LONG

    sfb = np.array(SFB_LONG[SAMPLE_RATES.index(coded.samplerate)], np.int64)
    nch, joint = coded.coded_channels, coded.joint_modes
    lo, hi = cap_range(kc)
    miss = np.zeros((2, NB + 1))
    bits = np.empty((2, 9), np.uint64)
    p_coded = p_miss = p_truth = 0.0
    for g in range(min(len(truth), len(coded.mdct))):
        if coded.block_type[g, 0] == 2 or joint[g] & 1:
            continue
        x, gi, sf = coded.mdct[g], coded.side_info[g], coded.scalefactors[g]
        c1 = min(1, x.shape[0] - 1)
        zero_line_power(x[0], x[c1], nch[g], (joint[g] & 2) != 0, gi[0], gi[c1], sf[0], sf[c1], sfb, kc,
                        miss[0], miss[1], bits)
        p_coded += float(np.sum(np.asarray(x[:, lo:hi], np.float64) ** 2))
        p_miss += float(miss[:x.shape[0], NB].sum())
        p_truth += float(np.sum(np.asarray(truth[g, :, lo:hi], np.float64) ** 2))
    return db(p_coded / p_truth), db((p_coded + p_miss) / p_truth)


def db(x):
    return 10 * np.log10(x) if x > 0 else float("-inf")


def main(argv=None):
    import evaluate as E
    from mp3restore.coefficients import read_coefficients
    from mp3restore.restore import restore_coefficients
    from mp3restore.restore.lines import last_nonzero

    if argv is None:
        argv = sys.argv[1:]
    if len(argv) != 2 or argv[1] not in E.SETTINGS:
        sys.exit(__doc__.split("\n\n")[1])
    path, setting = Path(argv[0]), argv[1]
    pcm = E.load_original(path)
    truth = read_coefficients(io.BytesIO(E.encode(pcm, E.SR, bit_rate=320)))
    coded = read_coefficients(io.BytesIO(E.encode(pcm, E.SR, **E.SETTINGS[setting])))
    restored = restore_coefficients(coded)
    cutoff = E.measured_cutoff(E.SETTINGS[setting], channels=pcm.shape[1])
    kc, kt = int(cutoff * 1152 / E.SR), int(E.target_hz() * 1152 / E.SR)
    G = min(len(truth.mdct), len(coded.mdct))
    same = np.mean(truth.block_type[:G, 0] == coded.block_type[:G, 0])
    last = np.array([[last_nonzero(coded.mdct[g, c]) for c in range(coded.mdct.shape[1])] for g in range(G)])
    parts = breakdown(restored.mdct[:G], truth.mdct[:G], coded.block_type[:G, 0], last, kc, kt)
    ta = sum(p[1] for p in parts.values())
    to = sum(p[2] for p in parts.values())
    print(f"{path.stem} {setting}: cutoff {cutoff:.0f} Hz (lines {kc}..{kt}); block types agree with "
          f"the 320k encode in {100 * same:.1f} % of granules")
    print(f"  all granules: restored/truth {db(ta / to):+.1f} dB")
    kept, estimated = edge_power(coded, truth.mdct, kc)
    print(f"  just below the cutoff (0.8..0.95 of it, long granules): coded/truth {kept:+.1f} dB, "
          f"with the quantizer's zeroed power estimated {estimated:+.1f} dB")
    print(f"  {'kind':32s} {'n':>6s} {'restored/truth':>15s} {'share of truth':>15s} {'share of restored':>18s}")
    for kind, (n, a, o) in sorted(parts.items()):
        ratio = f"{db(a / o):+14.1f}" if o > 0 else f"{'(truth 0)':>14s}"
        print(f"  {kind:32s} {n:6d} {ratio}  {100 * o / to:14.1f}% {100 * a / ta:17.1f}%")


if __name__ == "__main__":
    main()
