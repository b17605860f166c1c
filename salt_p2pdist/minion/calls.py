"""How an execution function answers: its arguments checked first, every failure with a retcode.

Salt hands keyword arguments over as YAML typed them and exits 0 on a
returned refusal; so each function's call is checked (core/arguments.py), and
a refusal p2pdist raises becomes ``{"result": False, "error": ...}`` with
Salt's retcode set, as does a returned dict with ``result: False`` or an ``error``.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from salt_p2pdist.core import arguments as args_check
from salt_p2pdist.core.errors import P2PDistError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def problem(function: str, func: Callable[..., Any], specs: Mapping[str, args_check.Spec],
            args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """What is wrong with calling ``func(*args, **kwargs)``; "" when the call is good."""
    call = inspect.signature(func).bind(*args, **kwargs)
    call.apply_defaults()
    named = dict(call.arguments)
    return args_check.invalid(function, specs, named, named.pop("kwargs", {}), named.pop("args", ()))


def _dist_id_as_text(func: Callable[..., Any], args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The call with its ``dist_id`` as text: Salt reads an all-digit id as a number."""
    try:
        call = inspect.signature(func).bind_partial(*args, **kwargs)
    except TypeError:  # a bad call: problem() says what is wrong
        return args, kwargs
    if "dist_id" not in call.arguments:
        return args, kwargs
    call.arguments["dist_id"] = args_check.dist_id_text(call.arguments["dist_id"])
    return tuple(call.args), dict(call.kwargs)


def salt_function(specs: Mapping[str, args_check.Spec] | None,
                  context: Callable[[], dict[str, Any]]) -> Callable[[F], F]:
    """Decorate an execution function; ``specs`` None: its arguments are not checked.

    ``context`` gives Salt's ``__context__``, where ``retcode`` is set.
    """
    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            name = f"p2pdist.{func.__name__}"
            args, kwargs = _dist_id_as_text(func, args, kwargs)
            bad = problem(name, func, specs, args, kwargs) if specs is not None else ""
            try:
                ret = {"result": False, "error": bad} if bad else func(*args, **kwargs)
            except (P2PDistError, OSError) as exc:
                log.error("%s failed: %s", name, exc)
                ret = {"result": False, "error": str(exc)}
            if isinstance(ret, dict) and (ret.get("result") is False or ret.get("error")):
                context()["retcode"] = 1
            return ret

        return wrapper  # type: ignore[return-value]

    return decorate
