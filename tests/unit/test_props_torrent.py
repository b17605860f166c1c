"""Property: torrent metadata from anyone is described and placed, or refused with InvalidRequest."""

from __future__ import annotations

import os
from pathlib import PurePosixPath, PureWindowsPath

import libtorrent as lt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hostile_strategies import path_elements
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salt_p2pdist.core import names
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.testing.hostile import leaves, rename, sign_unchecked
from salt_p2pdist.torrent import creation, metainfo, placement, rawnames
from salt_p2pdist.torrent.signature import KEY, ROOTS_KEY, check_torrent

FIXTURE_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A real closed-swarm-less v2 torrent of a small directory, and a master key pair."""
    root = tmp_path_factory.mktemp("torrent")
    src = root / "pkg"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "x").write_bytes(os.urandom(70_000))
    (src / "y").write_bytes(os.urandom(1_000))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (root / "master.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    (root / "master.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return root, creation.create(src, "http://192.0.2.1:6970/announce")


def _placed_within_dest(meta) -> None:
    """Every accepted file lands strictly below dest, by both OSes' reading of the path."""
    try:
        files = placement.dest_files(meta)
    except InvalidRequest:
        return
    for rel, _size, _root in files:
        for pure, dest in ((PurePosixPath, "/srv/p2pdist"), (PureWindowsPath, "C:/p2pdist")):
            target = pure(dest, rel)
            assert pure(dest) in target.parents and ".." not in target.parts, rel


@settings(max_examples=300, suppress_health_check=FIXTURE_OK)
@given(st.data())
def test_damaged_torrents_are_described_or_refused(base, data):
    raw = bytearray(base[1])
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at:at + data.draw(st.integers(0, 4))] = data.draw(st.binary(max_size=4))
    try:
        meta = metainfo.describe(bytes(raw), data.draw(st.sampled_from([names.POSIX, names.WINDOWS])))
    except InvalidRequest:
        return
    _placed_within_dest(meta)


trees = st.recursive(st.just("FILE"), lambda inner: st.dictionaries(
    path_elements.map(lambda s: s.encode("utf-8", "surrogatepass")), inner, min_size=1, max_size=3),
    max_leaves=6).filter(lambda t: isinstance(t, dict))


def _build(tree, files):
    if tree == "FILE":
        return files[0]
    return {k: _build(v, files) for k, v in tree.items()}


@settings(max_examples=300, suppress_health_check=FIXTURE_OK)
@given(trees, path_elements, st.sampled_from([names.POSIX, names.WINDOWS]))
def test_file_trees_with_any_names_are_refused_or_stay_below_dest(base, tree, name, flavor):
    x, _y = leaves(lt.bdecode(base[1])[b"info"][b"file tree"])
    evil = rename(base[1], name=name.encode("utf-8", "surrogatepass"), tree=_build(tree, [x]))
    try:
        meta = metainfo.describe(evil, flavor)
    except InvalidRequest:
        return
    for elements in rawnames.raw_paths(evil):  # nothing libtorrent would rename got through
        assert not any(names.element_problem(e, flavor) for e in elements), elements
    _placed_within_dest(meta)


signature_values = st.recursive(st.integers(-5, 5) | st.binary(max_size=12),
                                lambda inner: st.lists(inner, max_size=3)
                                | st.dictionaries(st.binary(max_size=4), inner, max_size=2), max_leaves=5)


@settings(max_examples=200, suppress_health_check=FIXTURE_OK)
@given(st.none() | signature_values, st.none() | signature_values, st.booleans())
def test_signature_fields_of_any_shape_are_refused(base, signature, roots, signed_first):
    root, torrent = base
    if signed_first:
        torrent = sign_unchecked(torrent, root / "master.pem", ["/srv/p2pdist"])
    decoded = lt.bdecode(torrent)
    for key, value in ((KEY, signature), (ROOTS_KEY, roots)):
        if value is not None:
            decoded[key] = value
    edited = bytes(lt.bencode(decoded))
    try:
        check_torrent(edited, root / "master.pub")
    except InvalidRequest:
        return
    assert signed_first and signature is None and roots is None  # only the untouched signed one
