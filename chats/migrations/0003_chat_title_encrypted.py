"""Chat titles are encrypted (`title_encrypted`), like every other piece of a chat.

Adding a nullable column without a default changes the catalogue only (no table rewrite, a
brief ACCESS EXCLUSIVE lock), so it is safe while the previous release serves: that release
never names the column. The plaintext `title` stays for now; `manage.py encrypt_chat_titles`
encrypts and empties it in batches while the service runs (docs/data.md, "Encrypting chat
titles"), and a later release drops it.
"""

from django.db import migrations

import core.crypto.fields


class Migration(migrations.Migration):
    dependencies = [("chats", "0002_row_level_security")]

    operations = [
        migrations.AddField(
            model_name="chat",
            name="title_encrypted",
            field=core.crypto.fields.EncryptedField(blank=True, editable=False, null=True),
        ),
    ]
