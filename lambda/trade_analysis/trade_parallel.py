"""Analyse a big trade CSV in several processes at once, one byte range each, merged exactly.

Why: the per-row loop in trade_stats is about as lean as CPython allows. A profile of a million
rows puts ~80% of its time in C already (str.split, string hashing, allocation, dict look-ups),
so one core analyses ~500,000 rows/s, and a busy machine's share of one core less. The rows of
a day are independent, though: each worker process analyses the lines of one byte range of the
object with its own DayStats, and DayStats.merge adds the parts up in file order with the
per-row tie rules. The result is the single pass's, byte for byte (the tests compare them).

How:
- The object is cut into equal byte ranges, one per worker. A line belongs to the range its
  first byte is in: a range starts after the first "\\n" at or after its first byte - 1, and
  ends with the first "\\n" at or after its last byte.
- The parent does all the S3 reading, one thread per range: range 0 from the GET the caller
  opened, the others from ranged GETs (Range: bytes=start-1-, If-Match: the first GET's ETag).
  Each thread trims its stream to the range's whole lines and passes them down a Pipe to its
  worker. The workers use no socket, lock or client inherited from the parent: they read bytes
  from a pipe and send one pickle back. That is what makes forking safe in a process that has
  other threads (the Django app runs this handler in-process).
- Workers are multiprocessing.Process (fork) and Pipe, nothing else from multiprocessing: AWS
  Lambda has no /dev/shm, and whatever needs a POSIX semaphore (Pool, Queue, Lock, Manager, a
  Value) fails there with "[Errno 38] Function not implemented". Process and Pipe (fork(2),
  pipe(2)) work.
- When a part cannot be analysed on its own, the whole object is analysed by one process from
  its start, as before: a quote, CR or LF in a line (the csv module must read the file from its
  start, a quoted field may span lines), a first range without the header line, a merge that
  could differ from one pass (trade_stats' known limit), or a worker that died.

How many workers: $TRADE_ANALYSIS_WORKERS if set, else the CPUs this process may use (its CPU
affinity, capped by a cgroup CPU quota if there is one), and never more than one per
MIN_RANGE_BYTES of object: a worker costs ~10-20 ms to start and feed. 1 means no processes.
In AWS Lambda os.cpu_count() says 2 below 3,008 MB of memory, but the CPU time is one vCPU's
at 1,769 MB: two workers there share it (about the single pass's wall time); they pay off from
~3,538 MB (two vCPUs' worth).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date
from multiprocessing.connection import Connection, wait
from typing import Any

from trade_analyzer import analyze_lines
from trade_lines import CHUNK_SIZE, iter_lines
from trade_report import build_report
from trade_s3 import open_from, open_object
from trade_stats import DayStats, NoHeader, NotMergeable, NotPlain, TradeCsvError

try:
    import fcntl
except ImportError:  # not on Windows, where there is no fork either
    fcntl = None  # type: ignore[assignment]

WORKERS_ENV = "TRADE_ANALYSIS_WORKERS"
MIN_RANGE_BYTES = 4 << 20  # ~55,000 rows, ~0.1 s of work: less is not worth a process
PIPE_BYTES = 1 << 20
JOIN_TIMEOUT = 5.0  # seconds a finished or stopped worker gets to exit before it is killed
logger = logging.getLogger(__name__)

# open_range(byte) -> (body with iter_chunks(size), offset of the body's first byte); the offset
# may be lower than asked (a client that ignores Range), never higher.
OpenRange = Callable[[int], tuple[Any, int]]


def analyze_object(client: Any, bucket: str, key: str, day: date) -> dict[str, Any]:
    """Analyse s3://bucket/key, in worker_count() processes if it is big enough.

    Raises what trade_s3.open_object raises, TradeCsvError for a file without a trade CSV
    header, and botocore's errors if S3 fails while the file is read.
    """
    obj = open_object(client, bucket, key)
    workers = worker_count(obj.size or 0)
    if workers > 1:
        assert obj.size is not None
        first: Any = obj.body

        def open_range(start: int) -> tuple[Any, int]:
            nonlocal first
            if start == 0 and first is not None:
                body, first = first, None
                return body, 0
            return open_from(client, bucket, key, start, obj.etag)

        stats = analyze_ranges(open_range, obj.size, day, workers)
        if stats is not None:
            return build_report(stats)
        obj = open_object(client, bucket, key)  # start over: the first GET was read in part
    return analyze_lines(iter_lines(obj.chunks()), day=day)


def worker_count(size: int) -> int:
    """Processes to analyse an object of `size` bytes with: 1 means the single pass."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(configured_workers(), size // MIN_RANGE_BYTES))


