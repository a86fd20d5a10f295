from __future__ import annotations

import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.internal.http import client_ip, user_agent
from accounts.models import SignInDevice


def _fingerprint(agent: str) -> str:
    return hashlib.sha256(" ".join(agent.lower().split()).encode()).hexdigest()


def device_record_sign_in(*, user: Any, request: HttpRequest) -> bool:
    """Record the client `user` signed in from. True when it is a new device for a user who
    had signed in before (the first device of an account is not news)."""
    agent = user_agent(request)
    fingerprint = _fingerprint(agent)
    now = timezone.now()
    ip = client_ip(request)
    updated = SignInDevice.objects.filter(user_id=user.pk, fingerprint=fingerprint).update(
        last_seen_at=now, last_ip=ip
    )
    if updated:
        return False
    had_devices = SignInDevice.objects.filter(user_id=user.pk).exists()
    try:
        with transaction.atomic():
            SignInDevice.objects.create(
                user=user,
                fingerprint=fingerprint,
                user_agent=agent,
                last_ip=ip,
                first_seen_at=now,
                last_seen_at=now,
            )
    except IntegrityError:  # the same device signing in twice at once
        return False
    return had_devices
