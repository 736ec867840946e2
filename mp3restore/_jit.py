"""numba settings in one place.

Every kernel is compiled with ``cache=True`` so the first compile is stored on
disk (``__pycache__`` beside the module, or ``NUMBA_CACHE_DIR``).  ``fastmath``
stays off in the decoder: it must be reproducible bit for bit between the serial
and the threaded paths and between runs (restoration's statistics use
:data:`SUMS`).

Compile time (the first run after installing): numba types a call from one
kernel to another with the caller's argument types, and a constant argument
has a literal type (``Literal[int](32)``), so every distinct constant passed to
a kernel would compile that kernel once more.  :func:`njit` makes calls from
jitted code use the plain types (``int64``), so each kernel compiles once per
array layout; LLVM still sees the constants where it inlines a call.
"""
import functools

from numba import njit as _njit
from numba.core import types as _types

# no_cfunc_wrapper: numba also compiles, for every kernel, a C-callable wrapper
# that only first-class function values (a kernel passed as an argument) and
# inspect_cfg use; none here, and skipping it saves ~7% of the first compile.
JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", no_cfunc_wrapper=True)


class _NotCompiled:
    """What a kernel is with ``NUMBA_DISABLE_JIT=1``: calling it raises
    :class:`~mp3restore.errors.JitDisabledError` (the kernels rely on numba's typed
    integer arithmetic, int32 and uint8 values that numpy would overflow or wrap
    differently, so as plain Python they would fail or, worse, decode wrongly);
    ``py_func`` is the Python function, as on a dispatcher."""

    def __init__(self, func):
        self.py_func = func
        functools.update_wrapper(self, func)

    def __call__(self, *args, **kwargs):
        from .errors import JitDisabledError

        raise JitDisabledError(f"{self.py_func.__name__}: mp3restore's kernels need numba's JIT; "
                               "unset NUMBA_DISABLE_JIT")


def _plain_calls(dispatcher):
    """Make calls from jitted code to ``dispatcher`` drop literal argument types.
    (With ``NUMBA_DISABLE_JIT=1`` numba hands back the Python function: see :class:`_NotCompiled`.)"""
    if not hasattr(dispatcher, "get_call_template"):
        return _NotCompiled(dispatcher)
    get_call_template = dispatcher.get_call_template

    def plain_call_template(args, kws):
        args = tuple(_types.unliteral(a) for a in args)
        kws = {k: _types.unliteral(v) for k, v in kws.items()}
        return get_call_template(args, kws)

    dispatcher.get_call_template = plain_call_template
    return dispatcher


def njit(*args, **kwargs):
    """``numba.njit`` with the project's defaults (cached, GIL released), compiled
    for plain (non-literal) argument types when called from another kernel."""
    options = dict(JIT_OPTIONS)
    options.update(kwargs)
    if args and callable(args[0]):
        return _plain_calls(_njit(**options)(args[0]))
    decorate = _njit(*args, **options)
    return lambda func: _plain_calls(decorate(func))


# fastmath flags for kernels that only compute statistics (sums of squares and
# magnitudes in restoration): reassociation lets LLVM vectorise the sums.  The
# result stays deterministic for a given build (the threaded and serial paths
# run the same machine code); it may differ in the last bits between CPUs.
SUMS = {"reassoc"}


def needs_compile(*dispatchers):
    """Whether a call would compile one of ``dispatchers`` (kernels) first: none of
    its machine code is in memory or in numba's on-disk cache (the first run after
    installing or upgrading, or an unwritable cache).  Reads the cache's index only;
    compiles nothing.  False when that cannot be told (numba's cache layout is not
    public API)."""
    try:
        return any(not d.overloads and not d._cache._cache_file._load_index() for d in dispatchers)
    except Exception:  # noqa: BLE001  (a numba without this layout, or NUMBA_DISABLE_JIT: say nothing)
        return False
