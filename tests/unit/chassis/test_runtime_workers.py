"""A service starts its background loops with ``Runtime.run``; the chassis stops them when
the process stops, the last started first, and one that fails to stop does not keep the
others running."""

from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.settings import load_settings


class Loop:
    def __init__(self, name: str, log: list[str], fails: bool = False) -> None:
        self.name, self.log, self.fails = name, log, fails

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")
        if self.fails:
            raise RuntimeError("stuck")


async def test_workers_are_started_at_once_and_stopped_last_first(tmp_path):
    runtime = Runtime("cart", load_settings(data_dir=tmp_path),
                      make_instance("cart", 1, "http://127.0.0.1:1", "test"))
    log: list[str] = []
    runtime.run(Loop("a", log))
    runtime.run(Loop("b", log, fails=True))

    async def also() -> None:
        log.append("stop c")

    runtime.on_stop(also)
    assert log == ["start a", "start b"]
    await runtime.stop_workers()
    assert log == ["start a", "start b", "stop c", "stop b", "stop a"]
    await runtime.stop_workers()  # a second stop has nothing left to stop
    assert log.count("stop a") == 1
