"""When the supervisor's NATS connection comes back, every stream and bucket is set up
again (the broker may have come back without its store: docs/chaos.md F4), in a task of
its own, and a failure is said rather than raised into the client's reconnect loop."""

from __future__ import annotations

import asyncio

from mercato.platform.nats_up import restoring


async def test_a_reconnect_sets_up_the_streams_again_without_holding_the_reconnect():
    release, done, said = asyncio.Event(), [], []

    async def set_up() -> None:
        await release.wait()  # a JetStream that answers slowly
        done.append(1)

    reconnected = restoring(set_up, said.append)
    await asyncio.wait_for(reconnected(), 1.0)  # returns before the set-up is done
    assert done == []
    release.set()
    for _ in range(50):
        if done:
            break
        await asyncio.sleep(0.01)
    assert done == [1] and said == []


async def test_a_failed_set_up_is_said():
    said: list[str] = []

    async def set_up() -> None:
        raise TimeoutError("JetStream was not ready within 30s")

    await restoring(set_up, said.append)()
    for _ in range(50):
        if said:
            break
        await asyncio.sleep(0.01)
    assert said and "not set up again" in said[0] and "30s" in said[0]
