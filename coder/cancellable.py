"""Run blocking work in a helper thread so that a cancel request returns control at once.

Used for model calls: an HTTP request that has not produced its first byte, or a local
prefill, cannot be interrupted from inside, but the caller need not wait for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from coder.errors import Interrupted

T = TypeVar("T")


def run_cancellable(
    work: Callable[[threading.Event], T],
    cancel: threading.Event,
    poll_s: float = 0.05,
    deadline_s: float | None = None,
    on_deadline: Callable[[], BaseException] | None = None,
) -> T:
    """Return `work(abandoned)`, or raise Interrupted as soon as `cancel` is set.

    On cancel, `abandoned` is set so the work can stop at its next checkpoint (a streamed
    token); its eventual result or error is discarded. Past `deadline_s` seconds the work
    is abandoned the same way and `on_deadline()` is raised.
    """
    started = time.monotonic()
    abandoned = threading.Event()
    box: list[T | BaseException] = []

    def target() -> None:
        try:
            box.append(work(abandoned))
        except BaseException as exc:  # re-raised in the caller's thread below
            box.append(exc)

    worker = threading.Thread(target=target, name="coder-cancellable", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(poll_s)
        if cancel.is_set() and worker.is_alive():
            abandoned.set()
            raise Interrupted("Interrupted by the user.")
        late = deadline_s is not None and time.monotonic() - started > deadline_s
        if late and worker.is_alive() and on_deadline is not None:
            abandoned.set()
            raise on_deadline()
    result = box[0]
    if isinstance(result, BaseException):
        raise result
    return result
