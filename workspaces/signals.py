from django.dispatch import Signal

# Sent inside the deleting transaction, before the workspace row goes: apps drop what foreign
# keys do not cascade (for example cached data keys). Arguments: workspace.
workspace_deleting = Signal()
# Sent after a member left or was removed. Arguments: workspace_id, user_id.
member_removed = Signal()
# Sent after an invitation was created or re-sent; the token exists only here and in the email.
# Arguments: invitation, token.
invitation_sent = Signal()
