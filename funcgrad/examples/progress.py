"""The progress bar of the examples: tqdm's on a terminal where it is installed (the
``examples`` extra), else a line of text redrawn in place.

Logs and pipes (and the tests) get one plain line per update, which stays readable there:
``epoch 3/30 [##------]  loss 0.1234  test acc 0.9500  1.2s``.
"""
from __future__ import annotations

import sys
import time


class ProgressBar:
    """``update(done, **metrics)`` after each of ``total`` steps named ``label``.

    >>> import io
    >>> stream = io.StringIO()
    >>> bar = ProgressBar(2, stream, width=4)
    >>> bar.update(1, loss=0.5)
    >>> stream.getvalue().split("  ")[:2]
    ['epoch 1/2 [##--]', 'loss 0.5000']
    """

    def __init__(self, total: int, stream=None, width: int = 24, label: str = "epoch"):
        self.total, self.width, self.label = total, width, label
        self.stream = sys.stdout if stream is None else stream
        self.start = time.perf_counter()
        self.done = 0
        self._tqdm = None
        self.in_place = getattr(self.stream, "isatty", lambda: False)()
        if self.in_place:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self._tqdm = tqdm(total=total, file=self.stream, unit=label, desc=label)

    def update(self, done: int, **metrics) -> None:
        shown = {name.replace("_", " "): f"{value:.4f}" for name, value in metrics.items()}
        if self._tqdm is not None:
            self._tqdm.set_postfix(shown, refresh=False)
            self._tqdm.update(done - self.done)
            self.done = done
            if done >= self.total:
                self._tqdm.close()
            return
        self.done = done
        filled = round(self.width * done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        values = "  ".join(f"{name} {value}" for name, value in shown.items())
        line = (f"{self.label} {done:>{len(str(self.total))}}/{self.total} [{bar}]  {values}  "
                f"{time.perf_counter() - self.start:.1f}s")
        if self.in_place:
            self.stream.write("\r" + line + ("\n" if done >= self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
