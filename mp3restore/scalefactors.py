"""Step 3: scalefactors (ISO/IEC 11172-3 2.4.1.7 / 2.4.2.7; 13818-3 2.4.3.2 for LSF).

Scalefactors of one granule and channel are stored in an ``int32[39]`` array:

* long blocks: ``sf[sfb]``, sfb 0..21 (sfb 21 is never transmitted: 0);
* short blocks: ``sf[sfb * 3 + window]``, sfb 0..12 (sfb 12 is 0);
* mixed blocks: the long bands below line 36 first (``n_long`` = 8 for MPEG-1,
  6 for LSF, 3 at 8 kHz), then short sfb 3..12 at ``n_long + (sfb - 3) * 3 + window``.

``is_max[39]`` receives, for intensity stereo, the value of the intensity
position that is *illegal* in each band (7 for MPEG-1; ``2**slen - 1`` of the
band's partition for LSF, 13818-3 2.4.3.2), or -1 for bands not transmitted.
"""
import numpy as np

from ._jit import njit
from .sideinfo import BLOCK_TYPE, MIXED_BLOCK, PREFLAG, SCALEFAC_COMPRESS, SCFSI, WINDOW_SWITCHING, read_bits
from .tables.bands import LSF_NR_OF_SFB, SLEN

SLEN_ARR = np.array(SLEN, np.int64)  # [16, 2] (int64: the bit counts go to read_bits, compiled for int64)
LSF_NSFB = np.array(LSF_NR_OF_SFB, np.int32)  # [6, 3, 4]
# long-band groups that scfsi refers to (11172-3 Table 2.4.2.7 "scfsi_band")
SCFSI_BANDS = np.array([0, 6, 11, 16, 21], np.int32)


@njit
def n_long_mixed(sr_idx):
    """Number of long scalefactor bands in a mixed block (those below line 36)."""
    if sr_idx < 3:
        return 8
    if sr_idx == 8:
        return 3
    return 6


@njit
def read_scalefactors_mpeg1(buf, pos, g, gr, sf, sf_gr0, is_max):
    """MPEG-1 scalefactors; ``sf_gr0`` holds granule 0's values for scfsi."""
    sfc = g[SCALEFAC_COMPRESS]
    slen1 = SLEN_ARR[sfc, 0]
    slen2 = SLEN_ARR[sfc, 1]
    for i in range(39):
        is_max[i] = 7
    if g[WINDOW_SWITCHING] and g[BLOCK_TYPE] == 2:
        k = 0
        if g[MIXED_BLOCK]:
            for sfb in range(8):
                sf[k], pos = read_bits(buf, pos, slen1)
                k += 1
            n1 = 9  # short sfb 3..5, three windows
        else:
            n1 = 18  # short sfb 0..5
        for i in range(n1):
            sf[k], pos = read_bits(buf, pos, slen1)
            k += 1
        for i in range(18):  # short sfb 6..11
            sf[k], pos = read_bits(buf, pos, slen2)
            k += 1
        while k < 39:
            sf[k] = 0
            is_max[k] = -1
            k += 1
    else:
        scfsi = g[SCFSI] if gr == 1 else 0
        for grp in range(4):
            lo = SCFSI_BANDS[grp]
            hi = SCFSI_BANDS[grp + 1]
            n = slen1 if grp < 2 else slen2
            if (scfsi >> (3 - grp)) & 1:
                for sfb in range(lo, hi):
                    sf[sfb] = sf_gr0[sfb]
            else:
                for sfb in range(lo, hi):
                    sf[sfb], pos = read_bits(buf, pos, n)
        for k in range(21, 39):
            sf[k] = 0
            is_max[k] = -1
    return pos


@njit
def read_scalefactors_lsf(buf, pos, g, intensity_right, sf, is_max):
    """MPEG-2/2.5 LSF scalefactors; sets ``g[PREFLAG]``.  ``intensity_right``
    is True for the right channel of an intensity-stereo frame."""
    sfc = g[SCALEFAC_COMPRESS]
    # slen of the four partitions in locals (no per-call allocation)
    slen0 = 0
    slen1 = 0
    slen2 = 0
    slen3 = 0
    if intensity_right:
        isfc = sfc >> 1
        if isfc < 180:
            slen0 = isfc // 36
            slen1 = (isfc % 36) // 6
            slen2 = (isfc % 36) % 6
            tab = 3
        elif isfc < 244:
            isfc -= 180
            slen0 = (isfc % 64) >> 4
            slen1 = (isfc % 16) >> 2
            slen2 = isfc % 4
            tab = 4
        else:
            isfc -= 244
            slen0 = isfc // 3
            slen1 = isfc % 3
            tab = 5
        g[PREFLAG] = 0
    else:
        if sfc < 400:
            slen0 = (sfc >> 4) // 5
            slen1 = (sfc >> 4) % 5
            slen2 = (sfc & 15) >> 2
            slen3 = sfc & 3
            tab = 0
            g[PREFLAG] = 0
        elif sfc < 500:
            sfc -= 400
            slen0 = (sfc >> 2) // 5
            slen1 = (sfc >> 2) % 5
            slen2 = sfc & 3
            tab = 1
            g[PREFLAG] = 0
        else:
            sfc -= 500
            slen0 = sfc // 3
            slen1 = sfc % 3
            tab = 2
            g[PREFLAG] = 1
    if g[WINDOW_SWITCHING] and g[BLOCK_TYPE] == 2:
        kind = 2 if g[MIXED_BLOCK] else 1
    else:
        kind = 0
    k = 0
    for part in range(4):
        n = LSF_NSFB[tab, kind, part]
        bits = slen0 if part == 0 else (slen1 if part == 1 else (slen2 if part == 2 else slen3))
        for i in range(n):
            if k < 39:
                sf[k], pos = read_bits(buf, pos, bits)
                is_max[k] = (1 << bits) - 1
                k += 1
    while k < 39:
        sf[k] = 0
        is_max[k] = -1
        k += 1
    return pos
