"""A watch: something sampled from a thread while a scenario's change runs (the least margin of
each disruption budget, the fewest available pods of a release), once before, every half second
during and once after."""

from __future__ import annotations

import threading
from typing import Self


class Watch:
    """Subclasses say what one sample records (`sample`); `samples` counts them."""

    interval_seconds = 0.5

    def __init__(self) -> None:
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._take()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._take()

    def _take(self) -> None:
        self.sample()
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self._take()
