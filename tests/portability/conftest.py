from tests.connections.helpers import team  # noqa: F401  (owner, admin, member, viewer, outsider)
