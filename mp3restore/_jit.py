"""numba settings in one place.

Every kernel is compiled with ``cache=True`` so the first compile is stored on
disk (``__pycache__`` beside the module, or ``NUMBA_CACHE_DIR``).  ``fastmath``
stays off: the decoder must be reproducible bit for bit between the serial and
the threaded paths and between runs.
"""
from numba import njit as _njit

JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")


def njit(*args, **kwargs):
    """``numba.njit`` with the project's defaults (cached, GIL released)."""
    options = dict(JIT_OPTIONS)
    options.update(kwargs)
    if args and callable(args[0]):
        return _njit(**options)(args[0])
    return _njit(*args, **options)

# fastmath flags for kernels that only compute statistics (sums of squares and
# magnitudes in restoration): reassociation lets LLVM vectorise the sums.  The
# result stays deterministic for a given build (the threaded and serial paths
# run the same machine code); it may differ in the last bits between CPUs.
SUMS = {"reassoc"}
