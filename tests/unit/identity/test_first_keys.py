"""Where identity's keys come from when it starts (``signing.open_key_ring``): an installation
from before keys lived in the database keeps its key, hence its sessions; a production
key file is taken in, and a new one is a rotation to it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mercato.chassis.clock import utc_now
from mercato.chassis.settings import load_settings
from mercato.services.identity.domain import KeyState
from mercato.services.identity.keys import DEV_KEY_NAME, SigningKey
from mercato.services.identity.signing import open_key_ring
from tests.support.memory import MemoryDatabase
from tests.support.memory.identity import MemorySigningKeyRepository


@pytest.fixture
def table() -> MemorySigningKeyRepository:
    """The key table every replica of the test shares (in memory)."""
    return MemorySigningKeyRepository(MemoryDatabase())


def runtime_for(table, tmp_path, **settings) -> SimpleNamespace:
    return SimpleNamespace(service="identity", db=table.db, keys=table,
                           settings=load_settings(data_dir=tmp_path / "data", **settings))


async def _keys(runtime):
    """The key ring as identity's composition root opens it."""
    s = runtime.settings
    return await open_key_ring(runtime.db, runtime.keys, utc_now, s.access_token_ttl,
                               s.service_dir("identity"), s.signing_key_file)


def states(keys) -> dict[str, KeyState]:
    return {k.kid: s for k, s in keys.states()}


async def test_an_older_installations_development_key_becomes_the_first_active_key(
        table, tmp_path):
    runtime = runtime_for(table, tmp_path)
    existing = SigningKey.generate()
    dev_file = runtime.settings.service_dir("identity") / DEV_KEY_NAME
    dev_file.write_bytes(existing.pem())
    keys = await _keys(runtime)
    assert states(keys) == {existing.kid: KeyState.ACTIVE}
    assert keys.signer().kid == existing.kid
    again = await _keys(runtime)  # a restart, or another replica: the same key
    assert states(again) == {existing.kid: KeyState.ACTIVE}
    assert dev_file.exists()  # deleted when its key retires


async def test_a_new_development_installation_makes_one_key_for_all_its_replicas(
        table, tmp_path):
    first = await _keys(runtime_for(table, tmp_path))
    second = await _keys(runtime_for(table, tmp_path))
    assert len(first.states()) == 1
    assert first.signer().kid == second.signer().kid


async def test_a_configured_key_file_is_taken_in_and_a_new_one_is_a_rotation_to_it(
        table, tmp_path):
    path = tmp_path / "signing.pem"
    first, second = SigningKey.generate(), SigningKey.generate()
    path.write_bytes(first.pem())
    keys = await _keys(runtime_for(table, tmp_path, signing_key_file=path))
    assert states(keys) == {first.kid: KeyState.ACTIVE}
    assert not (runtime_for(table, tmp_path).settings.service_dir("identity")
                / DEV_KEY_NAME).exists()
    path.write_bytes(second.pem())
    keys = await _keys(runtime_for(table, tmp_path, signing_key_file=path))
    assert states(keys) == {first.kid: KeyState.ACTIVE, second.kid: KeyState.PENDING}
    path.write_bytes(first.pem())  # an instance still holding the old file restarts
    keys = await _keys(runtime_for(table, tmp_path, signing_key_file=path))
    assert states(keys) == {first.kid: KeyState.ACTIVE, second.kid: KeyState.PENDING}
