"""uvicorn's WebSocket protocol (websockets, sans-I/O), with a quiet close for a text
frame that is not UTF-8.

uvicorn closes such a connection with 1007 as RFC 6455 says, but logs it at ERROR with a
traceback ("Invalid UTF-8 sequence received from client."): one broken or hostile client
could fill Haven's error log and page whoever watches it. It is the client's fault, not
the server's: closed with 1007 here too, noted at INFO.
"""

import logging

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

logger = logging.getLogger(__name__)
CLOSE_INVALID_PAYLOAD = 1007


class HavenWebSocketProtocol(WebSocketsSansIOProtocol):
    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent:
            data = b"".join(self.frames)
            try:
                data.decode()
            except UnicodeDecodeError:
                self.frames = []
                logger.info("Closed a WebSocket that sent a text frame that is not UTF-8.")
                self.conn.send_close(CLOSE_INVALID_PAYLOAD, "text frames must be UTF-8")
                self.handle_parser_exception()
                return
        super().send_receive_event_to_app()
