"""Fixtures shared by every test layer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mercato.chassis.data.db import SqliteDatabase
from mercato.chassis.data.migrations import migrate, sqlite_url
from mercato.chassis.identity import ensure_private_key
from tests.support import run_order
from tests.system.platform import STARTS, Platform, make_platform
from tests.system.shared import SharedPlatforms
from tests.system.stacks import PG_SERVER, STACKS, stack_env

SERVICES_DIR = Path(__file__).resolve().parents[1] / "src" / "mercato" / "services"


_SPANS = InMemorySpanExporter()


def pytest_configure(config):
    """The test process records every span in memory (``spans`` fixture), as a served
    process would with an exporter: the tracing code runs in every test."""
    config.addinivalue_line("markers", "shared_platform(key, by=, keys=): the module's "
                            "tests run on a keyed shared platform (tests/system/shared.py)")
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_SPANS))
    trace.set_tracer_provider(provider)


# Tests in these folders start processes and speak HTTP to them (`-m "not system"` skips).
SYSTEM_FOLDERS = ("tests/system", "tests/security")


def pytest_collection_modifyitems(items):
    for item in items:
        if any(folder in str(item.fspath) for folder in SYSTEM_FOLDERS):
            item.add_marker(pytest.mark.system)
    run_order.order(items)


def pytest_collection_finish(session):
    run_order.note_last_users(session.items)


@pytest.hookimpl(trylast=True)  # after pytest's own: the item's fixtures are torn down
def pytest_runtest_teardown(item, nextitem):
    run_order.release_after(item)


def pytest_terminal_summary(terminalreporter):
    """How many platforms (`mercato up`) the session started and the seconds spent
    waiting for them to be ready: most of a system run's time."""
    if not STARTS:
        return
    seconds = sum(s for _, _, s in STARTS)
    terminalreporter.write_sep("-", f"platform starts: {len(STARTS)}, {seconds:.0f} s starting")
    for name, args, s in STARTS:
        terminalreporter.write_line(f"{s:6.1f} s  {name} {' '.join(args)}".rstrip())


@pytest.fixture(scope="session")
def platform(tmp_path_factory) -> Platform:
    """One running platform (`mercato up`) shared by the system and the security tests
    (each test uses its own users and products, so they do not see each other's
    effects); started on first use. A module that needs other settings starts its own
    with ``running_platform`` (tests/system/platform.py)."""
    p = make_platform(tmp_path_factory.mktemp("platform"))
    p.start()
    run_order.on_stop("platform", p.stop)  # after its last user (tests/support/run_order.py)
    yield p
    code = p.stop()
    assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"


@pytest.fixture(scope="session")
def production_platform(tmp_path_factory) -> Platform:
    """The shared platform's twin on the production profile (tests/system/stacks.py:
    PostgreSQL, three NATS nodes, Redis; MERCATO_ENV=production), started on first use."""
    tmp = tmp_path_factory.mktemp("production")
    ensure_private_key(tmp / "signing.pem")
    with stack_env("production") as env:
        # `mercato up --profile production`: MERCATO_ENV=production for every process,
        # so the secrets are given; the databases are the run's own (stack_env)
        p = make_platform(tmp, **env, MERCATO_PROFILE="production",
                          MERCATO_DATABASE_URL=PG_SERVER,
                          MERCATO_ADMIN_PASSWORD="a-production-admin-password",
                          MERCATO_SIGNING_KEY_FILE=str(tmp / "signing.pem"))
        p.start()
        run_order.on_stop("production_platform", p.stop)
        yield p
        code = p.stop()
        assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"


@pytest.fixture(scope="session")
def shared_platforms(tmp_path_factory) -> SharedPlatforms:
    """The platforms shared by key among modules with the same settings
    (tests/system/shared.py); each stopped after its last user."""
    registry = SharedPlatforms(tmp_path_factory)
    yield registry
    registry.close()


@pytest.fixture(params=STACKS)
def stack(request) -> Platform:
    """The running platform of each stack in turn: a test taking ``stack`` runs on the
    embedded one and on the production one (the same test, not a copy)."""
    name = "platform" if request.param == "embedded" else "production_platform"
    return request.getfixturevalue(name)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """The spans finished during this test (``get_finished_spans()``)."""
    _SPANS.clear()
    return _SPANS


@pytest.fixture(scope="session")
def _migrated_templates(tmp_path_factory):
    """One database per service migrated once per session; tests get copies of it
    (running Alembic costs far more than copying a small file)."""
    folder = tmp_path_factory.mktemp("templates")
    made: dict[str, Path] = {}

    def template(service: str) -> Path:
        if service not in made:
            path = folder / f"{service}.db"
            migrate(SERVICES_DIR / service / "migrations", sqlite_url(path),
                    folder / ".lock")
            made[service] = path
        return made[service]

    return template


@pytest.fixture
def service_db_for(tmp_path, _migrated_templates):
    """Factory: ``await service_db_for("inventory")`` gives a migrated SqliteDatabase."""
    opened: list[SqliteDatabase] = []

    async def make(service: str) -> SqliteDatabase:
        path = tmp_path / f"{service}.db"
        shutil.copyfile(_migrated_templates(service), path)
        db = SqliteDatabase(path)
        opened.append(db)
        return db

    yield make
    for db in opened:
        db._conn.close()
