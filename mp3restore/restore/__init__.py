"""Restoration: regenerate, in the MDCT domain and before synthesis, what the encoder removed.

Sub-steps (one module each, FAAD2-SBR style): :mod:`.plan` (cutoff, target,
cliff or band-limited content), :mod:`.envelope` (top-octave level, slope,
tonality), :mod:`.highband` (patching, envelope shaping, noise blend, stereo),
:mod:`.holes` (zeroed bands inside the coded band), :mod:`.kernel` (the
orchestrator over granules).  :class:`Restorer` carries the state from one
chunk of granules to the next; ``restore_coefficients`` runs it on a whole
:class:`~mp3restore.coefficients.Coefficients`.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import InputError
from .plan import LOOKAHEAD_FRAMES, Plan, make_plan, plan_stream

SALT = 0x5EED


def _warmup():
    from .holes import RUN_MAX
    from .kernel import HISTORY

    return max(RUN_MAX + 1, HISTORY) + 2  # + the headroom limiter's two granules


WARMUP_GRANULES = _warmup()


def check_options(strength, bandwidth):
    strength = float(strength)
    if not 0.0 <= strength <= 1.0:
        raise InputError(f"strength must be between 0 and 1, not {strength}")
    if bandwidth is not None:
        bandwidth = float(bandwidth)
        if not 1000.0 <= bandwidth <= 48000.0:
            raise InputError(f"bandwidth must be in Hz (1000..48000), not {bandwidth}")
    return strength, bandwidth


class Restorer:
    """Restores consecutive chunks of a stream's coefficients in place.

    Its state remembers a fixed span of granules (:data:`WARMUP_GRANULES`): a
    decode that starts that many granules early (the threaded decoder) reproduces
    it exactly."""

    def __init__(self, plan: Plan, samplerate, channels, strength=1.0):
        from ..scalefactors import n_long_mixed
        from ..tables.bands import SAMPLE_RATES, SFB_LONG, SFB_SHORT

        self.plan = plan
        self.strength = float(strength)
        self.active = (plan.highband or plan.holes) and self.strength > 0.0
        sr = SAMPLE_RATES.index(samplerate)
        self.sfb_long = np.array(SFB_LONG[sr], np.int64)
        self.sfb_short = np.array(SFB_SHORT[sr], np.int64)
        self.n_mixed = n_long_mixed(sr)
        from .kernel import HISTORY

        self.slope_hist = np.full((channels, HISTORY), np.nan)
        self.hole_runs = np.zeros((channels, 22), np.int32)
        self.prev_level = np.full(channels, -200.0)
        self._filled = None
        self._mdct = None

    def process(self, mdct, gi, sf, coded, joint, first_granule, bounded=False):
        """Restore ``mdct`` float32[G, C, 576] (granules ``first_granule...``) in place.

        ``coded``/``joint``: each granule's coded channels and joint-stereo mode
        extension (``Coefficients.coded_channels``, ``joint_modes``).
        ``bounded``: ``mdct`` and ``gi`` come straight from the decoder (not edited),
        so ``gi``'s last non-zero Huffman line bounds the lines of long blocks.

        Afterwards :meth:`added` gives what was added to these granules."""
        if not self.active or len(mdct) == 0:
            return
        from .kernel import restore_chunk

        p = self.plan
        G, C = mdct.shape[:2]
        if self._filled is None or len(self._filled) < G:
            self._filled = np.empty((G, C, 5), np.int32)
        self._mdct = mdct
        restore_chunk(mdct, gi, sf, coded, joint, int(first_granule), p.cutoff_line, p.passband_line,
                      p.target_line, p.highband, p.holes, self.strength, SALT, self.sfb_long, self.sfb_short,
                      self.n_mixed, self.slope_hist,
                      self.hole_runs, self.prev_level, self._filled[:G], bounded)

    def added(self, idx):
        """float32[len(idx), C, 576]: what the last :meth:`process` added to its granules
        ``idx`` (int64)."""
        from .kernel import added_lines

        out = np.empty((len(idx),) + self._mdct.shape[1:], np.float32)
        added_lines(self._mdct, self._filled, self.sfb_long, idx, out)
        return out


def restore_coefficients(coefficients, *, strength=1.0, bandwidth=None):
    """Return a restored copy of ``coefficients`` (the high band regenerated, holes filled).

    ``read(f, restore=True)`` equals ``synthesize(restore_coefficients(read_coefficients(f)))``.

    Parameters
    ----------
    coefficients : Coefficients
    strength : float, 0..1
        Scales everything restoration adds (0: nothing).
    bandwidth : float, optional
        Target bandwidth in Hz (default 20 kHz or Nyquist, whichever is lower).
    """
    strength, bandwidth = check_options(strength, bandwidth)
    c = coefficients
    out = dataclasses.replace(c, mdct=c.mdct.copy(), restored_from=c.mdct)
    fg = c.frame_granule
    look = int(fg[min(LOOKAHEAD_FRAMES, len(c.frame_header))])
    plan = plan_stream(c.stream_info(), c.mdct[:look], c.block_type[:look], 0, len(c.frame_header),
                       lambda a, b: (c.mdct[fg[a]:fg[b]], c.block_type[fg[a]:fg[b]]), bandwidth=bandwidth)
    r = Restorer(plan, c.samplerate, c.channels, strength)
    if not r.active:
        return dataclasses.replace(c, mdct=c.mdct.copy())
    r.process(out.mdct, np.ascontiguousarray(c.side_info, dtype=np.int32),
              np.ascontiguousarray(c.scalefactors, dtype=np.int16), c.coded_channels, c.joint_modes,
              c.first_sample // 576)
    return out
