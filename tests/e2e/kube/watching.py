"""A watch: something sampled from a thread while a scenario's change runs (the least margin of
each disruption budget, the fewest available pods of a release), once before, every half second
during and once after. It reads the API server over one kept-alive connection of its own (a
`kubectl` per sample cost a tenth of a CPU-second each: a quarter of a core while watching)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Self

from tests.e2e.kube.gateway_controller import ApiServer


class Watch:
    """Subclasses say what one sample records (`sample`), reading with `list`; `samples` counts
    them."""

    interval_seconds = 0.5

    def __init__(self, kubeconfig: Path) -> None:
        self._api = ApiServer.from_kubeconfig(kubeconfig)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        raise NotImplementedError

    def list(self, path: str) -> list[dict[str, Any]]:
        """The items of a list call, e.g. `/apis/apps/v1/namespaces/posts/replicasets`."""
        return self._api.items(path)

    def __enter__(self) -> Self:
        self._take()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._take()
        self._api.close()

    def _take(self) -> None:
        self.sample()
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self._take()
