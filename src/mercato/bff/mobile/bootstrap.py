"""The mobile BFF's composition root: the only place that names concrete adapters.

A process of its own (``mercato serve mobile-bff``) on the chassis like a service — its
workload identity, the registry, probes, metrics, traces — with no database and no
events: it stores nothing and reads the services over HTTP as the caller."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from mercato.bff.mobile.api import router
from mercato.bff.mobile.graphql import Limits, MobileGraphQL
from mercato.bff.mobile.settings import MobileSettings
from mercato.bff.mobile.upstream import ServiceUpstream
from mercato.bff.mobile.views import MobileViews
from mercato.chassis import Runtime, ServiceClient, create_service


@dataclass
class Mobile:
    client: ServiceClient
    graphql: MobileGraphQL
    settings: MobileSettings

    def for_user(self, token: str | None) -> MobileViews:
        upstream = ServiceUpstream(self.client, token, timeout=self.settings.call_timeout)
        return MobileViews(upstream, self.graphql, self.settings.featured)


async def _wire(runtime: Runtime, app: FastAPI) -> None:
    s = MobileSettings()
    limits = Limits(depth=s.graphql_max_depth, tokens=s.graphql_max_tokens,
                    aliases=s.graphql_max_aliases, persisted=s.persisted_queries,
                    calls=s.graphql_call_budget,
                    introspection=runtime.settings.env != "production")
    app.state.mobile = Mobile(runtime.client, MobileGraphQL(limits), s)


def build(runtime: Runtime) -> FastAPI:
    return create_service(runtime, routers=[router], migrations_dir=None, on_start=_wire)
