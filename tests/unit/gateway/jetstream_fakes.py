"""An in-memory stand-in for a JetStreamContext with several streams, answering as the
real server does for what the console's operations routes use: publish, stream_info,
add/update_stream, get_msg, get_last_msg, delete_msg, consumer_info."""

from __future__ import annotations

from types import SimpleNamespace

from nats.js.errors import NotFoundError


class InMemoryJetStream:
    def __init__(self) -> None:
        self.streams: dict[str, dict] = {}
        self.positions: dict[tuple[str, str], int] = {}  # (stream, consumer) -> ack floor
        self.down = False

    def add(self, name: str, prefix: str) -> None:
        self.streams[name] = {"prefix": prefix, "messages": {}, "next": 1}

    def _stream_of(self, subject: str) -> str:
        for name, s in self.streams.items():
            if subject.startswith(s["prefix"]):
                return name
        raise NotFoundError

    async def add_stream(self, config):
        self.add(config.name, config.subjects[0].rstrip(">"))

    async def update_stream(self, config):
        pass

    async def publish(self, subject, data, headers=None, stream=None, timeout=None):
        if self.down:
            raise TimeoutError("nats: timeout")
        name = stream or self._stream_of(subject)
        s = self.streams[name]
        seq = s["next"]
        s["messages"][seq] = SimpleNamespace(subject=subject, data=data, seq=seq,
                                             headers=dict(headers or {}))
        s["next"] += 1
        return SimpleNamespace(stream=name, seq=seq)

    async def stream_info(self, name, subjects_filter=None):
        if self.down:
            raise TimeoutError("nats: timeout")
        if name not in self.streams:
            raise NotFoundError
        s = self.streams[name]
        last = s["next"] - 1
        first = min(s["messages"]) if s["messages"] else (last + 1 if last else 0)
        return SimpleNamespace(state=SimpleNamespace(first_seq=first, last_seq=last,
                                                     messages=len(s["messages"])))

    async def get_msg(self, name, seq):
        if name not in self.streams or seq not in self.streams[name]["messages"]:
            raise NotFoundError
        return self.streams[name]["messages"][seq]

    async def get_last_msg(self, name, subject):
        found = [m for m in self.streams[name]["messages"].values() if m.subject == subject]
        if not found:
            raise NotFoundError
        return found[-1]

    async def delete_msg(self, name, seq):
        del self.streams[name]["messages"][seq]

    async def consumer_info(self, stream, consumer):
        if (stream, consumer) not in self.positions:
            raise NotFoundError
        floor = self.positions[(stream, consumer)]
        return SimpleNamespace(ack_floor=SimpleNamespace(stream_seq=floor),
                               delivered=SimpleNamespace(stream_seq=floor),
                               num_pending=0, num_ack_pending=0)
