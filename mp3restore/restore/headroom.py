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
from ..decoder import SynthState

LIMIT = 32767.0 / 32768.0


@njit
def granule_gains(pcm, added, gains):
    """Per granule, the factor for ``added`` so that ``|plain + a * added| <= max(LIMIT, |plain|)``.

    ``pcm``/``added`` float32[G*576, C], C-contiguous: each granule is one flat run
    of ``576 C`` values (one loop over it: twice as fast as a loop per channel)."""
    G = gains.shape[0]
    n = 576 * pcm.shape[1]
    ys = pcm.reshape(-1)
    ds = added.reshape(-1)
    for g in range(G):
        a = 1.0
        y_g = ys[g * n:(g + 1) * n]
        d_g = ds[g * n:(g + 1) * n]
        for i in range(n):
            y = y_g[i]
            if y > LIMIT or y < -LIMIT:
                d = d_g[i]
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
    n = 576 * pcm.shape[1]
    ys = pcm.reshape(-1)
    ds = added.reshape(-1)
    for g in range(gains.shape[0]):
        if gains[g] < 1.0:
            a = np.float32(gains[g])
            y_g = ys[g * n:(g + 1) * n]
            d_g = ds[g * n:(g + 1) * n]
            for i in range(n):
                y_g[i] = (y_g[i] - d_g[i]) + a * d_g[i]


@njit
def scale_runs(pcm, out, starts, ends, offsets):
    """For each run ``starts[r] .. ends[r]`` of granules of ``pcm`` (float32[G*576, C]),
    whose added part was synthesized into ``out`` from granule ``offsets[r]`` on:
    :func:`granule_gains`, then :func:`apply_gains`."""
    gains = np.empty(pcm.shape[0] // 576)
    for r in range(len(starts)):
        g, e, o = starts[r], ends[r], offsets[r]
        seg = pcm[g * 576:e * 576]
        add = out[o * 576:(o + e - g) * 576]
        granule_gains(seg, add, gains[:e - g])
        apply_gains(seg, add, gains[:e - g])


@njit
def _needs_reset(r, g, e, coded, C):
    """Whether run ``r`` (granules ``g .. e``) needs an all-zero granule before its
    context in the batch: not the first run (the batch starts from a zero state), and
    a granule of its context or of the run codes fewer than ``C`` channels (a mono
    frame of a stereo stream leaves channel 1's state as it was, so that state would
    come from the run before).  Otherwise the output of the run's granules depends
    only on them and their two granules of context (the IMDCT overlap is one granule,
    the polyphase history 15 of a granule's 18 slots), whatever came before.  (A run
    after the first starts at granule 2 or later: its context is in the chunk.)"""
    if r == 0:
        return False
    for i in range(g - 2, e):
        if coded[i] < C:
            return True
    return False


@njit
def batch_plan(over, k, coded, C):
    """The runs of overshooting granules of a chunk (``over`` bool[G]) and the batch
    that synthesizes what restoration added to them: per run its context (the two
    granules before it: from the ``k`` <= 2 kept from the chunk before when the run
    starts the chunk), then the run; an all-zero granule first where the state left
    by the run before could matter (:func:`_needs_reset`; a zero granule leaves the
    filterbank state all zero, as a fresh one).  So each run comes out as synthesized
    on its own from a zero state.
    Returns ``(starts, ends, offsets, resets, take, n)``: the runs, where each run's
    first granule sits in the batch, whether it has a zero granule, the chunk's
    granules the batch takes (in order) and the batch's length."""
    G = len(over)
    R = 0
    m = 0
    for g in range(G):
        if over[g] and (g == 0 or not over[g - 1]):
            R += 1
    starts = np.empty(R, np.int64)
    ends = np.empty(R, np.int64)
    offsets = np.empty(R, np.int64)
    resets = np.zeros(R, np.bool_)
    r = 0
    n = 0
    g = 0
    while g < G:
        if not over[g]:
            g += 1
            continue
        e = g
        while e < G and over[e]:
            e += 1
        a = max(0, g - 2)
        t = min(k, 2 - (g - a))
        resets[r] = _needs_reset(r, g, e, coded, C)
        n += resets[r] + t + e - a
        starts[r], ends[r], offsets[r] = g, e, n - (e - g)
        m += e - a
        r += 1
        g = e
    take = np.empty(m, np.int64)
    j = 0
    for r in range(R):
        for i in range(max(0, starts[r] - 2), ends[r]):
            take[j] = i
            j += 1
    return starts, ends, offsets, resets, take, n


@njit
def assemble(starts, ends, offsets, resets, chunk, tail, tail_bt, tail_mx, tail_coded, block_type, mixed, coded,
             A, bt, mx, cd):
    """Fill the batch of :func:`batch_plan` (``A`` float32[n, C, 576] with its ``bt``,
    ``mx``, ``cd``) from ``chunk`` (what was added to its ``take`` granules) and the
    granules kept from the chunk before (``tail``...)."""
    C = A.shape[1]
    k = len(tail)
    j = 0
    for r in range(len(starts)):
        g, e = starts[r], ends[r]
        a = max(0, g - 2)
        t = min(k, 2 - (g - a))
        o = offsets[r] - (g - a) - t  # the run's context
        if resets[r]:
            A[o - 1] = 0.0
            for c in range(C):
                bt[o - 1, c] = 0
                mx[o - 1, c] = 0
            cd[o - 1] = C
        for i in range(t):
            A[o + i] = tail[k - t + i]
            bt[o + i] = tail_bt[k - t + i]
            mx[o + i] = tail_mx[k - t + i]
            cd[o + i] = tail_coded[k - t + i]
        for i in range(a, e):
            q = o + t + i - a
            A[q] = chunk[j]
            bt[q] = block_type[i]
            mx[q] = mixed[i]
            cd[q] = coded[i]
            j += 1


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
        ``added(idx)`` returns float32[len(idx), C, 576], the coefficients restoration
        added to the granules ``idx`` (int64, increasing) of these G (asked for only
        when needed: the last two granules, and each run of overshooting granules
        with the two before it).  All runs of a chunk are synthesized in one call
        (:func:`batch_plan`)."""
        G = len(block_type)
        C = pcm.shape[1]
        if G == 0:
            return
        over = beyond[:G] > 0
        if over.any():
            starts, ends, offsets, resets, take, n = batch_plan(over, len(self.tail), coded, C)
            A = np.empty((n, C, 576), np.float32)
            bt = np.empty((n, C), np.int32)
            mx = np.empty((n, C), np.int32)
            cd = np.empty(n, np.int32)
            assemble(starts, ends, offsets, resets, added(take), self.tail, self.tail_bt, self.tail_mx,
                     self.tail_coded, block_type, mixed, coded, A, bt, mx, cd)
            out = np.empty((n * 576, C), np.float32)
            SynthState(C).run(A, bt, mx, cd, out)
            scale_runs(pcm, out, starts, ends, offsets)
        # the last two granules (with those of the chunk before when this one has fewer)
        a = max(0, G - 2)
        self.tail = _last_two(self.tail, added(np.arange(a, G)))
        self.tail_bt = _last_two(self.tail_bt, block_type[a:])
        self.tail_mx = _last_two(self.tail_mx, mixed[a:])
        self.tail_coded = _last_two(self.tail_coded, coded[a:])


def _last_two(old, new):
    """The last two entries of ``old`` followed by ``new`` (a copy of ``new`` when it has two)."""
    return new.copy() if len(new) >= 2 else np.concatenate([old, new])[-2:]
