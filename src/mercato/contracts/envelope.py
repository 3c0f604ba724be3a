"""The envelope every integration event travels in, and the base of event schemas.

Evolution is additive: a new field gets a default, a consumer ignores fields it does not
know (``extra="ignore"``), and a change that cannot be additive is a new ``version``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """Base of every event payload. Subclasses set ``SOURCE`` (the publishing service)
    and may set ``VERSION``; the event's type is the class name (past tense)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    SOURCE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    @classmethod
    def subject(cls) -> str:
        return subject_for(cls.SOURCE, cls.type_name())


class Envelope(BaseModel):
    """What is published: identity, provenance and tracing around one event payload."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str
    type: str
    version: int = 1
    source: str
    occurred_at: str
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    payload: dict[str, Any]

    @property
    def subject(self) -> str:
        return subject_for(self.source, self.type)


def subject_for(source: str, type_name: str) -> str:
    return f"mercato.{source}.{type_name}"


def stream_for(source: str) -> str:
    """The JetStream stream that holds one publishing service's events."""
    return f"MERCATO_{source.upper()}"