def configured_workers() -> int:
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        try:
            workers = int(raw)
        except ValueError:
            workers = 0
        if workers >= 1:
            return workers
        logger.warning("%s=%r is not a positive integer: ignored", WORKERS_ENV, raw)
    return usable_cpus()


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by a cgroup CPU quota (containers)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(cpus, 1)


def _cgroup_cpu_quota() -> float | None:
    """CPUs' worth of time the cgroup may use (v2 cpu.max, v1 cfs quota), None if unlimited."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as v2:
            quota, period = v2.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with (
            open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as q,
            open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as p,
        ):
            quota_us, period_us = int(q.read()), int(p.read())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def analyze_ranges(open_range: OpenRange, size: int, day: date, workers: int) -> DayStats | None:
    """Analyse `size` bytes in `workers` processes; None if the single pass must do it.

    Raises TradeCsvError if the header is wrong, and whatever open_range or reading a body
    raised (S3 errors).
    """
    plan = _Plan(size, workers)
    ctx = multiprocessing.get_context("fork")
    processes: list[Any] = []
    # Pipe ends are closed by this thread only, never by a feeding thread: a close racing a
    # fork would leave the new process an end it cannot close, or one whose number was reused.
    feeds: list[Connection] = []
    results: list[Connection] = []
    errors: list[BaseException] = []
    threads: list[threading.Thread] = []
    replies: list[tuple[Any, ...] | None] = []
    try:
        for k in range(workers):
            data_out, data_in = ctx.Pipe(duplex=False)
            _widen(data_in)
            result_out, result_in = ctx.Pipe(duplex=False)
            feeds.append(data_in)
            results.append(result_out)
            # The feeding thread first: its GET is on its way while the process starts.
            thread = threading.Thread(
                target=_feed,
                args=(open_range, plan, k, data_in, errors),
                name=f"trade-analysis-feed-{k}",
                daemon=True,
            )
            thread.start()
            threads.append(thread)
            # The new process inherits the parent's ends of every pipe made so far: it closes
            # them, so that each pipe end lives in one process and EOF/EPIPE mean what they say.
            # (It inherits the feeding threads' sockets too, and never touches them.)
            process = ctx.Process(
                target=_worker,
                args=(data_out, result_in, [*feeds, *results], day, k == 0),
                name=f"trade-analysis-{k}",
                daemon=True,
            )
            try:
                process.start()
            finally:
                data_out.close()
                result_in.close()
            processes.append(process)
        replies = _collect(results)
    finally:
        plan.abandon()  # if still open: a feeding thread waits for it no more
        complete = len(replies) == workers and all(r and r[0] == "ok" for r in replies)
        for process in processes:  # an early stop: the others' work is wasted, stop them now
            process.join(JOIN_TIMEOUT if complete else 0)
            if process.is_alive():
                process.terminate()
                process.join(JOIN_TIMEOUT)
            if process.is_alive():
                process.kill()
                process.join()
        for thread in threads:  # their workers are gone: a blocked send fails with EPIPE
            thread.join()
        for conn in (*feeds, *results):
            conn.close()
    return _merged(replies, errors)


def _merged(replies: list[tuple[Any, ...] | None], errors: list[BaseException]) -> DayStats | None:
    """The workers' DayStats added up in file order, or None: the single pass must do it."""
    for reply in replies:
        if reply is not None and reply[0] == "csv-error":
            raise TradeCsvError(reply[1])
    if errors:
        raise errors[0]
    total: DayStats | None = None
    offset = 0
    for k, reply in enumerate(replies):
        if reply is None or reply[0] != "ok":
            why = reply[1] if reply else "stopped early"
            logger.info("range %d cannot be analysed apart (%s): one pass instead", k, why)
            return None
        _, part, lines, wall, cpu, peak = reply
        logger.debug(
            "range %d: %d lines in %.3f s, %.3f s of CPU%s",
            k,
            lines,
            wall,
            cpu,
            "" if peak is None else f", traced peak {peak} bytes",
        )
        if total is None:
            total = part
        else:
            try:
                total.merge(part, offset)
            except NotMergeable as exc:
                logger.info("range %d: %s: one pass instead", k, exc)
                return None
        offset += lines
    return total


