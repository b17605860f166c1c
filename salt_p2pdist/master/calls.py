"""How a runner command answers: its call checked, the work done as the admin who asks, any failure exit 1.

The runner hands in Salt's side (``__opts__``, ``__context__``, the calling
user) and the work, one function of this package taking a
:class:`~salt_p2pdist.master.caller.Caller`. Salt exits 0 on some refusals;
a non-zero retcode and an explicit result make a failure unmistakable to
scripts and to people (salt-run exits with a returned dict's "retcode").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from salt_p2pdist.core import arguments as args_check
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.master.caller import Caller, failed
from salt_p2pdist.master.minions import SaltMinions


def run_command(function: str, specs: Mapping[str, Any], given: dict[str, Any],
                work: Callable[[Caller], Any], *, opts: dict[str, Any], context: dict[str, Any],
                user: str) -> Any:
    """Check the call (``given``: the runner function's ``locals()``), then do ``work`` as ``user``.

    A refusal, found before the work or raised by it (an invalid master
    config too), is the answer with ``retcode`` 1, and sets Salt's retcode.
    """
    bad = args_check.invalid(function, specs, given, given.pop("kwargs"), given.pop("args"))
    try:
        result = failed(bad) if bad else work(Caller(
            MasterSettings.from_opts(opts), opts, SaltMinions(opts), user))
    except P2PDistError as exc:
        result = failed(f"{function} refused: {exc}")
    if isinstance(result, dict) and result.get("retcode"):
        context["retcode"] = 1
    return result
