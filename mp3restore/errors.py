"""Exception hierarchy: one root, specific subclasses.

Every error mp3restore raises on purpose derives from :class:`Mp3RestoreError`.
``recoverable`` tells a caller whether the problem concerns part of a stream
(decoding can go on after resynchronising) or the input as a whole.
"""


class Mp3RestoreError(Exception):
    """Root of every error raised by mp3restore."""

    recoverable = False


class InputError(Mp3RestoreError, ValueError):
    """The input cannot be read at all (missing file, wrong type, empty)."""


class EmptyInputError(InputError):
    """The input holds no bytes, or only tags and no audio frames."""


class NotMpegAudioError(InputError):
    """No MPEG audio frames were found in the input."""


class UnsupportedStreamError(Mp3RestoreError):
    """MPEG audio that this decoder does not handle (Layer I or II)."""


class StreamError(Mp3RestoreError):
    """Damage inside a stream (raised only in strict mode; otherwise concealed)."""

    recoverable = True


class CoefficientsError(Mp3RestoreError, ValueError):
    """A coefficients object or ``.npz`` file is inconsistent."""


class OutputError(Mp3RestoreError):
    """The output cannot be written (exists without overwrite, same as input, ...)."""


class JitDisabledError(Mp3RestoreError, RuntimeError):
    """A kernel was called with numba's JIT disabled (``NUMBA_DISABLE_JIT=1``): the
    kernels rely on numba's typed integer arithmetic and do not run as plain Python."""


class Mp3RestoreWarning(UserWarning):
    """Problems that do not stop decoding (CRC mismatches, concealed frames)."""
