"""Static files when Haven serves them itself (make run, tests); nginx serves them in
production (docs/deployment.md)."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):  # type: ignore[misc]
    """WhiteNoise, with each file handed to the ASGI server as an asynchronous iterator.

    WhiteNoise streams a file through a synchronous iterator. Served over ASGI, Django
    then reads the whole file in a worker thread before sending it, and warns that
    "StreamingHttpResponse must consume synchronous iterators". This reads it the same
    way, only explicitly (as Django's own ASGIStaticFilesHandler does), so nothing is
    warned about; and in a thread of its own, not the one that runs database code.
    Static files are small. Haven runs only under ASGI, so no server iterates it
    synchronously.
    """

    @staticmethod
    def serve(static_file: Any, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = WhiteNoiseMiddleware.serve(static_file, request)
        if isinstance(response, StreamingHttpResponse) and not response.is_async:
            response.streaming_content = _read_in_a_thread(iter(response))
        return response


async def _read_in_a_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in await sync_to_async(_read, thread_sensitive=False)(chunks):
        yield chunk


def _read(chunks: Iterator[bytes]) -> list[bytes]:
    return list(chunks)
