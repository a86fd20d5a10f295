"""factory_boy factories. Tenant rows are created inside a transaction bound to their
workspace, exactly as the service writes them, because tests run as the app role under RLS."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from core.tenancy import db_context


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("name")
    password = factory.django.Password("correct horse battery")

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        user = super()._create(model_class, *args, **kwargs)
        if user.email:
            from allauth.account.models import EmailAddress

            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user


def make_workspace(owner: Any, name: str = "Team", **fields: Any) -> Any:
    from workspaces import services

    workspace = services.workspace_create(user=owner, name=name)
    if fields:
        with db_context(workspace_id=workspace.pk, user_id=owner.pk):
            for key, value in fields.items():
                setattr(workspace, key, value)
            workspace.save()
    return workspace


def add_member(workspace: Any, user: Any, role: str) -> Any:
    from workspaces.models import Membership

    with db_context(workspace_id=workspace.pk, user_id=user.pk):
        return Membership.objects.create(workspace=workspace, user=user, role=role)
