"""Carrying out a request held by the two-person rule (``salt-run p2pdist.approve``).

Another admin than the one who asked approves; the request then runs exactly
as it was asked, under the requester's name with the approver's beside it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from salt_p2pdist.core import arguments as args_check
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.master import cancel, orders, push
from salt_p2pdist.master.approval import ApprovalRule
from salt_p2pdist.master.caller import Caller, failed

ARGS = {"id": args_check.Spec(str, required=True, hint="the request id a held push or cancel"
                              " returned, as listed by: salt-run p2pdist.status"),
        "wait": args_check.FLAG, "timeout": args_check.SECONDS}


def approve(caller: Caller, request_id: str, wait: bool, timeout: int) -> dict[str, Any]:
    """``caller`` approves; the held push or cancel runs as its requester asked it."""
    try:
        rule = ApprovalRule.from_config(caller.cfg.approval)
        entry = caller.desk().take(request_id, caller.user, rule.ttl)
        if entry["action"] == "push":
            # The approver vouches for the push, so they must be allowed to make it.
            args = entry["args"]
            source = orders.check_source(args["path"]).resolve()
            targets = caller.minions.resolve(args["tgt"], args["tgt_type"])
            caller.authorize(source, args["tgt"], args["tgt_type"], targets)
    except P2PDistError as exc:
        caller.audit("approve", f"refused: {exc}", request=request_id)
        return failed(f"p2pdist.approve refused: {exc}")
    caller.audit("approve", "ok", request=entry["id"], carries_out=entry["action"],
                 requested_by=entry["user"])
    as_asked = dataclasses.replace(caller, user=entry["user"], approved_by=caller.user)
    if entry["action"] == "push":
        result = push.push(as_asked, push.PushRequest(**entry["args"], wait=wait, timeout=timeout))
    else:
        result = cancel.cancel(as_asked, entry["args"]["id"], entry["args"]["purge"])
    return {**result, "request": entry["id"], "requested_by": entry["user"], "approved_by": caller.user}
