"""Admins: named by the operator (`reflector user promote`) or by another admin on the Users page; they see
and manage every transcript, and a plain user sees only their own."""

import asyncio
import subprocess
import sys

import httpx

from reflector.bootstrap import Services
from reflector.domain.auth import repository
from reflector.domain.auth.models import RoleChangeRefused
from reflector.domain.transcripts.models import NewTranscript
from reflector.settings import Settings
from tests.auth.conftest import sign_in, user_of
from tests.oidc.process import Provider


async def _reflector(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": str(settings.database.url),
        "REDIS_URL": str(settings.redis.url),
        "DATA_DIR": str(settings.data_dir),
        "LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "reflector", "user", *args]
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=120, env=env)


async def test_the_operator_promotes_and_demotes_from_the_command_line(
    oidc_services: Services, settings: Settings, provider: Provider
) -> None:
    boss = await user_of(oidc_services, provider, "boss@example.org")
    await oidc_services.auth.set_role(boss.id, "admin", by="test")  # so ops is never the last admin
    person = await user_of(oidc_services, provider, "Ops@Example.org")
    promoted = await _reflector(settings, "promote", "ops@example.org")
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.strip() == "Ops@Example.org is now an admin"
    assert (await repository.get_user(person.id)).role == "admin"  # type: ignore[union-attr]
    listed = await _reflector(settings, "list")
    assert f"{person.id}\tadmin\tOps@Example.org" in listed.stdout

    demoted = await _reflector(settings, "demote", person.id)
    assert demoted.returncode == 0 and (await repository.get_user(person.id)).role == "user"  # type: ignore[union-attr]
    unknown = await _reflector(settings, "promote", "nobody@example.org")
    assert unknown.returncode == 1
    assert "No user 'nobody@example.org'" in unknown.stderr and "sign in once" in unknown.stderr


async def test_an_admin_sees_and_manages_everything_a_user_only_their_own(
    oidc_app: str, oidc_services: Services, provider: Provider
) -> None:
    alice = await user_of(oidc_services, provider, "alice@example.org")
    boss = await user_of(oidc_services, provider, "boss@example.org")
    await oidc_services.auth.set_role(boss.id, "admin", by="test")
    private = await oidc_services.transcripts.create(NewTranscript(name="Alice's one-on-one", user_id=alice.id))
    async with httpx.AsyncClient(base_url=oidc_app) as as_boss, httpx.AsyncClient(base_url=oidc_app) as as_bob:
        await sign_in(as_boss, provider, "boss@example.org")
        await sign_in(as_bob, provider, "bob@example.org")
        assert [t["name"] for t in (await as_boss.get("/v1/transcripts")).json()["items"]] == ["Alice's one-on-one"]
        assert (await as_bob.get("/v1/transcripts")).json()["items"] == []
        assert (await as_bob.get(f"/v1/transcripts/{private.id}")).status_code == 403
        renamed = await as_boss.patch(f"/v1/transcripts/{private.id}", json={"name": "Renamed by the admin"})
        assert renamed.status_code == 200

        users = await as_boss.get("/settings/users")
        assert users.status_code == 200 and "alice@example.org" in users.text and "bob@example.org" in users.text
        assert (await as_bob.get("/settings/users")).status_code == 403
        bob = next(u for u in await repository.all_users() if u.email == "bob@example.org")
        made = await as_boss.post(f"/settings/users/{bob.id}/role", data={"role": "admin"})
        assert made.status_code == 303
        assert (await as_bob.get("/settings/users")).status_code == 200  # the new role holds at once
        own = await as_boss.post(
            f"/settings/users/{boss.id}/role", data={"role": "user"}, headers={"HX-Request": "true"}
        )
        assert "can&#39;t change your own role" in own.text
        assert (await repository.get_user(boss.id)).role == "admin"  # type: ignore[union-attr]


async def test_an_admin_cannot_change_their_own_role_by_naming_their_email(
    oidc_app: str, oidc_services: Services, provider: Provider
) -> None:
    boss = await user_of(oidc_services, provider, "boss@example.org")
    other = await user_of(oidc_services, provider, "other@example.org")
    for admin in (boss, other):  # two admins: only the own-role rule stands in the way
        await oidc_services.auth.set_role(admin.id, "admin", by="test")
    async with httpx.AsyncClient(base_url=oidc_app) as as_boss:
        await sign_in(as_boss, provider, "boss@example.org")
        for named, htmx in (("boss@example.org", True), ("BOSS@example.org", False)):
            headers = {"HX-Request": "true"} if htmx else {}
            own = await as_boss.post(f"/settings/users/{named}/role", data={"role": "user"}, headers=headers)
            assert own.status_code == 200 and "can&#39;t change your own role" in own.text, named
    assert (await repository.get_user(boss.id)).role == "admin"  # type: ignore[union-attr]


async def test_the_last_admin_stays_one_on_the_page_and_the_command_line(
    oidc_app: str, oidc_services: Services, settings: Settings, provider: Provider
) -> None:
    boss = await user_of(oidc_services, provider, "boss@example.org")
    deputy = await user_of(oidc_services, provider, "deputy@example.org")
    await oidc_services.auth.set_role(boss.id, "admin", by="test")
    await oidc_services.auth.set_role(deputy.id, "admin", by="test")
    async with httpx.AsyncClient(base_url=oidc_app) as as_deputy:
        await sign_in(as_deputy, provider, "deputy@example.org")
        demoted = await as_deputy.post(
            f"/settings/users/{boss.id}/role", data={"role": "user"}, headers={"HX-Request": "true"}
        )
        assert "boss is now a user" in demoted.text
    # The operator may still promote anyone, but not leave the install without an admin.
    last = await _reflector(settings, "demote", "deputy@example.org")
    assert last.returncode == 1
    assert "deputy is the last admin; make someone else an admin first" in last.stderr
    assert (await repository.get_user(deputy.id)).role == "admin"  # type: ignore[union-attr]
    assert (await _reflector(settings, "promote", "boss@example.org")).returncode == 0
    assert (await _reflector(settings, "demote", "deputy@example.org")).returncode == 0


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    oidc_services: Services, provider: Provider
) -> None:
    first = await user_of(oidc_services, provider, "first@example.org")
    second = await user_of(oidc_services, provider, "second@example.org")
    for _ in range(5):
        for admin in (first, second):
            await repository.set_role(admin.id, "admin")
        outcomes = await asyncio.gather(
            oidc_services.auth.set_role(second.id, "user", by=first.id),
            oidc_services.auth.set_role(first.id, "user", by=second.id),
            return_exceptions=True,
        )
        assert sum(isinstance(o, RoleChangeRefused) for o in outcomes) == 1, outcomes
        assert [u.role for u in await repository.all_users()].count("admin") == 1
