"""/control/: how the tests make the provider's people and its client (Haven)."""

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import get_application_model

from tests.oidc_provider.models import Person
from tests.oidc_provider.validator import FAULTS


@csrf_exempt
def control(request: HttpRequest) -> HttpResponse:
    if request.headers.get("authorization") != f"Bearer {settings.CONTROL_TOKEN}":
        return HttpResponse(status=403)
    order: dict[str, Any] = json.loads(request.body)
    action = order.pop("action")
    if action == "client":
        application = get_application_model()
        application.objects.filter(client_id=order["client_id"]).delete()
        application.objects.create(
            name="Haven",
            client_id=order["client_id"],
            client_secret=order["client_secret"],
            client_type="confidential",
            authorization_grant_type="authorization-code",
            redirect_uris=order["redirect_uri"],
            algorithm="RS256",
            skip_authorization=True,
        )
    elif action == "person":
        user, _ = User.objects.get_or_create(username=order["username"])
        if "password" in order:
            user.set_password(order["password"])
        for field in ("email", "first_name", "last_name", "is_active"):
            if field in order:
                setattr(user, field, order[field])
        user.save()
        person, _ = Person.objects.get_or_create(user=user)
        for field in ("amr", "acr", "roles"):
            if field in order:
                setattr(person, field, order[field])
        person.save()
        return JsonResponse({"sub": str(user.pk)})
    elif action == "faults":
        FAULTS.update(order)
    else:
        return HttpResponse(status=400)
    return JsonResponse({})
