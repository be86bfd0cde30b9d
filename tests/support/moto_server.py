"""A real S3 API over HTTP for tests and benchmarks: moto's server, on a free local port.

Code under test talks to it exactly as to AWS (endpoint_url, signed requests, streamed bodies),
which moto's in-process mock_aws does not exercise.

`start_moto_server()` runs it in a thread of this process (cheap; what fixtures use).
`start_moto_server_process()` runs the same server in a child process, for measurements where
the server's own CPU and memory must not be counted: moto builds a whole object in memory to
serve a GET, which would swamp a tracemalloc peak taken in the client.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable


def start_moto_server() -> tuple[str, Callable[[], None]]:
    """Start moto in a daemon thread on 127.0.0.1 and a free port; return (endpoint_url, stop)."""
    from moto.server import ThreadedMotoServer

    # werkzeug logs every request to stderr; tests and benchmarks need only errors.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()  # the port the OS actually bound
    return f"http://{host}:{port}", server.stop


def start_moto_server_process(
    timeout: float = 30.0, *, authenticate: bool = False
) -> tuple[str, Callable[[], None]]:
    """Start moto in a child process; return (endpoint_url, stop).

    The child prints its endpoint, then serves until its stdin closes, so it also ends if this
    process dies without calling stop(). `authenticate`: the server checks every request's
    access key and signature against its IAM users, as AWS does (moto's
    INITIAL_NO_AUTH_ACTION_COUNT=0), so unknown credentials are refused.
    """
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"} if authenticate else None
    child = subprocess.Popen(
        [sys.executable, __file__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None and child.stdin is not None
    line = child.stdout.readline().strip()
    if not line.startswith("http://"):
        child.kill()
        child.wait(timeout)
        raise RuntimeError(f"moto server process did not start (said {line!r})")

    def stop() -> None:
        if child.poll() is None:
            child.stdin.close()  # the child's signal to shut down
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout)

    return line, stop


def _serve_until_stdin_closes() -> None:
    endpoint, stop = start_moto_server()
    print(endpoint, flush=True)
    sys.stdin.read()
    stop()


if __name__ == "__main__":
    _serve_until_stdin_closes()
