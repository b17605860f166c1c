"""The master's audit log: where it lives, and recording without failing the command.

The one place the master's :class:`~salt_p2pdist.files.audit.AuditLog` is
built; the runner, the returner and the origin agent's arguments all use it.
"""

from __future__ import annotations

import logging
from typing import Any

from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.files.audit import AuditLog

log = logging.getLogger(__name__)


def audit_log(cfg: MasterSettings) -> AuditLog:
    return AuditLog(cfg.state_dir / "audit.log")


def record(cfg: MasterSettings, action: str, user: str, result: str, **details: Any) -> None:
    """Append to the audit log; a command goes on (and says so in the log) if it cannot be written."""
    try:
        audit_log(cfg).record(action, user, result=result, **details)
    except (OSError, P2PDistError) as exc:
        log.error("p2pdist: cannot write the audit log: %s", exc)
