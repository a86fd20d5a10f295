from django.db import migrations

from core.tenancy.operations import SyncGuard, TenantRLS


class Migration(migrations.Migration):
    dependencies = [("chats", "0001_initial"), ("core", "0002_rls_clock_functions")]

    operations = [
        TenantRLS("chats_chat", private_column="author_id"),
        SyncGuard("chats_chat"),
        TenantRLS("chats_chatmessage", private_column="author_id"),
        SyncGuard("chats_chatmessage"),
    ]
