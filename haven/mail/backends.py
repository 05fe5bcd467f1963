from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.utils import timezone


class OutboxBackend(ConsoleBackend):
    """Print each email and also save it as a .eml file a person can open.

    For trying Haven on one machine without a mail server. Production uses SMTP.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outbox = Path(settings.HAVEN_OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
        for number, message in enumerate(email_messages):
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
            path = self.outbox / f"{stamp}-{number}.eml"
            path.write_bytes(message.message().as_bytes())
            path.chmod(0o600)
        return super().send_messages(email_messages)
