"""HTTP requests in flight, so that `serve` lets them finish before it stops the event loop.

A Django view under ASGI runs in a worker thread and talks back to the event loop (the REST
order path tells the matching worker over the channel layer with async_to_sync). If the loop
stops first, that thread waits for it forever and the interpreter cannot exit. So on the way
down `serve` first refuses new requests (503, Retry-After) and waits for the running ones.
"""

from __future__ import annotations

import threading

from django.http import JsonResponse


class InFlightRequests:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._draining = False

    @property
    def count(self) -> int:
        return self._count

    def start_draining(self) -> None:
        with self._lock:
            self._draining = True

    def enter(self) -> bool:
        """Count a request in; False once draining (the request is refused)."""
        with self._lock:
            if self._draining:
                return False
            self._count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._count -= 1


requests = InFlightRequests()


class InFlightRequestsMiddleware:
    """First in MIDDLEWARE: counts every request while the rest of the stack runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not requests.enter():
            response = JsonResponse({"detail": "the server is shutting down"}, status=503)
            response["Retry-After"] = "5"
            response._has_been_logged = True  # expected while stopping: not an error per request
            return response
        try:
            return self.get_response(request)
        finally:
            requests.leave()
