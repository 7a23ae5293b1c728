"""Progress on long work: a bar on a terminal, periodic log lines otherwise (Galaxy, Nextflow, CI)."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("helixer_tools")


class Progress:
    """Counts work done out of ``total``; use as a context manager and call ``update(n)``."""

    def __init__(self, total: int, desc: str, unit: str = "bp", every_s: float = 30.0, enabled: bool = True):
        self.total, self.desc, self.unit, self.every_s = total, desc, unit, every_s
        self.done = 0
        self.bar = None
        self.enabled = enabled
        self.start = self.last = time.monotonic()
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if self.enabled and now - self.last >= self.every_s:
            self.last = now
            pct = 100.0 * self.done / self.total if self.total else 100.0
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate else float("inf")
            log.info("%s: %.1f%% (%d of %d %s), about %.0f s left", self.desc, pct, self.done, self.total, self.unit, eta)

    def set_total(self, total: int) -> None:
        """The total, once it is known (a download's size comes with the server's answer)."""
        self.total = total
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and exc[0] is None:
            log.info("%s: done, %d %s in %.1f s", self.desc, self.done, self.unit, time.monotonic() - self.start)
