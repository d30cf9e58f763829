"""A post by hand of a message that needs approval: only once its editions are approved.

Otherwise one person could publish by hand what the organisation wants two people to approve.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.approvals import gate, notify
from bot.compose.drafts import Draft

if TYPE_CHECKING:
    from bot.app import App
    from bot.compose.messages import Message
    from bot.schedule.alerts import Alerter


async def refusal(
    app: App, alerter: Alerter | None, message: Message, key: str, drafts: Sequence[Draft]
) -> str | None:
    """None when the message needs no approval or these editions are approved; else why not.

    A request for exactly these editions is made, and sent to the admins, if there is none.
    """
    needed = message.settings.approval
    if not needed:
        return None
    now = app.clock()
    request, ask = gate.ensure(
        app.engine,
        key=key,
        message=message.name,
        needed=needed,
        due_at=now,
        drafts=drafts,
        now=now,
    )
    if request.state == "rejected":
        return f"{key} was rejected (#{request.id}): {request.reason}"
    if gate.released(app.engine, request):
        return None
    if ask is not None and alerter is not None:
        await alerter.tell(
            f"Approval needed: {message.name} (#{request.id})",
            notify.ask_texts(ask, app.settings.tz),
            notify.buttons(request),
        )
    asked = "asked the admins for it" if ask is not None else "it was asked for already"
    return (
        f"{message.name} needs {needed} approval{'s' if needed != 1 else ''} before it goes "
        f"out: request #{request.id} ({asked}; `bot approvals {request.id}`). Once approved, "
        "post it again"
    )
