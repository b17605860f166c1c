"""An order for a distribution the agent already holds: the same place, a newer order.

The master orders a distribution again when it is pushed again (more targets, a
new order id, another priority) or to retry a failure. Such an order changes
the record and retries a failed transfer; it never moves the distribution
elsewhere (that takes a remove first).
"""

from __future__ import annotations

from typing import Any

from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.finishing import Readder
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.transfer import Preparation, Transfer, preparing_status, status_of
from salt_p2pdist.core import destpaths, names
from salt_p2pdist.core.errors import InvalidRequest


def changes_for(record: OrderRecord, order: dict[str, Any]) -> dict[str, Any]:
    """What a checked ``order`` changes in the ``record`` of a distribution held here;
    InvalidRequest if it sends the distribution elsewhere."""
    # The same place by the host's own rules: on Windows C:\Dist and c:/dist/ are one folder.
    same = destpaths.same_place(record.dest, order.get("dest"), names.local_flavor())
    if order["mode"] == "fetch" and not same:
        raise InvalidRequest(f"distribution {record.dist_id} is already on this host at "
                             f"{record.dest or None}; remove it before sending it elsewhere")
    changes: dict[str, Any] = {}
    if "targets" in order:
        changes["targets"] = order["targets"] or []
    if order.get("order_id"):  # the master's latest order; reports name it (status rule)
        changes["order_id"] = str(order["order_id"])
    if order.get("priority"):  # a re-push may change the level
        changes["priority"] = str(order["priority"])
    return changes


def reorder_preparing(book: TransferBook, prep: Preparation, order: dict[str, Any]) -> dict[str, Any]:
    """Another order while staging is being seeded: the record changes, the copy goes on."""
    changes = changes_for(prep.record, order)
    if changes:
        book.amend_preparing(prep, **changes)
    return preparing_status(prep)


def reorder(book: TransferBook, readder: Readder, known: Transfer, order: dict[str, Any]) -> dict[str, Any]:
    """Apply a checked ``order`` to the ``known`` transfer; its status. The caller holds the ops lock."""
    changes = changes_for(known.record, order)
    if changes:
        book.update(known, **changes)
    if known.error:  # a failed transfer is ordered again: retry it
        failed_move = known.place_failed
        book.set_error(known, "", place_failed=failed_move)
        known.handle.clear_error()
        known.handle.resume()
        if failed_move:  # a failed move into dest, too
            readder.retry_place(known)
    return status_of(known)
