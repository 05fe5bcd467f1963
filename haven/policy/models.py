from django.db import models
from django.urls import reverse
from django.utils import timezone


class Organisation(models.Model):
    """A service that uses Haven: the data controller for its meetings (rule D1)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)

    def __str__(self) -> str:
        return self.name

    def policy_in_force(self) -> "PolicyVersion":
        """The newest published policy version: the one new meetings record (rule P1)."""
        return self.policy_versions.order_by("-published_at", "-id")[0]


class RetentionPeriods(models.Model):
    """How long each kind of personal data is kept (rule D3); transcripts are per meeting
    type. Meeting records count from the meeting's end. haven/records/retention.py
    destroys what is past its period; the privacy notice shows this table. A published
    version and a draft of the next one both carry it."""

    retain_invitations_days = models.PositiveIntegerField(default=365)
    retain_consents_days = models.PositiveIntegerField(default=365)
    retain_access_needs_days = models.PositiveIntegerField(default=30)
    end_unended_meetings_after_hours = models.PositiveIntegerField(default=12)
    retain_removals_days = models.PositiveIntegerField(default=365)
    retain_lifted_bans_days = models.PositiveIntegerField(default=365)
    retain_audit_days = models.PositiveIntegerField(default=2190)
    retain_audit_identities_days = models.PositiveIntegerField(default=730)
    retain_staff_sign_in_days = models.PositiveIntegerField(default=30)
    retain_sign_in_failures_days = models.PositiveIntegerField(default=30)
    retain_emails_days = models.PositiveIntegerField(default=30)
    retain_meetings_days = models.PositiveIntegerField(default=730)
    retain_house_rules_days = models.PositiveIntegerField(default=365)
    retain_destroyed_transcripts_days = models.PositiveIntegerField(default=365)
    retain_audit_notes_days = models.PositiveIntegerField(default=365)
    # Not a retention period but a ban's life (rule S8): by when a ban is reviewed, or ends.
    ban_review_days = models.PositiveIntegerField(default=183)

    class Meta:
        abstract = True


class PolicyVersion(RetentionPeriods):
    """One published version of the organisation's policy. Never changed once stored."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="policy_versions"
    )
    version = models.CharField(max_length=20)
    review_date = models.DateField()
    review_date_label = models.CharField(max_length=40)
    contact_email = models.EmailField()
    staff_page_url = models.URLField()
    privacy_url = models.URLField()
    controller = models.CharField(max_length=200)
    processor = models.CharField(max_length=200)
    source_sha256 = models.CharField(max_length=64)
    published_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "version"], name="one_row_per_policy_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} policy {self.version}"

    @property
    def is_overdue(self) -> bool:
        """Its review date has passed (rule P1): said wherever the policy is shown."""
        return self.review_date < timezone.localdate()

    def notice_path(self) -> str:
        """The public privacy notice of exactly this version (rules D1, D2)."""
        return reverse(
            "privacy_notice_version",
            kwargs={"slug": self.organisation.slug, "version": self.version},
        )


class MeetingType(models.Model):
    """A kind of meeting named in the policy, with its defaults (rule P3)."""

    policy = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, related_name="meeting_types"
    )
    key = models.SlugField()
    name = models.CharField(max_length=100)
    max_attendees = models.PositiveIntegerField()
    attendees_start_muted = models.BooleanField()
    transcript_retention_days = models.PositiveIntegerField()
    house_rules = models.TextField(help_text="The template of a new meeting's house rules (G1).")
    house_rules_easy_read = models.TextField(
        default="", help_text="The same rules in easy read: short sentences, everyday words."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "key"], name="one_meeting_type_per_key")
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class PolicyDraft(RetentionPeriods):
    """A new policy version being written in Haven's pages, before it is published (P1).

    Publishing copies it into a PolicyVersion and its MeetingTypes, which never change;
    the draft then keeps a link to what it became and can no longer be edited.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="policy_drafts"
    )
    based_on = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, related_name="+", help_text="Copied from."
    )
    version = models.CharField(max_length=20)
    review_date = models.DateField()
    contact_email = models.EmailField()
    staff_page_url = models.URLField()
    privacy_url = models.URLField()
    controller = models.CharField(max_length=200)
    processor = models.CharField(max_length=200)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_as = models.OneToOneField(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="draft"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.organisation} draft {self.version}"


class MeetingTypeDraft(models.Model):
    """One meeting type's defaults in a policy draft (rule P3)."""

    draft = models.ForeignKey(PolicyDraft, on_delete=models.CASCADE, related_name="meeting_types")
    key = models.SlugField()
    name = models.CharField(max_length=100)
    max_attendees = models.PositiveIntegerField()
    attendees_start_muted = models.BooleanField()
    transcript_retention_days = models.PositiveIntegerField()
    house_rules = models.TextField()
    house_rules_easy_read = models.TextField(default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["draft", "key"], name="one_draft_type_per_key")
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
