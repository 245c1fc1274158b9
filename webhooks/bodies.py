"""Reading a webhook request's raw body, refusing one over the size limit before it is read."""

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

_CHUNK = 64 * 1024


def refuse_declared_oversize(request: Request, limit: int) -> None:
    """Raise RequestEntityTooLarge when Content-Length already says the body is over ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)


def read_body(request: Request, limit: int) -> bytes:
    """Return the raw body, reading at most ``limit`` + 1 bytes (a chunked body declares no length).

    Raises RequestEntityTooLarge when there is more.
    """
    refuse_declared_oversize(request, limit)
    stream, chunks, size = request.stream, [], 0
    while size <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise too_large(limit)
    return b"".join(chunks)


def too_large(limit: int) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(f"The body is larger than webhook_max_bytes ({limit} bytes).")
