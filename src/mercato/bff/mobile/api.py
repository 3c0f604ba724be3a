"""The mobile BFF's HTTP routes: the caller's token to act for, a view, its answer.

Every route is for a signed-in user: the gateway checked the access token and forwards it
(``X-Mercato-User``), and the views call the services with it, so each service decides
what is the caller's as it does for any request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mercato.bff.mobile.home import home
from mercato.bff.mobile.views import MobileViews
from mercato.chassis import Principal, require_user
from mercato.chassis.web import USER_HEADER

router = APIRouter()
OrderId = Annotated[str, Path(min_length=1, max_length=100)]


class GraphQLRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: Annotated[str | None, Field(max_length=20_000)] = None
    variables: dict[str, Any] | None = None
    operationName: Annotated[str | None, Field(max_length=200)] = None
    extensions: dict[str, Any] | None = None


def views(request: Request, _user: Principal = Depends(require_user)) -> MobileViews:
    """The views for this request, acting for the user whose token the gateway checked."""
    return request.app.state.mobile.for_user(request.headers.get(USER_HEADER))


@router.get("/api/mobile/v1/home")
async def get_home(v: MobileViews = Depends(views)) -> dict:
    return await home(v.upstream, v.featured)


@router.get("/api/mobile/v1/orders/{order_id}")
async def get_order(order_id: OrderId, v: MobileViews = Depends(views)) -> dict:
    return await v.order(order_id)


@router.post("/api/mobile/graphql", response_model=None)
async def graphql(body: GraphQLRequest, v: MobileViews = Depends(views)) -> JSONResponse:
    ran, answer = await v.graphql.run(v.upstream, body.query, body.variables,
                                      body.operationName, body.extensions)
    return JSONResponse(answer, status_code=200 if ran else 400)
