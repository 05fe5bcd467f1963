"""Django's admin: for superusers who signed in with both factors, and nobody else.

The daily work happens in Haven's own pages. Everyone else gets "not found" here, the
admin's own sign-in page is replaced by Haven's two-step sign-in, and the records that
must never change (policy versions, the audit log) are read-only.
"""

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse

from haven.accounts.models import RoleGrant, User
from haven.audit.models import AuditEvent
from haven.policy.models import Organisation, PolicyVersion


class HavenAdminSite(admin.AdminSite):
    site_header = "Haven administration (superusers only)"

    def has_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        verified = getattr(user, "is_verified", lambda: False)()
        return bool(user.is_active and user.is_superuser and verified)

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if request.user.is_authenticated:
            raise Http404
        return redirect_to_login(request.get_full_path())

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        wrapped = super().admin_view(view, cacheable)

        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not self.has_permission(request):
                raise Http404
            return wrapped(request, *args, **kwargs)

        return guarded


class ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RoleInline(admin.TabularInline):  # type: ignore[type-arg]
    model = RoleGrant
    extra = 0


class StaffAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("full_name", "email", "job_title", "organisation", "is_active")
    fields = ("full_name", "email", "job_title", "organisation", "is_active", "is_superuser")
    inlines = [RoleInline]


site = HavenAdminSite(name="admin")
site.register(User, StaffAdmin)
site.register(Organisation)
site.register(PolicyVersion, ReadOnly)
site.register(AuditEvent, ReadOnly)
