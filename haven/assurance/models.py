from django.db import models


class GeneratedDraft(models.Model):
    """One draft of an assurance document, made from these inputs (issue 19, item 2).

    A new draft is recorded when a document is made from inputs no earlier draft of the
    same kind had; the inputs are kept so that the Assurance page can say which drafts are
    out of date and why (a new policy version, a changed retention period, another
    configuration or code version). The document itself is not stored: it is made again
    from live data, and its printed copy names its draft number.
    """

    class Kind(models.TextChoices):
        DPIA = "dpia", "Data protection impact assessment (draft)"
        RECORD = "record", "Record of processing activities"
        ACCESSIBILITY = "accessibility", "Accessibility statement"
        SECURITY = "security", "Security summary"

    organisation = models.ForeignKey(
        "policy.Organisation", on_delete=models.PROTECT, related_name="assurance_drafts"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    inputs_sha256 = models.CharField(max_length=64)
    inputs = models.JSONField()
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="assurance_drafts"
    )

    class Meta:
        ordering = ["-generated_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} draft {self.pk}"
