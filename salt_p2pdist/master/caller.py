"""Who runs a p2pdist command on the master, and what they may do.

A :class:`Caller` carries the master's settings, Salt's opts and the
:class:`~salt_p2pdist.master.minions.Minions` it reaches minions through, and
the admin who asks (``approved_by`` is set while another admin's approval
carries a held request out). On top of Salt's own ACLs, ``p2pdist:admins``
says who may push what to whom, and the two-person rule may hold a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core import present
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.errors import Forbidden
from salt_p2pdist.master import audit, origin
from salt_p2pdist.master.approval import ApprovalDesk, ApprovalRule
from salt_p2pdist.master.authz import Admins, host_groups, targets_within
from salt_p2pdist.master.catalog import Catalog
from salt_p2pdist.master.minions import Minions


@dataclass(frozen=True)
class Caller:
    cfg: MasterSettings
    opts: dict[str, Any]  # Salt's master opts (pki_dir, interface, output...)
    minions: Minions
    user: str
    approved_by: str = ""  # another admin approved this held request
    origin_agent: AgentClient | None = None  # the master's seeder; built from cfg when None

    def origin(self) -> AgentClient:
        return self.origin_agent or origin.origin_client(self.cfg, self.opts)

    def catalog(self) -> Catalog:
        return origin.catalog_of(self.cfg)

    def shown(self, result: dict[str, Any]) -> dict[str, Any]:
        """The one document on stdout: ISO dates; for people also no unknown (None) values."""
        structured = present.is_structured(self.opts.get("output"))
        return dict(present.for_json(result) if structured else present.for_humans(result))

    def desk(self) -> ApprovalDesk:
        return ApprovalDesk(self.cfg.state_dir / "approvals")

    def audit(self, action: str, result: str, **details: Any) -> None:
        """Append to the master's audit log under this caller's name; a refusal is recorded too."""
        audit.record(self.cfg, action, self.user, result, **details)

    def authorize(self, source: Path, tgt: str, tgt_type: str, targets: list[str]) -> bool:
        """p2pdist:admins: may this user push ``source`` to ``tgt``? Forbidden if not.

        True if the user may push to any minion (then a re-push also re-orders
        the distribution's earlier targets, see status.to_order).
        """
        admins = Admins.from_config(self.cfg.admins)
        groups = host_groups(self.user) if admins.grants else []
        admins.check(self.user, groups, source, tgt, tgt_type)
        allowed = admins.targets_for(self.user, groups, source)
        # The expression matched; the minions it names must be within the allowed ones too.
        if allowed is not None and not targets_within(
                set(targets), [set(self._compound(expr)) for expr in allowed]):
            raise Forbidden(f"{self.user} may push only to {', '.join(allowed)}; "
                            f"{tgt!r} reaches other minions")
        return allowed is None

    def authorize_change(self, source: Path, targets: list[str]) -> None:
        """p2pdist:admins: may this user change a distribution of ``source`` to ``targets``?

        Whoever could push it to those minions may change it (its priority); Forbidden otherwise.
        """
        admins = Admins.from_config(self.cfg.admins)
        if admins.grants is None:
            return
        allowed = admins.targets_for(self.user, host_groups(self.user), source)
        if allowed is None:
            return
        if not allowed or not targets_within(set(targets), [set(self._compound(e)) for e in allowed]):
            raise Forbidden(f"{self.user} may not change the distribution of {source}: p2pdist:admins "
                            f"lets {self.user} push it " + (f"only to {', '.join(allowed)}" if allowed
                                                             else "nowhere"))

    def _compound(self, expr: str) -> list[str]:
        return self.minions.resolve(expr, "compound")

    def hold(self, action: str, targets: list[str], args: dict[str, Any]) -> dict[str, Any] | None:
        """Under the two-person rule, write the request down and stop here.

        Returns the command's answer when the request waits for a second admin,
        None when it may go on (no rule applies, or it is being approved now).
        """
        if self.approved_by:
            return None
        rule = ApprovalRule.from_config(self.cfg.approval)
        why = rule.reasons(targets, self._compound) if rule.active else []
        if not why:
            return None
        entry = self.desk().request(action, self.user, args, why)
        self.audit(action, "awaiting approval", request=entry["id"], reasons=why, **args)
        return {"result": True, "state": "awaiting approval", "request": entry["id"], "reasons": why,
                "comment": f"nothing was sent: another admin must run salt-run p2pdist.approve {entry['id']}"}


def failed(message: str) -> dict[str, Any]:
    """A refusal as the command's answer: ``retcode`` 1 makes salt-run exit non-zero."""
    return {"result": False, "error": message, "retcode": 1}
