"""The checkout saga as a state machine: which step runs next, what a reply means, and
which compensations undo what. The runner (saga/runner.py) does the I/O.

Steps: reserve stock -> authorize payment -> schedule shipment -> capture -> confirm.
A step whose outcome is unknown (a timeout, a 5xx) is compensated as if it had
succeeded: every compensation is idempotent and leaves a tombstone, so undoing something
that never happened is harmless and a late request cannot bring it back.

Each forward step but the confirmation has a deadline, counted from its record's first
attempt (``started_at``) to the time the runner reads from its clock and hands in: once it
has passed, the saga gives up on the step and compensates. Compensations have none: they
must finish. The confirmation (after capture) has none either: the money is taken, so the
saga keeps committing the reservation until it succeeds or is refused for good. A reply
for a step that is not the one running (late, or a duplicate) changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum

from mercato.services.orders.domain.order import Reason
from mercato.services.orders.domain.progress import Milestone


class Step(StrEnum):
    RESERVE = "reserve_stock"
    AUTHORIZE = "authorize_payment"
    SCHEDULE = "schedule_shipment"
    CAPTURE = "capture_payment"
    CONFIRM = "confirm_order"


FORWARD = [Step.RESERVE, Step.AUTHORIZE, Step.SCHEDULE, Step.CAPTURE, Step.CONFIRM]
COMPENSATION = {
    Step.RESERVE: "release_stock",
    Step.AUTHORIZE: "void_payment",
    Step.SCHEDULE: "cancel_shipment",
    Step.CAPTURE: "refund_payment",
}
# The order's timeline milestone that a forward step's success is (``progress``).
MILESTONE = {
    Step.RESERVE: Milestone.RESERVED,
    Step.AUTHORIZE: Milestone.PAID,
    Step.SCHEDULE: Milestone.SHIPMENT_SCHEDULED,
}
ON_REJECT = {
    Step.RESERVE: Reason.OUT_OF_STOCK,
    Step.AUTHORIZE: Reason.PAYMENT_DECLINED,
    Step.SCHEDULE: Reason.SHIPPING_UNAVAILABLE,
    Step.CAPTURE: Reason.PAYMENT_UNAVAILABLE,
}
ON_GIVE_UP = {
    Step.RESERVE: Reason.EXPIRED,
    Step.AUTHORIZE: Reason.PAYMENT_UNAVAILABLE,
    Step.SCHEDULE: Reason.SHIPPING_UNAVAILABLE,
    Step.CAPTURE: Reason.PAYMENT_UNAVAILABLE,
}


# Undoing a confirmed order, in this order, when its customer cancels it.
REFUND_STEPS = ["refund_payment", "cancel_shipment", "return_stock"]


class Phase(StrEnum):
    FORWARD = "forward"
    COMPENSATING = "compensating"
    CONFIRMED = "confirmed"
    REFUNDING = "refunding"  # a confirmed order being cancelled at the customer's request
    CANCELLED = "cancelled"


@dataclass
class StepRecord:
    name: str
    state: str = "running"  # running | done | rejected | unknown | compensated
    attempts: int = 0
    failures: int = 0  # answers that were transient failures (5xx), not silence
    started_at: str | None = None
    finished_at: str | None = None
    detail: str | None = None


@dataclass
class CheckoutSaga:
    order_id: str
    card_token: str
    phase: Phase = Phase.FORWARD
    step: Step = Step.RESERVE
    reason: str | None = None
    cancel_requested: bool = False
    records: dict[str, StepRecord] = field(default_factory=dict)
    refunded: bool = False  # a captured payment was refunded: the cancellation says so
    version: int = 0  # of the stored row this was read from (compare-and-set on save)
    mode: str = "orchestration"  # or "choreography": the row records what orders heard

    @property
    def finished(self) -> bool:
        return self.phase in (Phase.CONFIRMED, Phase.CANCELLED)

    @property
    def needs_card(self) -> bool:
        """Whether the card token may still be used: only to authorize the payment, so
        while the checkout goes forward and that step has not succeeded (a retried
        authorization still has it). Capture, void and refund name the payment, not the
        card."""
        return self.phase is Phase.FORWARD and self.step in (Step.RESERVE, Step.AUTHORIZE)

    def _forget_card(self) -> None:
        """Not kept at rest longer than needed: the token goes with the save that records
        the authorization or the end of the forward steps, so no crash can leave it."""
        if not self.needs_card:
            self.card_token = ""

    def record(self, step: Step | str) -> StepRecord:
        return self.records.setdefault(str(step), StepRecord(str(step)))

    def next_compensation(self) -> Step | None:
        """The latest forward step that may have acted and is not undone yet."""
        for step in reversed(FORWARD[:-1]):
            rec = self.records.get(str(step))
            if rec and rec.state in ("done", "unknown", "running") and rec.attempts:
                return step
        return None

    def begin(self, step: Step, at: str) -> None:
        rec = self.record(step)
        rec.attempts += 1
        rec.started_at = rec.started_at or at
        if rec.state != "unknown":
            rec.state = "running"

    def _answers(self, step: Step) -> bool:
        """Whether a reply for ``step`` is news: it is the step running now. Otherwise the
        reply is late (the saga gave up on the step) or a duplicate (it already moved on)
        and the saved state decides, not the reply."""
        return self.phase is Phase.FORWARD and step is self.step

    def succeeded(self, step: Step, at: str, detail: str | None = None) -> None:
        if not self._answers(step):
            return
        rec = self.record(step)
        rec.state, rec.finished_at, rec.detail = "done", at, detail
        if step is Step.CONFIRM:
            self.phase = Phase.CONFIRMED
        else:
            self.step = FORWARD[FORWARD.index(step) + 1]
        self._forget_card()
        self.honour_cancel()

    def rejected(self, step: Step, at: str, detail: str, reason: Reason | None = None) -> None:
        """A participant refused for good; ``reason`` overrides the step's usual one (an
        expired reservation refused at commit, after capture, cancels as ``expired``)."""
        if not self._answers(step):
            return
        rec = self.record(step)
        rec.state, rec.finished_at, rec.detail = "rejected", at, detail
        self._compensate(reason or ON_REJECT[step])

    def overdue(self, step: Step, at: str, deadline: float | None) -> bool:
        """Whether ``deadline`` seconds have passed at ``at`` since ``step`` was first
        tried. The confirmation, a step never tried, and ``deadline=None`` never are."""
        rec = self.records.get(str(step))
        if step is Step.CONFIRM or deadline is None or rec is None or not rec.started_at:
            return False
        elapsed = datetime.fromisoformat(at) - datetime.fromisoformat(rec.started_at)
        return elapsed.total_seconds() >= deadline

    def failed(self, step: Step, at: str, detail: str, *, deadline: float | None,
               max_attempts: int | None = None, answered: bool = True) -> bool:
        """A transient failure; True when the step should be tried again.

        The step is tried again until its deadline has passed; a participant that
        answered with a failure (a 5xx) is also given at most ``max_attempts`` answers.
        One that does not answer at all (down, restarting) is waited for until the
        deadline, since the order can still succeed once it is back.
        """
        if not self._answers(step):
            return False
        rec = self.record(step)
        rec.state, rec.detail = "unknown", detail
        if answered:
            rec.failures += 1
        if step is Step.CONFIRM:
            return True
        if rec.started_at and datetime.fromisoformat(at) < datetime.fromisoformat(
                rec.started_at):  # started in our future: the clock went back (F11)
            rec.started_at = at  # so the deadline counts afresh, not minutes late
        if self.overdue(step, at, deadline):
            self.give_up(step, at, f"deadline of {deadline:g}s passed: {detail}")
        elif answered and max_attempts is not None and rec.failures >= max_attempts:
            self.give_up(step, at, detail)
        return self.phase is Phase.FORWARD

    def give_up(self, step: Step, at: str, detail: str) -> None:
        """Stop trying ``step``: its outcome is unknown, so it is compensated with the
        rest (undoing what never happened is harmless)."""
        if not self._answers(step) or step is Step.CONFIRM:
            return
        rec = self.record(step)
        rec.state, rec.finished_at, rec.detail = "unknown", at, detail
        self._compensate(ON_GIVE_UP[step])

    def compensated(self, step: Step, at: str, detail: str | None = None, *,
                    refunded: bool = False) -> None:
        """``step`` is undone; ``refunded`` when undoing it gave captured money back."""
        rec = self.record(step)
        if rec.state == "compensated":  # a duplicate reply
            return
        self.refunded = self.refunded or refunded
        rec.state, rec.detail = "compensated", detail or rec.detail
        comp = self.record(COMPENSATION[step])
        comp.state, comp.finished_at = "done", at
        comp.started_at = comp.started_at or at
        comp.attempts += 1
        if self.next_compensation() is None:
            self.phase = Phase.CANCELLED

    def honour_cancel(self) -> None:
        """Act on a customer's cancellation once it is safe to: before the capture it
        compensates; after the confirmation it refunds; in between it waits."""
        if not self.cancel_requested:
            return
        if self.phase is Phase.FORWARD and self.step is not Step.CONFIRM:
            self._compensate(Reason.CUSTOMER_REQUEST)
        elif self.phase is Phase.CONFIRMED:
            self.reason = Reason.CUSTOMER_REQUEST.value
            self.phase = Phase.REFUNDING

    def next_refund_step(self) -> str | None:
        for name in REFUND_STEPS:
            rec = self.records.get(name)
            if rec is None or rec.state != "done":
                return name
        return None

    def refund_step_done(self, name: str, at: str, detail: str | None = None, *,
                         refunded: bool = False) -> None:
        rec = self.record(name)
        if rec.state == "done":  # a duplicate reply
            return
        self.refunded = self.refunded or refunded
        rec.state, rec.finished_at, rec.detail = "done", at, detail
        rec.started_at = rec.started_at or at
        rec.attempts += 1
        if self.next_refund_step() is None:
            self.phase = Phase.CANCELLED

    def _compensate(self, reason: Reason) -> None:
        self.reason = self.reason or reason.value
        self.phase = Phase.COMPENSATING
        self._forget_card()
        if self.next_compensation() is None:
            self.phase = Phase.CANCELLED

    def to_state(self) -> dict:
        return {"records": {k: asdict(v) for k, v in self.records.items()},
                "refunded": self.refunded}

    @classmethod
    def from_row(cls, row: dict, state: dict) -> CheckoutSaga:
        saga = cls(order_id=row["order_id"], card_token=row["card_token"],
                   phase=Phase(row["phase"]), step=Step(row["step"]), reason=row["reason"],
                   cancel_requested=bool(row["cancel_requested"]),
                   refunded=bool(state.get("refunded")), version=int(row.get("version") or 0),
                   mode=row.get("mode") or "orchestration")
        saga.records = {k: StepRecord(**v) for k, v in state["records"].items()}
        return saga
