"""Refuse passwords that are easy to guess (ASVS 6.2), with nothing fetched at run time.

Django's CommonPasswordValidator refuses the 20,000 most common passwords. This adds
zxcvbn, whose bundled lists include the 30,000 most frequent passwords from published
breach corpora: a password made of those, or of common words, names, keyboard patterns,
repeats or dates, is refused however long it is.
"""

from typing import Any

from django.core.exceptions import ValidationError
from zxcvbn import zxcvbn

# zxcvbn's score 3 means at least 10^8 guesses: safe against online guessing and slow
# hashes such as Argon2 (zxcvbn's own wording: "safely unguessable").
MINIMUM_SCORE = 3
# zxcvbn is slow on very long input; beyond this length we check the start only.
CHECKED_LENGTH = 100


class BreachedPasswordValidator:
    """Refuse passwords built from breached passwords or other guessable parts."""

    def validate(self, password: str, user: Any = None) -> None:
        hints = _personal_words(user)
        result = zxcvbn(password[:CHECKED_LENGTH], user_inputs=hints)
        if result["score"] >= MINIMUM_SCORE:
            return
        breached = [
            match["matched_word"]
            for match in result["sequence"]
            if match.get("dictionary_name") == "passwords"
        ]
        if breached:
            raise ValidationError(
                "This password is too easy to guess: it is made from passwords that have "
                "been leaked in data breaches. Try three or four unrelated words.",
                code="password_breached",
            )
        raise ValidationError(
            "This password is too easy to guess: it uses common words, names, dates, "
            "repeats or keyboard patterns. Try three or four unrelated words.",
            code="password_guessable",
        )

    def get_help_text(self) -> str:
        return "Your password must not be easy to guess or known from data breaches."


def _personal_words(user: Any) -> list[str]:
    if user is None:
        return []
    words = [getattr(user, "email", "") or "", getattr(user, "full_name", "") or ""]
    words += words[0].replace("@", " ").replace(".", " ").split()
    words += words[1].split()
    return [word for word in words if word]
