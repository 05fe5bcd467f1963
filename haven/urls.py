from types import ModuleType

from django.urls import URLPattern, include, path

from haven import admin, views
from haven.accounts import views as account_views
from haven.accounts.decorators import staff_required
from haven.accounts.permissions import Permission
from haven.meetings import urls as meeting_urls
from haven.ops import health, metrics
from haven.policy import notice


def _only_for(permission: Permission, urls: ModuleType) -> tuple[list[URLPattern], str]:
    """Every page of an app behind one permission: others get 404 (U1: only hosts host)."""
    patterns = []
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern), "guard nested URL confs one by one"
        guarded = staff_required(permission)(pattern.callback)
        patterns.append(URLPattern(pattern.pattern, guarded, pattern.default_args, pattern.name))
    return patterns, urls.app_name


urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", account_views.sign_in, name="login"),
    path("accounts/logout/", account_views.sign_out, name="logout"),
    path("accounts/", include("haven.accounts.urls")),
    path("staff/", include("haven.accounts.staff_urls")),
    path("staff/policy/", include("haven.policy.urls")),
    path("staff/bans/", include("haven.bans.urls")),
    path("staff/evidence/", include("haven.audit.urls")),
    path("staff/assurance/", include("haven.assurance.urls")),
    path("staff/subject-access/", include("haven.subjects.urls")),
    path("meetings/", include(_only_for(Permission.HOST_MEETINGS, meeting_urls))),
    path("join/", include("haven.invitations.urls")),
    path("consent/", include("haven.consent.urls")),
    path("room/", include("haven.room.urls")),
    path("records/", include("haven.records.urls")),
    path("privacy/<slug:slug>/", notice.privacy_notice, name="privacy_notice"),
    path(
        "privacy/<slug:slug>/v/<str:version>/",
        notice.privacy_notice,
        name="privacy_notice_version",
    ),
    path("admin/", admin.site.urls),
    # Operations (haven/ops): probes and Prometheus metrics, no personal data.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
]

handler404 = "haven.views.not_found"
handler500 = "haven.views.server_error"
