"""Keras-style progress reporting for ``Sequential.fit``, kept out of the model class.

    Epoch 1/5
    12/148 [==>...........................] - 3s 21ms/step - loss: 0.4012 - accuracy: 0.8125
"""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """One epoch's progress line.

    Parameters
    ----------
    total_steps : batches in the epoch
    verbose : 0 silent, 1 a live line redrawn at most every 0.2 s, 2 one line at the end
    epoch, epochs : printed as ``Epoch {epoch}/{epochs}`` first, when both are given and ``verbose``
    stream : where to write (standard output by default)
    """

    def __init__(self, total_steps: int, verbose: int, epoch: int | None = None, epochs: int | None = None, stream=None):
        self.total, self.verbose, self.stream = total_steps, verbose, stream or sys.stdout
        self.start = time.perf_counter()
        self._last_draw = 0.0
        if verbose and epoch is not None and epochs is not None:
            self.stream.write(f"Epoch {epoch}/{epochs}\n")

    def line(self, step: int, logs: dict) -> str:
        """``step/total [=====>....] - 3s 21ms/step - loss: ...`` for the running means in ``logs``."""
        elapsed = time.perf_counter() - self.start
        width = 30
        done = int(width * step / self.total)
        bar = "=" * max(done - 1, 0) + (">" if done < width else "=") + "." * (width - done)
        per_step = 1000 * elapsed / max(step, 1)
        values = " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())
        return f"{step}/{self.total} [{bar}] - {elapsed:.0f}s {per_step:.0f}ms/step" + (f" - {values}" if values else "")

    def update(self, step: int, logs: dict) -> None:
        """After batch ``step`` (1-based): redraw the live line (verbose 1 only)."""
        now = time.perf_counter()
        if self.verbose == 1 and (now - self._last_draw > 0.2 or step == self.total):
            self.stream.write("\r" + self.line(step, logs))
            self.stream.flush()
            self._last_draw = now

    def finish(self, logs: dict) -> None:
        """At the end of the epoch: the final line, with the validation values when ``logs`` has them."""
        if self.verbose == 1:
            self.stream.write("\r" + self.line(self.total, logs) + "\n")
        elif self.verbose == 2:
            self.stream.write(self.line(self.total, logs) + "\n")
        self.stream.flush()
