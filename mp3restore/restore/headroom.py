"""Restoration, sub-step 5: never clip because of restoration.

Synthesis is linear, so the restored output is ``plain + added`` where
``added`` is the synthesis of what restoration put into the coefficients.
When a chunk's restored output exceeds full scale, ``added`` is synthesized
exactly for that chunk (from a zero state two granules back: the filterbank
remembers less than two granules, so the result is the same as from the stream
start) and, in each granule where ``plain + added`` would exceed
``max(LIMIT, |plain|)``, ``added`` is scaled by the largest factor that keeps
it in range.  Granules without overshoot are untouched, so the result does not
depend on how the stream is cut into chunks.
"""
import numpy as np

from .._jit import njit

LIMIT = 32767.0 / 32768.0


@njit
def granule_gains(pcm, added, gains):
    """Per granule, the factor for ``added`` so that ``|plain + a * added| <= max(LIMIT, |plain|)``."""
    G = gains.shape[0]
    C = pcm.shape[1]
    for g in range(G):
        a = 1.0
        for i in range(g * 576, (g + 1) * 576):
            for c in range(C):
                y = pcm[i, c]
                if y > LIMIT or y < -LIMIT:
                    d = added[i, c]
                    p = y - d
                    bound = max(LIMIT, abs(p))
                    if d > 0.0:
                        need = (bound - p) / d
                    elif d < 0.0:
                        need = (-bound - p) / d
                    else:
                        need = 1.0
                    a = min(a, max(0.0, need))
        gains[g] = a


@njit
def exceeds(pcm, limit):
    """True when any sample of ``pcm`` is beyond +-``limit``."""
    flat = pcm.reshape(-1)
    for i in range(flat.shape[0]):
        if flat[i] > limit or flat[i] < -limit:
            return True
    return False


@njit
def apply_gains(pcm, added, gains):
    for g in range(gains.shape[0]):
        a = gains[g]
        if a < 1.0:
            for i in range(g * 576, (g + 1) * 576):
                for c in range(pcm.shape[1]):
                    pcm[i, c] = (pcm[i, c] - added[i, c]) + np.float32(a) * added[i, c]


class Headroom:
    """Applies the rule above chunk after chunk (keeps two granules of context)."""

    def __init__(self, channels):
        self.tail = np.zeros((0, channels, 576), np.float32)
        self.tail_bt = np.zeros((0, channels), np.int32)
        self.tail_mx = np.zeros((0, channels), np.int32)
        self.tail_coded = np.zeros(0, np.int32)

    def apply(self, pcm, mdct, plain, block_type, mixed, coded):
        """``pcm`` float32[G*576, C]: output of the restored ``mdct`` float32[G, C, 576]
        whose unrestored coefficients are ``plain``; fixed in place."""
        from ..decoder import SynthState

        G, C = mdct.shape[:2]
        if G and exceeds(pcm, LIMIT):
            k = len(self.tail)
            added_mdct = np.concatenate([self.tail, mdct - plain])
            bt = np.concatenate([self.tail_bt, block_type])
            mx = np.concatenate([self.tail_mx, mixed])
            cd = np.concatenate([self.tail_coded, coded])
            out = np.empty(((G + k) * 576, C), np.float32)
            SynthState(C).run(added_mdct, bt, mx, cd, out)
            added = out[k * 576:]
            gains = np.ones(G)
            granule_gains(pcm, added, gains)
            apply_gains(pcm, added, gains)
        keep = min(2, G)
        self.tail = np.concatenate([self.tail, mdct[G - keep:] - plain[G - keep:]])[-2:]
        self.tail_bt = np.concatenate([self.tail_bt, block_type[G - keep:]])[-2:]
        self.tail_mx = np.concatenate([self.tail_mx, mixed[G - keep:]])[-2:]
        self.tail_coded = np.concatenate([self.tail_coded, coded[G - keep:]])[-2:]
