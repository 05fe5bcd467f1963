"""Text fields whose length limit people are told about, never cut silently.

A browser given `maxlength` stops typing and cuts pasted text at the limit without a
word, so a long name or title arrives shortened and nobody knows. These fields leave the
browser alone, say the limit in their hint, and refuse longer text with a message that
gives the limit and the length, like every other error.
"""

from typing import Any

from django import forms


class Text(forms.CharField):
    def __init__(self, *, max_length: int, what: str = "text", **kwargs: Any) -> None:
        messages = dict(kwargs.pop("error_messages", None) or {})
        messages.setdefault(
            "max_length",
            f"Please keep the {what} to {max_length} characters or fewer. It has %(show_value)d.",
        )
        hint = str(kwargs.pop("help_text", "") or "")
        kwargs["help_text"] = f"{hint} Up to {max_length} characters.".strip()
        super().__init__(max_length=max_length, error_messages=messages, **kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs
