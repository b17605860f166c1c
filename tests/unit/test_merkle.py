from __future__ import annotations

import hashlib
import os

import pytest

from salt_p2pdist.torrent import creation, merkle, metainfo

KiB, MiB = 1024, 1024 * 1024
SIZES = {"small": 1000, "one_block": 16 * KiB, "block_plus_one": 16 * KiB + 1,
         "three_blocks": 3 * 16 * KiB, "mib": 3 * MiB + 12345}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A directory of files of the interesting sizes and libtorrent's roots for them."""
    import random
    root = tmp_path_factory.mktemp("merkle") / "content"
    root.mkdir()
    for i, (name, size) in enumerate(SIZES.items()):
        (root / name).write_bytes(random.Random(i).randbytes(size))
    meta = metainfo.describe(creation.create(root, ""))
    return root, {path.split("/", 1)[1]: (size, r) for path, size, r in meta.files}


@pytest.mark.parametrize("name", SIZES)
def test_pieces_root_equals_libtorrents(tree, name):
    root, lt_roots = tree
    size, lt_root = lt_roots[name]
    assert size == SIZES[name]
    assert merkle.pieces_root(root / name) == lt_root
    assert merkle.matches(root / name, size, lt_root)


def test_pieces_root_by_hand(tmp_path):
    sha = lambda b: hashlib.sha256(b).digest()  # noqa: E731
    one = tmp_path / "one"
    one.write_bytes(b"x" * 10)
    assert merkle.pieces_root(one) == sha(b"x" * 10).hex()  # one leaf is its own root
    three = tmp_path / "three"
    blocks = [b"a" * merkle.BLOCK, b"b" * merkle.BLOCK, b"c"]
    three.write_bytes(b"".join(blocks))
    leaves = [sha(b) for b in blocks] + [bytes(32)]  # padded to 4 leaves with zero hashes
    expected = sha(sha(leaves[0] + leaves[1]) + sha(leaves[2] + leaves[3]))
    assert merkle.pieces_root(three) == expected.hex()


def test_empty_file_has_no_root_but_matches_an_empty_entry(tmp_path):
    empty = tmp_path / "empty"
    empty.touch()
    assert merkle.pieces_root(empty) == ""
    # libtorrent describes an empty file's root as all zeros; size alone decides
    assert merkle.matches(empty, 0, "0" * 64)
    assert merkle.matches(empty, 0, "")
    assert not merkle.matches(empty, 1, "")


def test_matches_false_for_wrong_content_size_symlink_dir_or_missing(tree, tmp_path):
    root, lt_roots = tree
    size, lt_root = lt_roots["block_plus_one"]
    src = root / "block_plus_one"
    assert not merkle.matches(src, size - 1, lt_root)
    assert not merkle.matches(src, size + 1, lt_root)
    assert not merkle.matches(src, size, lt_roots["one_block"][1])

    changed = tmp_path / "changed"
    data = bytearray(src.read_bytes())
    data[-1] ^= 1  # same size, last byte differs
    changed.write_bytes(bytes(data))
    assert not merkle.matches(changed, size, lt_root)

    link = tmp_path / "link"
    os.symlink(src, link)
    assert merkle.pieces_root(link) == lt_root  # the content is right...
    assert not merkle.matches(link, size, lt_root)  # ...but a symlink is not a regular file

    assert not merkle.matches(root, size, lt_root)  # a directory
    assert not merkle.matches(tmp_path / "missing", size, lt_root)
