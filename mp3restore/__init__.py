"""mp3restore: an MPEG-1/2/2.5 Layer III decoder in Python (numba kernels) that
exposes the coded MDCT representation and restores what the encoder removed.

Heavy modules (numba kernels) are imported on first use, so ``import
mp3restore`` and ``mp3restore --help`` stay instant.
"""
from .errors import (CoefficientsError, EmptyInputError, InputError, JitDisabledError, Mp3RestoreError,
                     Mp3RestoreWarning, NotMpegAudioError, OutputError, StreamError, UnsupportedStreamError)

__version__ = "0.1.0"

__all__ = [
    "read", "blocks", "info", "open", "read_coefficients", "synthesize", "restore_coefficients",
    "Mp3RestoreError", "InputError", "EmptyInputError", "NotMpegAudioError", "UnsupportedStreamError",
    "StreamError", "CoefficientsError", "OutputError", "JitDisabledError", "Mp3RestoreWarning",
]

_LAZY = {
    "read": "api", "blocks": "api", "info": "api", "open": "api", "Mp3File": "api",
    "read_coefficients": "coefficients", "synthesize": "coefficients", "load_coefficients": "coefficients",
    "Coefficients": "coefficients", "restore_coefficients": "restore",
}


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'mp3restore' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
