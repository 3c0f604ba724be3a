"""The card provider over HTTP (``MERCATO_PAYMENT_PROVIDER_URL``): the simulator
``mercato up`` runs (mercato.simulators.provider), or anything speaking its API.

Every call carries its natural idempotency key (``authorize:<our reference>``,
``<action>:<authorization id>``), so a call repeated after a lost answer is the same
call to the provider: the same authorization, one charge. An answer is read as the port
says: 2xx approved; 402, 404, 409 and 422 declined or refused (the provider's reason);
anything else, a broken connection or no answer in time is a ``ProviderFailure`` (the
outcome unknown: the handlers record a doubt, doubts.py).
"""

from __future__ import annotations

import aiohttp

from mercato.services.payments.domain import (
    ProviderFailure,
    ProviderRecord,
    ProviderResult,
    ProviderTimeout,
)

REFUSALS = (402, 404, 409, 422)


class HttpProvider:
    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def authorize(self, token: str, amount: int, currency: str,
                        reference: str) -> ProviderResult:
        return await self._post("/authorizations", f"authorize:{reference}",
                                {"reference": reference, "token": token, "amount": amount,
                                 "currency": currency})

    async def capture(self, provider_reference: str, amount: int) -> ProviderResult:
        return await self._move("capture", provider_reference, {"amount": amount})

    async def void(self, provider_reference: str) -> ProviderResult:
        return await self._move("void", provider_reference, {})

    async def refund(self, provider_reference: str, amount: int) -> ProviderResult:
        return await self._move("refund", provider_reference, {"amount": amount})

    async def lookup(self, reference: str) -> ProviderRecord | None:
        status, body = await self._call("GET", "/authorizations", None, None,
                                        params={"reference": reference})
        if status == 404:
            return None
        if status != 200:
            raise ProviderFailure(f"the card provider answered {status} to a lookup")
        return ProviderRecord(reference=body["id"], status=body["status"])

    async def _move(self, action: str, reference: str, body: dict) -> ProviderResult:
        return await self._post(f"/authorizations/{reference}/{action}",
                                f"{action}:{reference}", body)

    async def _post(self, path: str, key: str, body: dict) -> ProviderResult:
        status, answer = await self._call("POST", path, key, body)
        if 200 <= status < 300:
            return ProviderResult(approved=True, reference=answer.get("id"))
        if status in REFUSALS:
            return ProviderResult(approved=False, reason=answer.get("reason") or
                                  answer.get("error") or str(status))
        raise ProviderFailure(f"the card provider answered {status}")

    async def _call(self, method: str, path: str, key: str | None, body: dict | None,
                    params: dict | None = None) -> tuple[int, dict]:
        headers = {"Idempotency-Key": key} if key else {}
        try:
            async with self._http().request(method, self.url + path, json=body,
                                            params=params, headers=headers) as r:
                try:
                    answer = await r.json(content_type=None)
                except ValueError:
                    answer = None
                return r.status, answer if isinstance(answer, dict) else {}
        except TimeoutError as exc:
            raise ProviderTimeout(f"no answer within {self.timeout}s") from exc
        except aiohttp.ClientError as exc:
            raise ProviderFailure(f"the card provider could not be reached: {exc}") from exc
