"""Checking the arguments of p2pdist's runner and module functions before they act.

Salt hands a function's keyword arguments over as typed by YAML from the
command line, and without a ``**kwargs`` in the signature a mistyped keyword
makes Salt print the docstring and exit 0. So every public function takes
``**kwargs`` and calls :func:`invalid` first: an unknown keyword, a wrong type
or a missing required value is named, and nothing is done. Salt adds its own
``__pub_*`` keys to ``**kwargs``; those are not the admin's and are ignored.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

# Salt's target types (salt.utils.minions.CkMinions._check_<type>_minions).
TARGET_TYPES = ("glob", "pcre", "list", "grain", "grain_pcre", "pillar", "pillar_pcre",
                "pillar_exact", "compound", "compound_pillar_exact", "ipcidr", "range",
                "nodegroup")


class Spec:
    """What one argument must be: a Python type, required or not, a set of choices."""

    def __init__(self, kind: type, *, required: bool = False, choices: tuple[str, ...] = (),
                 positive: bool = False, hint: str = ""):
        self.kind, self.required, self.choices = kind, required, choices
        self.positive, self.hint = positive, hint

    def problem(self, name: str, value: Any) -> str:
        if self.required and value in ("", None):
            return f"{name} is required" + (f": {self.hint}" if self.hint else "")
        if value is None:
            return ""
        # bool is an int in Python; YAML gives True for "true", so a bool never passes as a number.
        if not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            return f"{name}={value!r} is not {_KIND_NAMES.get(self.kind, self.kind.__name__)}"
        if self.choices and value not in self.choices:
            return f"{name}={value!r} is not one of: {', '.join(self.choices)}"
        if self.positive and isinstance(value, int) and value <= 0:
            return f"{name}={value!r} must be more than 0"
        return ""


_KIND_NAMES = {bool: "True or False", int: "a whole number (seconds)", str: "a text",
               dict: "a mapping"}

TEXT = Spec(str)
FLAG = Spec(bool)
SECONDS = Spec(int, positive=True)
TGT_TYPE = Spec(str, choices=TARGET_TYPES)
DIST_ID = Spec(str, required=True, hint="the distribution id, as listed by: salt-run p2pdist.status")


ID_DIGITS = (16, 12)  # a distribution id's hex digits; an approval request's


def dist_id_text(value: Any) -> Any:
    """An id as the admin typed it. Salt's command line reads an id made only of decimal
    digits as a number: a distribution id (16 hex digits) about 1 in 1,850 times, an
    approval request's (12) about 1 in 280. It is given back as its text.
    Anything else is returned as it is (and checked as usual)."""
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) in ID_DIGITS:
        return str(value)
    return value


def salt_keys(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments the admin gave, without the ones Salt adds (``__pub_*``)."""
    return {k: v for k, v in extra.items() if not str(k).startswith("__")}


def invalid(function: str, specs: Mapping[str, Spec], given: Mapping[str, Any],
            extra: Mapping[str, Any] | None = None, extra_args: tuple[Any, ...] = ()) -> str:
    """The first thing wrong with a call, as a sentence for the admin; "" when all is well.

    ``given`` maps each named parameter to its value (the function's ``locals()``
    at its top), ``extra`` is its ``**kwargs`` and ``extra_args`` its ``*args``.
    """
    unknown = sorted(salt_keys(extra or {}))
    if unknown:
        name = unknown[0]
        near = difflib.get_close_matches(name, list(specs), n=1)
        guess = f" (did you mean {near[0]}?)" if near else ""
        return (f"{function}: unknown argument {name!r}{guess}; it takes: {', '.join(specs)}. "
                "Nothing was done.")
    if extra_args:
        return (f"{function}: too many positional arguments ({', '.join(map(repr, extra_args))}); "
                f"it takes: {', '.join(specs)}. Nothing was done.")
    for name, spec in specs.items():
        problem = spec.problem(name, given.get(name))
        if problem:
            return f"{function}: {problem}. Nothing was done."
    return ""
