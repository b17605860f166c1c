"""Which old file seeds which new one (core.delta): the pure choice."""

from __future__ import annotations

from salt_p2pdist.core.delta import OLDER, SAME, Seed, choose_seeds, close_in_size

MIB = 1 << 20


def test_the_old_version_at_the_same_path_seeds_a_file_changed_in_place() -> None:
    files = [("img/disk.raw", 16 * MIB, "r2")]
    seeds = choose_seeds(files, {}, {"img/disk.raw": ("/d/img/disk.raw", 16 * MIB)}, {})
    assert seeds == [Seed("img/disk.raw", "/d/img/disk.raw", 16 * MIB, OLDER)]


def test_identical_content_wins_over_an_older_version_at_the_same_path() -> None:
    files = [("pkg/a.bin", 100, "root-a")]
    seeds = choose_seeds(files, {"root-a": "/other/a.bin"}, {"pkg/a.bin": ("/d/pkg/a.bin", 100)},
                         {"pkg/a.bin": ("/e/pkg/a.bin", 100)})
    assert seeds == [Seed("pkg/a.bin", "/other/a.bin", 100, SAME)]


def test_dest_comes_before_another_held_distribution() -> None:
    files = [("pkg/a.bin", 100, "new")]
    at_dest, held = {"pkg/a.bin": ("/d/pkg/a.bin", 100)}, {"pkg/a.bin": ("/e/pkg/a.bin", 100)}
    assert choose_seeds(files, {}, at_dest, held)[0].source == "/d/pkg/a.bin"
    assert choose_seeds(files, {}, {}, held)[0].source == "/e/pkg/a.bin"


def test_a_same_named_file_of_another_size_class_is_not_worth_a_copy() -> None:
    files = [("big.iso", 100 * MIB, "new")]
    assert choose_seeds(files, {}, {"big.iso": ("/d/big.iso", 10 * MIB)}, {}) == []
    # ... but the next candidate still is, when its size is close.
    held = {"big.iso": ("/e/big.iso", 90 * MIB)}
    assert choose_seeds(files, {}, {"big.iso": ("/d/big.iso", 10 * MIB)}, held) == [
        Seed("big.iso", "/e/big.iso", 90 * MIB, OLDER)]


def test_only_as_much_as_the_new_file_holds_is_copied() -> None:
    files = [("a", 1000, "n1"), ("b", 1000, "n2")]
    at_dest = {"a": ("/d/a", 1500), "b": ("/d/b", 800)}
    assert [s.length for s in choose_seeds(files, {}, at_dest, {})] == [1000, 800]


def test_empty_files_and_files_without_a_candidate_get_no_seed() -> None:
    files = [("empty", 0, ""), ("new-file", 10, "n"), ("kept", 10, "k")]
    seeds = choose_seeds(files, {"": "/x/empty-old"}, {"empty": ("/d/empty", 0), "kept": ("/d/kept", 10)}, {})
    assert [s.rel for s in seeds] == ["kept"]


def test_close_in_size_bounds() -> None:
    assert close_in_size(50, 100) and close_in_size(200, 100) and close_in_size(100, 100)
    assert not close_in_size(49, 100) and not close_in_size(201, 100)
    assert not close_in_size(0, 100) and not close_in_size(100, 0)


def test_a_tree_with_a_few_changed_files() -> None:
    """Unchanged files come whole from the held version; changed ones start from their old copy."""
    files = [(f"rel/f{i:03d}", 4096, f"v2-{i}") for i in range(200)]
    changed = {7, 99, 150}
    same_root = {f"v2-{i}": f"/d/rel/f{i:03d}" for i in range(200) if i not in changed}
    at_dest = {f"rel/f{i:03d}": (f"/d/rel/f{i:03d}", 4096) for i in range(200)}
    seeds = choose_seeds(files, same_root, at_dest, {})
    assert len(seeds) == 200
    assert {int(s.rel[-3:]) for s in seeds if s.kind == OLDER} == changed
