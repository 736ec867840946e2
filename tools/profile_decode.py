"""Time ``FrameDecoder.decode`` (the ``decode_frames`` kernel) on the bench files.

Usage: python tools/profile_decode.py [FILE ...]
Prints the median of 7 warm runs per file.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mp3restore.decoder import FrameDecoder  # noqa: E402
from mp3restore.stream import open_stream  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DEFAULT = [os.path.join(ROOT, "bench-data", "30s_cbr128.mp3"), os.path.join(ROOT, "bench-data", "30s_vbr2.mp3")]


def time_file(path, runs=7):
    stream = open_stream(path)
    dec = FrameDecoder(stream, stream.nframes)
    dec.decode(stream.first, stream.nframes)  # compile / warm up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        dec.decode(stream.first, stream.nframes)
        times.append(time.perf_counter() - t)
    return float(np.median(times)), float(np.min(times)), stream.nframes - stream.first


def main(argv):
    for path in argv or DEFAULT:
        med, best, n = time_file(path)
        print(f"{os.path.basename(path)}: {n} frames, decode median {med * 1e3:.2f} ms (min {best * 1e3:.2f} ms)")


if __name__ == "__main__":
    main(sys.argv[1:])
