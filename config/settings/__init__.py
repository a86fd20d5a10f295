"""Django settings, read from the environment (12-factor).

`DJANGO_ENV` selects the profile: `production` (the default, so a forgotten variable never
leaves a deployed service in debug mode), `development` or `test`. Every variable is listed in
README.md with its default and meaning. Missing or malformed values raise ImproperlyConfigured.

One module per area, imported below in order: `DJANGO_SETTINGS_MODULE=config.settings` sees every
UPPERCASE name they define. An area that reads an earlier area's value imports it by name from
that module (`from config.settings.base import IS_PRODUCTION`). The order matters for the few
settings several areas build:
- CELERY_BEAT_SCHEDULE (tasks.py), to which accounts.py, plans.py and sync.py add their periodic
  tasks; INSTALLED_APPS (base.py), LOGGING (observability.py) and SPECTACULAR_SETTINGS (api.py),
  which billing.py amends. All in place, so every module holds the one object.
- CORS_ALLOW_HEADERS (security.py), which ai.py replaces with a longer tuple: ai.py is imported
  last, so that no later star import brings the shorter one back.

Area modules may import app-level configuration helpers (accounts.conf, billing.conf, core.env,
core.crypto.master_keys, core.sentry), none of which imports from config/.
"""

# Star imports on purpose (F403): Django, Celery, pytest-django and django-stubs read the
# settings as this module's names, and each area module lists only its own. In this order, not
# sorted.
# isort: off
from config.settings.base import *  # noqa: F403
from config.settings.security import *  # noqa: F403
from config.settings.database import *  # noqa: F403
from config.settings.cache import *  # noqa: F403
from config.settings.tasks import *  # noqa: F403
from config.settings.api import *  # noqa: F403
from config.settings.accounts import *  # noqa: F403
from config.settings.observability import *  # noqa: F403
from config.settings.crypto import *  # noqa: F403
from config.settings.plans import *  # noqa: F403
from config.settings.billing import *  # noqa: F403
from config.settings.sync import *  # noqa: F403
from config.settings.ai import *  # noqa: F403  # last: see CORS_ALLOW_HEADERS above
# isort: on

# Not settings but module-private helpers, which Django has always picked up as settings all the
# same ("_X".isupper() is true) and a star import leaves out. Re-exported so that the split leaves
# django.conf.settings exactly as it was; nothing reads them.
from config.settings.accounts import _SIX_DIGITS as _SIX_DIGITS
from config.settings.ai import _AI_PROVIDER_NAMES as _AI_PROVIDER_NAMES
from config.settings.plans import _DEFAULT_PLAN_LIMITS as _DEFAULT_PLAN_LIMITS
