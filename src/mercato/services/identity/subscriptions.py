"""Every event identity consumes, listed in one place."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription
from mercato.contracts.loyalty import LoyaltyPointsChanged
from mercato.services.identity.handlers import Identity


def subscriptions(app: FastAPI) -> list[Subscription]:
    identity: Identity = app.state.identity
    return [Subscription("loyalty_balances", (LoyaltyPointsChanged,),
                         identity.on_loyalty_points_changed)]
