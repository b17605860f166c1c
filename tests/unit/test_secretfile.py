"""Secrets are private from their first byte, whatever the umask."""

from __future__ import annotations

import json
import os
import stat

import pytest

from salt_p2pdist.agent.store import OrderStore
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.files import acl, secretfile
from salt_p2pdist.files.secretfile import private_dir, write_private
from salt_p2pdist.torrent import swarmca

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX modes")


@pytest.fixture
def lax_umask():
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def opened(monkeypatch):
    """Every (path, flags, mode) os.open is called with: no file may ever be created wider."""
    calls: list[tuple[str, int, int]] = []
    real = os.open

    def spy(path, flags, mode=0o777, *args, **kwargs):
        calls.append((str(path), flags, mode))
        return real(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    return calls


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
def test_written_0600_from_the_first_byte_under_umask_0(tmp_path, lax_umask, opened):
    path = tmp_path / "sub" / "agent.json"
    write_private(path, b'{"token": "t"}')
    write_private(path, b'{"token": "u"}')
    assert path.read_bytes() == b'{"token": "u"}'
    assert _mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["agent.json"]  # no temp file left
    creates = [c for c in opened if c[1] & os.O_CREAT]
    assert len(creates) == 2
    assert all(c[1] & os.O_EXCL and c[2] == 0o600 for c in creates)


@posix_only
def test_a_planted_symlink_at_a_temp_name_is_not_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    monkeypatch.setattr(secretfile.secrets, "token_hex", lambda _n: "fixed")
    (tmp_path / ".order.json.fixed.tmp").symlink_to(victim)
    with pytest.raises(FileExistsError):
        write_private(tmp_path / "order.json", b"secret")
    assert victim.read_bytes() == b"keep"
    assert not (tmp_path / "order.json").exists()


def test_exclusive_keeps_the_first_key(tmp_path):
    path = tmp_path / "tls.key"
    assert write_private(path, b"first", exclusive=True)
    assert not write_private(path, b"second", exclusive=True)
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["tls.key"]


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(_src, _dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_private(tmp_path / "order.json", b"x")
    assert list(tmp_path.iterdir()) == []


@posix_only
def test_orders_resume_data_and_keys_are_private(tmp_path, lax_umask, opened):
    store = OrderStore(tmp_path / "dists")
    store.save("d1", {"dist_id": "d1", "tls_cert": "PEM", "auth": "token"})
    store.save_resume("d1", b"resume with the announce URL")
    swarmca.host_key(tmp_path / "tls.key")
    swarmca.SwarmCA(tmp_path / "ca")
    for rel in ("dists/d1/order.json", "dists/d1/resume.dat", "tls.key", "ca/ca.key"):
        assert _mode(tmp_path / rel) == 0o600, rel
    assert _mode(tmp_path / "ca") == 0o700
    assert json.loads((tmp_path / "dists/d1/order.json").read_text())["auth"] == "token"
    secret_creates = [c for c in opened if c[1] & os.O_CREAT and not c[0].endswith("ca.pem.tmp")]
    assert secret_creates and all(c[2] == 0o600 for c in secret_creates)


@posix_only
def test_state_dir_is_created_0700_and_tightened(tmp_path, lax_umask, caplog):
    fresh = tmp_path / "fresh"
    private_dir(fresh)
    assert _mode(fresh) == 0o700
    lax = tmp_path / "lax"
    lax.mkdir(mode=0o755)
    private_dir(lax)
    assert _mode(lax) == 0o700
    assert "was mode 755" in caplog.text


@posix_only
def test_a_state_dir_of_another_user_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(tmp_path).st_uid + 1)
    with pytest.raises(InvalidRequest, match="belongs to uid"):
        private_dir(tmp_path)


def fake_windows(monkeypatch, fail: bool = False) -> list[list[str]]:
    """Pretend to run on Windows: record the icacls/whoami calls instead of making them."""
    calls: list[list[str]] = []

    def run(args: list[str]) -> str:
        calls.append(args)
        if args[0] == "whoami":
            return '"desktop-1\\agent","S-1-5-21-1-2-3-1001"\r\n'
        if fail:
            raise acl.AclError("icacls failed (5): Access is denied.")
        return "Successfully processed 1 files"

    monkeypatch.setattr(acl, "on_windows", lambda: True)
    monkeypatch.setattr(acl, "run", run)
    acl.own_sid.cache_clear()
    return calls


def test_on_windows_secrets_and_the_state_dir_get_an_owner_only_acl(tmp_path, monkeypatch):
    calls = fake_windows(monkeypatch)
    private_dir(tmp_path / "state")
    write_private(tmp_path / "state" / "agent.json", b"{}")
    icacls = [c for c in calls if c[0] == "icacls"]
    state, secret = icacls[0], icacls[1]
    assert state[1] == str(tmp_path / "state")
    assert state[2:5] == ["/inheritance:r", "/grant:r", "*S-1-5-21-1-2-3-1001:(OI)(CI)F"]
    assert "*S-1-5-32-545" in state and "*S-1-1-0" in state  # Users, Everyone: removed
    assert secret[1].startswith(str(tmp_path / "state" / ".agent.json."))  # before it is in place
    assert secret[2:5] == ["/inheritance:r", "/grant:r", "*S-1-5-21-1-2-3-1001:F"]
    assert (tmp_path / "state" / "agent.json").read_bytes() == b"{}"


def test_on_windows_a_failed_acl_is_reported_loudly(tmp_path, monkeypatch, caplog):
    fake_windows(monkeypatch, fail=True)
    write_private(tmp_path / "agent.json", b"{}")
    assert "cannot make" in caplog.text and "Access is denied" in caplog.text


def test_on_posix_no_acl_tool_is_called(tmp_path, monkeypatch):
    monkeypatch.setattr(acl, "on_windows", lambda: False)
    monkeypatch.setattr(acl, "run", lambda args: pytest.fail(f"called {args}"))
    acl.restrict_to_owner(tmp_path)
    acl.inherit_from_parent(tmp_path)
