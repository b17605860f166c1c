"""The share policy in force on minions, as each reports it (``salt-run p2pdist.policy``)."""

from __future__ import annotations

from typing import Any

from salt_p2pdist.core import arguments as args_check
from salt_p2pdist.master.caller import Caller, failed

SILENT = "did not answer (offline or busy)"
ARGS = {"tgt": args_check.Spec(str, required=True, hint="which minions (e.g. 'laptop*')"),
        "tgt_type": args_check.TGT_TYPE, "timeout": args_check.SECONDS}


def policy_in_force(caller: Caller, tgt: str, tgt_type: str, timeout: int) -> dict[str, Any]:
    """``{minion: its policy}``; retcode 1 when one did not answer or refused its pillar policy."""
    minions = caller.minions
    targets = minions.resolve(tgt, tgt_type)
    if not targets:
        return failed(f"target {tgt!r} ({tgt_type}) matches no minion. "
                      "Check it with: salt --preview-target ...")
    ret = minions.run(targets, "p2pdist.policy", [], None, timeout)
    out: dict[str, Any] = {m: ret.get(m, SILENT) for m in targets}
    if any(not isinstance(r, dict) or not r.get("result") for r in out.values()):
        out["retcode"] = 1
    return caller.shown(out)