def _collect(results: list[Connection]) -> list[tuple[Any, ...] | None]:
    """Each worker's reply, in range order; stops at the first that is not "ok"."""
    replies: list[tuple[Any, ...] | None] = [None] * len(results)
    waiting = {conn: k for k, conn in enumerate(results)}
    while waiting:
        for conn in wait(list(waiting)):
            k = waiting.pop(conn)  # type: ignore[call-overload]
            try:
                replies[k] = conn.recv()  # type: ignore[union-attr]
            except (EOFError, OSError):  # it died before replying (killed, out of memory...)
                replies[k] = ("died", "the worker process ended without a result")
            if replies[k][0] != "ok":  # type: ignore[index]
                return replies
    return replies


class _Plan:
    """Where the ranges begin and end, settled once every ranged GET has answered.

    Range k > 0 is read from byte size * k / W - 1 on: its GET leaves at once. Its lines begin
    at bounds[k], decided when the last of those GETs answers. By then range 0, read from the
    GET that was open before, has had a head start (moto answers a ranged GET in ~0.13 s, S3 in
    tens of ms), so what is left is split evenly: bounds[k] = p + k * (size - p) / W, where p is
    what range 0 has passed on. That is never before size * k / W, where range k's GET began;
    the bytes in between are read and skipped. Until then range 0 passes on only bytes before
    size / W - 1, which end before bounds[1] whatever it is.
    """

    def __init__(self, size: int, workers: int) -> None:
        self.size, self.workers = size, workers
        self.reads = [0, *(size * k // workers for k in range(1, workers))]
        self.sent = 0  # bytes of range 0 passed on so far
        self.bounds: list[int] | None = None
        self._unanswered = workers - 1
        self._lock = threading.Lock()
        self._settled = threading.Event()
        if workers == 1:
            self._settle()

    def answered(self) -> None:
        """A ranged GET has answered: the last one settles the bounds."""
        with self._lock:
            self._unanswered -= 1
            if self._unanswered == 0:
                self._settle()

    def _settle(self) -> None:
        p, rest, w = self.sent, self.size - self.sent, self.workers
        inner = [max(self.reads[k], p + k * rest // w) for k in range(1, w)]
        self.bounds = [0, *inner, self.size]
        self._settled.set()
        logger.debug("ranges %s of %d bytes (range 0 had passed on %d)", self.bounds, self.size, p)

    def abandon(self) -> None:
        """Wake whoever waits: bounds stay None if they were not settled (an error, a stop)."""
        self._settled.set()

    def wait(self) -> list[int] | None:
        self._settled.wait()
        return self.bounds

    @property
    def settled(self) -> bool:
        return self._settled.is_set()


def _feed(
    open_range: OpenRange, plan: _Plan, k: int, feed: Connection, errors: list[BaseException]
) -> None:
    """Thread: stream range k's lines from S3 to its worker; b"" marks the end.

    After an error too, so that the worker ends; its figures are then ignored (errors)."""
    body = chunks = None
    try:
        body, offset = open_range(max(plan.reads[k] - 1, 0))
        chunks = body.iter_chunks(CHUNK_SIZE)
        if k == 0:
            pieces = _first_range(chunks, plan)
        else:
            plan.answered()
            bounds = plan.wait()
            pieces = iter(()) if bounds is None else range_bytes(chunks, offset, *bounds[k : k + 2])
        for piece in pieces:
            feed.send_bytes(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the worker stopped reading: it has said why, or it died (its reply says so)
    except BaseException as exc:  # S3 failed: the caller raises this
        errors.append(exc)
        plan.abandon()
    finally:
        with contextlib.suppress(OSError):
            feed.send_bytes(b"")
        if chunks is not None and hasattr(chunks, "close"):
            chunks.close()
        if body is not None and hasattr(body, "close"):
            body.close()  # a range read in part: drop the connection, not the rest of the object


def _first_range(chunks: Iterator[bytes], plan: _Plan) -> Iterator[bytes]:
    """Range 0 from byte 0: what surely belongs to it while the bounds are open, then the rest."""
    limit = max(plan.reads[1] - 1, 0) if plan.workers > 1 else plan.size
    pos = 0
    for chunk in chunks:
        if not plan.settled:
            if pos + len(chunk) <= limit:
                yield chunk
                pos = plan.sent = pos + len(chunk)
                continue
            if limit > pos:
                yield chunk[: limit - pos]
                chunk, pos = chunk[limit - pos :], limit
                plan.sent = pos
        bounds = plan.wait()
        if bounds is not None:
            yield from _through_line_end(chunk, pos, chunks, bounds[1])
        return


def _widen(pipe: Connection) -> None:
    """Give the pipe a 1 MiB buffer (Linux; 64 KiB by default): fewer writes and wake-ups, a
    third less system time for the parent. Where that is refused the default does."""
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[attr-defined]


def range_bytes(chunks: Iterator[bytes], offset: int, start: int, end: int) -> Iterator[bytes]:
    """The bytes of the lines that start in [start, end) of the object, taken from `chunks`,
    which hold the object from byte `offset` (at most max(start - 1, 0)) on."""
    pos, chunk = offset, b""
    if start > 0:
        # The first line at or after `start` follows the first "\n" at or after start - 1.
        for chunk in chunks:
            found = chunk.find(b"\n", max(start - 1 - pos, 0))
            if found >= 0:
                chunk, pos = chunk[found + 1 :], pos + found + 1
                break
            pos += len(chunk)
        else:
            return
    if pos >= end:
        return  # a line longer than the range began before it: the range holds no line start
    yield from _through_line_end(chunk, pos, chunks, end)


def _through_line_end(chunk: bytes, pos: int, chunks: Iterator[bytes], end: int) -> Iterator[bytes]:
    """`chunk` (at byte `pos`, which is before `end`) and what follows, up to and including the
    first "\n" at or after byte end - 1: where the range's last line ends."""
    last = end - 1
    while True:
        if chunk:
            if pos + len(chunk) > last:
                found = chunk.find(b"\n", max(last - pos, 0))
                if found >= 0:
                    yield chunk[: found + 1]
                    return
            yield chunk
            pos += len(chunk)
        chunk = next(chunks, b"")
        if not chunk:
            return


def _worker(
    data: Connection, result: Connection, inherited: list[Connection], day: date, first: bool
) -> None:
    """Worker process: analyse the lines that arrive on `data`, send the DayStats on `result`."""
    for conn in inherited:
        conn.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not a handler the app may have installed
    gc.freeze()  # keep the collector off the parent's objects: they stay shared, not copied
    reply: tuple[Any, ...]
    started = time.perf_counter()
    if tracemalloc.is_tracing():  # inherited from the parent: measure this worker's own peak
        tracemalloc.reset_peak()
    try:
        stats = DayStats(day)
        lines = iter_lines(iter(data.recv_bytes, b""), bom=first)
        read = stats.consume(lines, header=first, plain_only=True)
        peak = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else None
        reply = ("ok", stats, read, time.perf_counter() - started, time.process_time(), peak)
    except NoHeader:
        reply = ("fallback", "no header line in the first range")
    except TradeCsvError as exc:
        reply = ("csv-error", str(exc))
    except NotPlain as exc:
        reply = ("fallback", str(exc))
    except EOFError:
        reply = ("aborted", "the parent stopped sending")
    except Exception as exc:  # the single pass will meet it again, and report it properly
        reply = ("fallback", f"{type(exc).__name__}: {exc}")
    data.close()  # a feeder still sending gets EPIPE and stops
    with contextlib.suppress(OSError):  # the parent gave up waiting
        result.send(reply)
    result.close()
