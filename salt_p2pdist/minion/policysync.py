"""Keeping the agent's share policy in step with pillar, and telling the master of changes."""

from __future__ import annotations

import json
import logging
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.core.policy import Policy
from salt_p2pdist.core.reports import POLICY_TAG_PREFIX
from salt_p2pdist.minion.host import Minion
from salt_p2pdist.minion.site import policy_body

log = logging.getLogger(__name__)
REFUSED_MARKER = "policy_refused"  # the refused policy last announced, so it is announced once


def sync_policy(minion: Minion, agent: AgentClient) -> str:
    """Hand the agent the pillar's policy; an invalid one is refused and the last valid stays.

    Returns why the policy was refused, "" when it is in force. A change that
    takes effect, or a new invalid policy, is announced to the master, which
    writes it into its audit log.
    """
    body: dict[str, Any] = {}
    try:
        body = policy_body(minion)
        before = agent.call("GET", "/policy").get("digest", "")
        Policy.from_pillar(body["policy"], site_wan_rate=body["wan_rate"], site=body["site"])
        after = agent.call("POST", "/policy", body).get("digest", "")
    except P2PDistError as exc:
        log.error("p2pdist: policy from pillar refused, the last valid one stays: %s", exc)
        announce(minion, f"refused: {exc}", body)
        return str(exc)
    if after != before:
        announce(minion, "applied", body)
    return ""


def announce(minion: Minion, result: str, body: dict[str, Any]) -> None:
    """Tell the master the policy was applied or refused; a refusal once, not at every report."""
    marker = minion.settings().state_dir / REFUSED_MARKER
    if result != "applied":
        seen = json.dumps(body.get("policy"), sort_keys=True, default=str)
        if marker.exists() and marker.read_text() == seen:
            return
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(seen)
    else:
        marker.unlink(missing_ok=True)
    minion.salt.fire_master({"result": result, "policy": body.get("policy"), "site": body.get("site")},
                            POLICY_TAG_PREFIX + minion.id)
