from salt_p2pdist.core.arguments import DIST_ID, FLAG, SECONDS, TEXT, TGT_TYPE, Spec, invalid

PUSH = {"path": Spec(str, required=True), "tgt": TEXT, "tgt_type": TGT_TYPE, "wait": FLAG,
        "timeout": SECONDS}


def call(extra=None, args=(), **given):
    base = {"path": "/srv/a", "tgt": "*", "tgt_type": "glob", "wait": False, "timeout": 10}
    return invalid("p2pdist.push", PUSH, {**base, **given}, extra or {}, args)


def test_a_good_call_passes_and_salts_own_keys_are_ignored():
    assert call() == ""
    assert call({"__pub_user": "root", "__pub_jid": "2026", "__pub_arg": []}) == ""


def test_a_mistyped_keyword_is_named_with_a_guess():
    msg = call({"tgt_typ": "glob"})
    assert "unknown argument 'tgt_typ'" in msg and "did you mean tgt_type?" in msg
    assert "Nothing was done" in msg


def test_an_unknown_target_type_lists_the_known_ones():
    msg = call(tgt_type="globb")
    assert "tgt_type='globb' is not one of: glob, pcre, list" in msg


def test_ill_typed_values_are_named():
    assert "timeout='abc' is not a whole number" in call(timeout="abc")
    assert "timeout=True is not a whole number" in call(timeout=True)
    assert "timeout=0 must be more than 0" in call(timeout=0)
    assert "wait='yes please' is not True or False" in call(wait="yes please")


def test_missing_required_and_extra_positional():
    assert "path is required" in call(path="")
    assert "too many positional arguments ('x')" in call(args=("x",))
    assert "the distribution id" in invalid("p2pdist.cancel", {"id": DIST_ID}, {"id": ""})
