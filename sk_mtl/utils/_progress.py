"""Progress bars for long loops (tqdm), free of torch so any estimator can use them.

Bars are drawn on a terminal only. Off a terminal (a log file, a CI job, a
notebook's captured stream) a bar's redraws would leave lines of debris such as
``0%| | 0/49``; :func:`progress` writes a few plain lines there instead.
"""

import sys

__all__ = ["PROGRESS_VERBOSITY", "is_terminal", "progress"]

# verbose at or above which progress bars are shown.
PROGRESS_VERBOSITY = 2

# Off a terminal, progress() writes a line at every tenth of the loop.
_PLAIN_LINES = 10


def is_terminal(stream):
    """Whether ``stream`` is an open terminal (where a bar can redraw itself)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def progress(iterable, verbose, desc, total=None):
    """``iterable`` with progress shown when ``verbose >= 2``, else unchanged.

    For the long loops outside a network's epochs: rounds and folds of a
    meta-estimator, batches of texts being embedded. On a terminal, a tqdm bar
    on stderr; elsewhere, plain lines ``"<desc>: i/n"`` on stderr, at most about
    ten per loop.

    Examples
    --------
    >>> from sk_mtl.utils._progress import progress
    >>> sum(progress(range(4), verbose=0, desc="folds"))
    6
    """
    if verbose is None or verbose is False or int(verbose) < PROGRESS_VERBOSITY:
        return iterable
    if not is_terminal(sys.stderr):
        return _plain_progress(iterable, desc, total)
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)


def _plain_progress(iterable, desc, total):
    """Yield from ``iterable``, writing ``"<desc>: i/n"`` lines to stderr."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    shown = 0
    for i, item in enumerate(iterable, start=1):
        yield item
        if total is None:
            print(f"{desc}: {i}", file=sys.stderr, flush=True)
        elif i * _PLAIN_LINES // total > shown or i == total:
            shown = i * _PLAIN_LINES // total
            print(f"{desc}: {i}/{total}", file=sys.stderr, flush=True)
