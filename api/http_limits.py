"""uvicorn's httptools protocol with the two limits it lacks (uvicorn 0.54):

- a request's line and headers larger than `max_header_bytes` get 431 and the connection is
  closed (httptools/llhttp buffers headers without bound; uvicorn's h11_max_incomplete_event_size
  applies only to its h11 protocol);
- a connection must deliver a request's line and headers within `header_timeout_s` of opening
  (or of the previous response): uvicorn arms its keep-alive timer only after a response, so a
  connection that sends nothing, or a byte at a time, was never closed.

`limited_protocol(max_header_bytes, header_timeout_s)` returns the class for uvicorn.Config(http=).
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def limited_protocol(max_header_bytes: int, header_timeout_s: float) -> type:
    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._head_bytes = 0
            self._in_head = True
            self._rejected = False
            self._head_timer = None

        # a request's head must arrive in time: from the connection's start, and again from
        # the end of each response (the keep-alive timer covers the idle wait itself)
        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(header_timeout_s, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self._in_head and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm_head_timer()

        def connection_lost(self, exc) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._rejected:
                return
            if self._in_head:
                self._head_bytes += len(data)
                if self._head_bytes > max_header_bytes:
                    # the head is still incomplete and already too large
                    return self._reject()
            super().data_received(data)

        def on_message_begin(self) -> None:
            self._in_head = True
            self._head_bytes = 0
            if self._head_timer is None:
                self._arm_head_timer()
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._cancel_head_timer()
            if self._rejected:
                return
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self._rejected:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self._rejected:
                super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._in_head = True
                self._head_bytes = 0

        def _reject(self) -> None:
            self._rejected = True
            self._cancel_head_timer()
            body = b"request header fields too large"
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: text/plain; charset=utf-8\r\n"
                b"x-content-type-options: nosniff\r\n"
                b"connection: close\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            self.transport.close()

    return LimitedHttpToolsProtocol
