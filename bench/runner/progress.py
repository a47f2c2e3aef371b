"""Progress of a run: tqdm's bar on a terminal; in a log (stderr not a terminal) one plain line
every `every_s` seconds: done/total, rate, ETA — so a CI log shows life without carriage returns."""
from __future__ import annotations

import sys
import time


class Progress:
    """A progress line on stderr (a bar on a terminal, a line every few seconds otherwise)."""
    def __init__(self, total: int, enabled: bool = True, every_s: float = 5.0, stream=None, desc="bench run"):
        self.total, self.done, self.every_s, self.desc = total, 0, every_s, desc
        self.stream = stream or sys.stderr
        self.t0 = self.last = time.monotonic()
        self.bar = None
        self.plain = False
        if enabled and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="task", dynamic_ncols=True, desc=desc, file=self.stream)
        else:
            self.plain = enabled

    def line(self) -> str:
        """The progress as one line of text."""
        el = time.monotonic() - self.t0
        rate = self.done / el if el > 0 else 0.0
        eta = f"{(self.total - self.done) / rate:.0f} s" if rate > 0 else "?"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (f"{self.desc}: {self.done}/{self.total} tasks ({pct:.0f}%), {rate:.2f} tasks/s, "
                f"{el:.0f} s elapsed, ETA {eta}")

    def update(self, n: int = 1) -> None:
        """Count `n` tasks done."""
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.plain and time.monotonic() - self.last >= self.every_s:
            self.last = time.monotonic()
            print(self.line(), file=self.stream, flush=True)

    def write(self, msg: str) -> None:
        """Print a message without breaking the progress line."""
        if self.bar is not None:
            self.bar.write(msg, file=self.stream)
        else:
            print(msg, file=self.stream, flush=True)

    def close(self) -> None:
        """Finish the progress line."""
        if self.bar is not None:
            self.bar.close()
        elif self.plain and self.total:
            print(self.line(), file=self.stream, flush=True)
