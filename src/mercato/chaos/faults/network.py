"""F5 and F6: faults of the network between services, set as toxics on the fault proxies
of ``mercato up --fault-proxies`` (docs/chaos.md §2) and healed by removing them."""

from __future__ import annotations

from mercato.chaos.faults.base import Fault, Target

PARTICIPANTS = ("inventory", "payments", "shipping")  # the services orders calls (F5)


class SlowParticipant(Fault):
    """F5: latency with jitter both ways between orders (and everyone) and one
    participant's instances; half the time connections are also reset after some bytes."""
    id, what, lengths = "F5", "latency, jitter and resets to a participant", (4.0, 6.0)

    async def inject(self, target: Target) -> str:
        rng = target.rng
        self.pattern = f"to-{rng.choice(PARTICIPANTS)}-*"
        slow = {"latency_ms": rng.randint(100, 400), "jitter_ms": rng.randint(20, 150)}
        back = dict(slow)
        if rng.random() < 0.5:
            back["reset_after"] = rng.randint(20_000, 80_000)
        await target.control("fault", proxy=self.pattern,
                             set={"upstream": slow, "downstream": back})
        extra = f", reset after {back['reset_after']} B" if "reset_after" in back else ""
        return f"{self.pattern} {slow['latency_ms']}±{slow['jitter_ms']} ms{extra}"

    async def heal(self, target: Target) -> str:
        healed = await target.control("heal", proxy=self.pattern)
        return f"healed {len(healed)} proxies"


class PartitionPayments(Fault):
    """F6: orders (and everyone) cut off from payments for longer than the step deadline:
    every byte to and from ``to-payments-*`` thrown away."""
    id, what = "F6", "partition from payments past the step deadline"
    pattern = "to-payments-*"

    async def inject(self, target: Target) -> str:
        hole = {"blackhole": True}
        await target.control("fault", proxy=self.pattern,
                             set={"upstream": hole, "downstream": hole})
        return f"{self.pattern} blackhole"

    async def heal(self, target: Target) -> str:
        healed = await target.control("heal", proxy=self.pattern)
        return f"healed {len(healed)} proxies"

    @classmethod
    def window(cls, step_deadline: float) -> tuple[float, float]:
        """2-4 seconds past the step deadline, so the saga does give up the step."""
        return (step_deadline + 2.0, step_deadline + 4.0)
