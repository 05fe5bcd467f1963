from django.db import models


class ConsentRequest(models.Model):
    """One emailed consent link (rule G1): single-use, personal, stored only as a hash.

    A newer request for the same invitation supersedes this one; it stops working when it is
    used, superseded, or when the invitation is cancelled or expires after the meeting.
    """

    class Reason(models.TextChoices):
        INVITED = "invited", "Invited"
        RESENT = "resent", "Sent again by the host"
        RULES_CHANGED = "rules_changed", "House rules changed"
        INVITATION_CHANGED = "invitation_changed", "Invitation changed"

    invitation = models.ForeignKey(
        "invitations.Invitation", on_delete=models.CASCADE, related_name="consent_requests"
    )
    token_sha256 = models.CharField(max_length=64, unique=True)
    house_rules = models.ForeignKey(
        "meetings.HouseRules", on_delete=models.RESTRICT, related_name="+"
    )
    sent_to = models.EmailField()
    reason = models.CharField(max_length=30, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Consent request {self.pk} for {self.invitation}"


class Consent(models.Model):
    """Agreement to one version of a meeting's house rules, by the invitee or for a child
    by their parent or carer (rules G1, U3, U4), with what the host should know (V2, U5).

    It counts only while its house rules are the meeting's current version and it has not
    been voided (the host changed who is invited in a way that needs consent again).
    """

    invitation = models.ForeignKey(
        "invitations.Invitation", on_delete=models.CASCADE, related_name="consents"
    )
    request = models.OneToOneField(ConsentRequest, on_delete=models.RESTRICT, related_name="+")
    house_rules = models.ForeignKey(
        "meetings.HouseRules", on_delete=models.RESTRICT, related_name="consents"
    )
    # Copied from the house rules, so the record alone says exactly what was agreed.
    rules_version = models.PositiveIntegerField()
    rules_sha256 = models.CharField(max_length=64)
    given_by_name = models.CharField(max_length=150)
    given_by_email = models.EmailField()
    on_behalf_of_child = models.BooleanField()
    supervising_adult = models.CharField(max_length=150, blank=True)
    need_interpreter = models.BooleanField(default=False)
    interpreter_language = models.CharField(max_length=100, blank=True)
    need_captions = models.BooleanField(default=False)
    need_easy_read = models.BooleanField(default=False)
    need_breaks = models.BooleanField(default=False)
    other_needs = models.TextField(blank=True)
    show_on_screen = models.TextField(blank=True)
    given_at = models.DateTimeField(auto_now_add=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Consent by {self.given_by_name} to rules v{self.rules_version}"

    def access_needs(self) -> list[str]:
        """The access needs, in words for the host."""
        needs = []
        if self.need_interpreter:
            language = f" ({self.interpreter_language})" if self.interpreter_language else ""
            needs.append(f"An interpreter{language}")
        if self.need_captions:
            needs.append("Captions")
        if self.need_easy_read:
            needs.append("Easy-read information")
        if self.need_breaks:
            needs.append("Breaks")
        if self.other_needs:
            needs.append(f"Other: {self.other_needs}")
        return needs
