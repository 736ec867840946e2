"""Scalefactor band tables of Layer III and the small scalefactor tables.

Sampling rates are indexed as in :data:`SAMPLE_RATES` everywhere in the
project: 0..2 MPEG-1 (ISO/IEC 11172-3), 3..5 MPEG-2 lower sampling frequencies
(ISO/IEC 13818-3), 6..8 "MPEG-2.5" (not an ISO standard).

Sources
-------
* ``SFB_LONG`` / ``SFB_SHORT`` rows 0..2: ISO/IEC 11172-3 Table B.8
  ("Layer III scalefactor bands").
* rows 3..5: ISO/IEC 13818-3 Table B.2.
* rows 6..8 (MPEG-2.5, 11.025 / 12 / 8 kHz): no ISO table exists; these are the
  values common decoders and encoders use (FFmpeg, LAME): 11.025 and 12 kHz use
  the 16 kHz tables of 13818-3 (whose long-block edges equal those of
  22.05 kHz), 8 kHz has its own table.
* ``PRETAB``: ISO/IEC 11172-3 Table B.6 (preemphasis, ``pretab``).
* ``SLEN``: ISO/IEC 11172-3 2.4.2.7, ``scalefac_compress`` -> (slen1, slen2).
* ``LSF_NR_OF_SFB``: ISO/IEC 13818-3 2.4.3.2, table of ``nr_of_sfb_block``.

The numbers were read from the ISO reference software (dist10
``lsf/decoder/decode.c``), FFmpeg (``libavcodec/mpegaudiodectab.h``), LAME
(``libmp3lame/tables.c``) and libmad (``layer3.c``), which agree except where
noted below.

Band edges are in spectral lines: a long-block band ``b`` covers lines
``SFB_LONG[r][b] <= k < SFB_LONG[r][b + 1]`` of the 576 of a granule (22
bands), a short-block band covers ``SFB_SHORT[r][b] <= k < SFB_SHORT[r][b + 1]``
of the 192 lines of one short window (13 bands).
"""

__all__ = ["SAMPLE_RATES", "SFB_LONG", "SFB_SHORT", "PRETAB", "SLEN", "LSF_NR_OF_SFB"]

SAMPLE_RATES = (44100, 48000, 32000, 22050, 24000, 16000, 11025, 12000, 8000)

# Long blocks: 23 edges (22 bands) per sampling rate, in the order of SAMPLE_RATES.
_LONG_44100 = (0, 4, 8, 12, 16, 20, 24, 30, 36, 44, 52, 62, 74, 90, 110, 134, 162, 196, 238, 288, 342, 418, 576)
_LONG_48000 = (0, 4, 8, 12, 16, 20, 24, 30, 36, 42, 50, 60, 72, 88, 106, 128, 156, 190, 230, 276, 330, 384, 576)
_LONG_32000 = (0, 4, 8, 12, 16, 20, 24, 30, 36, 44, 54, 66, 82, 102, 126, 156, 194, 240, 296, 364, 448, 550, 576)
_LONG_22050 = (0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576)
# 24 kHz, edge 18: 332 as in the printed 13818-3 table (LAME, libmad).  The ISO
# reference software (dist10) and, following it, FFmpeg and mpg123 use 330; the
# two values differ only in which band lines 330 and 331 belong to.  The
# conformance stream M2L3_compl24 settles it: 332 decodes it with max |diff|
# 1 LSB, 330 gives 55.7 dB PSNR (tests/test_conformance.py).
_LONG_24000 = (0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 114, 136, 162, 194, 232, 278, 332, 394, 464, 540, 576)
_LONG_16000 = _LONG_22050
_LONG_8000 = (0, 12, 24, 36, 48, 60, 72, 88, 108, 132, 160, 192, 232, 280, 336, 400, 476, 566, 568, 570, 572, 574,
              576)

SFB_LONG = (
    _LONG_44100,
    _LONG_48000,
    _LONG_32000,
    _LONG_22050,
    _LONG_24000,
    _LONG_16000,
    _LONG_16000,  # 11025 Hz (MPEG-2.5): as 16 kHz
    _LONG_16000,  # 12000 Hz (MPEG-2.5): as 16 kHz
    _LONG_8000,
)

# Short blocks: 14 edges (13 bands) per window, lines 0..192.
_SHORT_44100 = (0, 4, 8, 12, 16, 22, 30, 40, 52, 66, 84, 106, 136, 192)
_SHORT_48000 = (0, 4, 8, 12, 16, 22, 28, 38, 50, 64, 80, 100, 126, 192)
_SHORT_32000 = (0, 4, 8, 12, 16, 22, 30, 42, 58, 78, 104, 138, 180, 192)
_SHORT_22050 = (0, 4, 8, 12, 18, 24, 32, 42, 56, 74, 100, 132, 174, 192)
_SHORT_24000 = (0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 136, 180, 192)
_SHORT_16000 = (0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 134, 174, 192)
_SHORT_8000 = (0, 8, 16, 24, 36, 52, 72, 96, 124, 160, 162, 164, 166, 192)

SFB_SHORT = (
    _SHORT_44100,
    _SHORT_48000,
    _SHORT_32000,
    _SHORT_22050,
    _SHORT_24000,
    _SHORT_16000,
    _SHORT_16000,  # 11025 Hz (MPEG-2.5): as 16 kHz
    _SHORT_16000,  # 12000 Hz (MPEG-2.5): as 16 kHz
    _SHORT_8000,
)

# Added to the long-block scalefactors of bands 0..21 when preflag is set.
PRETAB = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 2, 0)

# MPEG-1: scalefac_compress (0..15) -> (slen1, slen2), the bit widths of the
# scalefactors of the lower and the upper bands.
SLEN = (
    (0, 0), (0, 1), (0, 2), (0, 3),
    (3, 0), (1, 1), (1, 2), (1, 3),
    (2, 1), (2, 2), (2, 3), (3, 1),
    (3, 2), (3, 3), (4, 2), (4, 3),
)

# MPEG-2 LSF: number of scalefactor bands in each of the (up to) 4 partitions
# that share one slen, indexed [table][block kind][partition].
# table 0..2: scalefac_compress < 400, < 500, < 512 (preflag set for table 2);
# table 3..5: right channel of intensity stereo, (scalefac_compress >> 1) < 180,
# < 244, < 255.  Block kind 0: long blocks (21 bands); 1: short blocks
# (12 bands x 3 windows = 36 values); 2: mixed blocks (6 long bands, then short
# bands 3..11 x 3 windows = 6 + 27 = 33 values).
LSF_NR_OF_SFB = (
    ((6, 5, 5, 5), (9, 9, 9, 9), (6, 9, 9, 9)),
    ((6, 5, 7, 3), (9, 9, 12, 6), (6, 9, 12, 6)),
    ((11, 10, 0, 0), (18, 18, 0, 0), (15, 18, 0, 0)),
    ((7, 7, 7, 0), (12, 12, 12, 0), (6, 15, 12, 0)),
    ((6, 6, 6, 3), (12, 9, 9, 6), (6, 12, 9, 6)),
    ((8, 8, 5, 0), (15, 12, 9, 0), (6, 18, 9, 0)),
)
