"""Restoration, sub-step 5: never clip because of restoration.

Synthesis is linear, so the restored output is ``plain + added`` where
``added`` is the synthesis of what restoration put into the coefficients.
When a granule's restored output exceeds full scale, ``added`` is synthesized
exactly for the overshooting granules (from a zero state two granules back:
the filterbank remembers less than two granules, so the result is the same as
from the stream start) and, in each granule where ``plain + added`` would exceed
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
        self.beyond = np.zeros(0, np.int32)  # per granule, the samples over LIMIT (synthesize)
        self.tail = np.zeros((0, channels, 576), np.float32)
        self.tail_bt = np.zeros((0, channels), np.int32)
        self.tail_mx = np.zeros((0, channels), np.int32)
        self.tail_coded = np.zeros(0, np.int32)

    def synthesize(self, state, mdct, block_type, mixed, coded, pcm, added):
        """``state.run`` (a :class:`~mp3restore.decoder.SynthState`) of these restored
        granules into ``pcm``, counting each granule's samples over ``LIMIT`` as it goes,
        then :meth:`apply`."""
        G = len(mdct)
        if len(self.beyond) < G:
            self.beyond = np.empty(G, np.int32)
        state.run(mdct, block_type, mixed, coded, pcm, self.beyond, LIMIT)
        self.apply(pcm, added, block_type, mixed, coded, self.beyond)

    def apply(self, pcm, added, block_type, mixed, coded, beyond):
        """Keep what restoration added to these G granules from clipping.

        ``pcm`` float32[G*576, C]: restored output, fixed in place; ``beyond``: its
        samples beyond +-``LIMIT`` per granule, as the synthesis counted them
        (``SynthState.run(..., beyond, LIMIT)``);
        ``added(a, b)`` returns float32[b - a, C, 576], the coefficients restoration
        added to granules ``a..b`` (asked for only when needed: the last two
        granules, and each run of overshooting granules with the two before it)."""
        from ..decoder import SynthState

        G = len(block_type)
        C = pcm.shape[1]
        if G == 0:
            return
        over = beyond[:G] > 0
        if over.any():
            k = len(self.tail)
            # runs of overshooting granules, each synthesized from two granules before it
            g = 0
            while g < G:
                if not over[g]:
                    g += 1
                    continue
                e = g
                while e < G and over[e]:
                    e += 1
                a = max(0, g - 2)
                t = min(k, 2 - (g - a))  # context granules still needed from before the chunk
                added_mdct = np.concatenate([self.tail[k - t:], added(a, e)])
                bt = np.concatenate([self.tail_bt[k - t:], block_type[a:e]])
                mx = np.concatenate([self.tail_mx[k - t:], mixed[a:e]])
                cd = np.concatenate([self.tail_coded[k - t:], coded[a:e]])
                lead = len(added_mdct) - (e - g)
                out = np.empty((len(added_mdct) * 576, C), np.float32)
                SynthState(C).run(added_mdct, bt, mx, cd, out)
                seg = pcm[g * 576:e * 576]
                gains = np.ones(e - g)
                granule_gains(seg, out[lead * 576:], gains)
                apply_gains(seg, out[lead * 576:], gains)
                g = e
        # the last two granules (with those of the chunk before when this one has fewer)
        a = max(0, G - 2)
        self.tail = _last_two(self.tail, added(a, G))
        self.tail_bt = _last_two(self.tail_bt, block_type[a:])
        self.tail_mx = _last_two(self.tail_mx, mixed[a:])
        self.tail_coded = _last_two(self.tail_coded, coded[a:])


def _last_two(old, new):
    """The last two entries of ``old`` followed by ``new`` (a copy of ``new`` when it has two)."""
    return new.copy() if len(new) >= 2 else np.concatenate([old, new])[-2:]
