"""An all-digit distribution id typed on Salt's command line arrives as a number."""

from __future__ import annotations

from typing import Any

from salt_p2pdist.core import arguments as args_check
from salt_p2pdist.minion.calls import salt_function


def test_an_id_of_16_digits_read_as_a_number_is_its_text_again() -> None:
    assert args_check.dist_id_text(3217708154007149) == "3217708154007149"
    assert args_check.dist_id_text("3f9a0c1d2e4b5a69") == "3f9a0c1d2e4b5a69"
    assert args_check.dist_id_text(229614135473) == "229614135473"  # an approval request's id
    assert args_check.dist_id_text(42) == 42  # not an id: checked and refused as before
    assert args_check.dist_id_text(True) is True
    assert args_check.DIST_ID.problem("id", args_check.dist_id_text(3217708154007149)) == ""


def test_a_minion_function_gets_its_dist_id_as_text() -> None:
    context: dict[str, Any] = {}

    @salt_function({"dist_id": args_check.DIST_ID, "purge": args_check.FLAG}, lambda: context)
    def remove(dist_id: str = "", purge: bool = False, *args: Any, **kwargs: Any) -> Any:
        return {"result": True, "dist_id": dist_id, "purge": purge}

    assert remove(3217708154007149, purge=True) == {"result": True, "dist_id": "3217708154007149",
                                                     "purge": True}
    assert remove(dist_id=3217708154007149)["dist_id"] == "3217708154007149"
    assert remove("3f9a0c1d2e4b5a69", __pub_fun="p2pdist.remove")["dist_id"] == "3f9a0c1d2e4b5a69"
    assert remove(dist_id=42)["result"] is False and "retcode" in context  # refused as before
