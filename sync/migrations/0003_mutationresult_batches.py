from django.db import migrations, models


class Migration(migrations.Migration):
    """One stored-results row per push (a run of mutation ids) instead of one per mutation;
    existing rows keep meaning one mutation each (last_mutation_id null)."""

    dependencies = [("sync", "0002_row_level_security")]

    operations = [
        migrations.AddField(
            model_name="mutationresult",
            name="last_mutation_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
