"""The live meeting room: the WebSocket protocol, waiting room and media relay."""
