"""The child processes of bench_internal_call.py: the server of each variant (FastAPI,
Starlette, gRPC with the project's own contracts/proto/inventory.proto, a NATS responder)
and the closed-loop client that times calls and reads the CPU of itself and of the
processes it is told to watch. Started by the parent as
``python _internal_call.py --role server|client --kind <variant> ...``."""

import argparse
import asyncio
import json
import signal
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

import _load

HOST = "127.0.0.1"
SUBJECT = "inventory.reserve"
VARIANTS = ("fastapi", "starlette", "grpc", "nats")
PRODUCTS = [str(uuid.UUID(int=i + 1)) for i in range(3)]
STOCK = {p: 1_000_000 for p in PRODUCTS}  # what the "server" looks up
REQUEST = {"reservation_id": str(uuid.uuid4()), "order_id": str(uuid.uuid4()),
           "items": [{"product_id": p, "quantity": 2} for p in PRODUCTS]}


def reserve(reservation_id: str, items: list[tuple[str, int]]) -> dict:
    """The whole server-side "work", the same in every variant: lookup + echo."""
    for product_id, quantity in items:
        if STOCK.get(product_id, 0) < quantity:
            raise ValueError("insufficient stock")
    return {"reservation_id": reservation_id, "status": "reserved",
            "expires_at": (datetime.now(UTC) + timedelta(minutes=15)).isoformat(),
            "items": [{"product_id": p, "quantity": q} for p, q in items]}




def http_app(kind: str):
    if kind == "fastapi":
        from fastapi import FastAPI
        from pydantic import BaseModel, ConfigDict, Field

        class Item(BaseModel):
            model_config = ConfigDict(extra="forbid")
            product_id: uuid.UUID
            quantity: int = Field(ge=1, le=10**6)

        class NewReservation(BaseModel):
            model_config = ConfigDict(extra="forbid")
            reservation_id: uuid.UUID
            order_id: uuid.UUID
            items: list[Item] = Field(min_length=1, max_length=100)

        app = FastAPI()

        @app.post("/internal/reservations", status_code=201, response_model=None)
        async def create(body: NewReservation) -> dict:
            return reserve(str(body.reservation_id),
                           [(str(i.product_id), i.quantity) for i in body.items])

        return app
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def create(request):
        body = json.loads(await request.body())
        return JSONResponse(reserve(body["reservation_id"], [
            (i["product_id"], i["quantity"]) for i in body["items"]]), status_code=201)

    return Starlette(routes=[Route("/internal/reservations", create, methods=["POST"])])


async def serve_http(args) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))  # the kernel picks a free port; the parent learns it from stdout
    config = uvicorn.Config(http_app(args.kind), http="httptools", loop="uvloop",
                            lifespan="off", log_level="warning", access_log=False,
                            timeout_keep_alive=120, backlog=1024)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])


async def serve_grpc(args) -> None:
    import grpc

    from mercato.contracts.proto import inventory_pb2 as pb
    from mercato.contracts.proto import inventory_pb2_grpc as pb_grpc

    class Servicer(pb_grpc.ReservationsServicer):
        async def Reserve(self, request, context):
            out = reserve(request.reservation_id,
                          [(i.product_id, i.quantity) for i in request.items])
            return pb.Reservation(
                reservation_id=out["reservation_id"], order_id=request.order_id,
                status=out["status"], expires_at=out["expires_at"],
                items=[pb.Item(**i) for i in out["items"]], created=True)

    server = grpc.aio.server()
    pb_grpc.add_ReservationsServicer_to_server(Servicer(), server)
    port = server.add_insecure_port(f"{HOST}:0")
    await server.start()
    print(f"PORT {port}", flush=True)
    await server.wait_for_termination()


async def serve_nats(args) -> None:
    import nats

    nc = await nats.connect(f"nats://{HOST}:{args.port}", max_reconnect_attempts=1)

    async def handle(msg) -> None:
        body = json.loads(msg.data)
        out = reserve(body["reservation_id"],
                      [(i["product_id"], i["quantity"]) for i in body["items"]])
        await msg.respond(json.dumps(out).encode())

    await nc.subscribe(SUBJECT, cb=handle)
    await nc.flush()
    print(f"PORT {args.port}", flush=True)
    await asyncio.Event().wait()




async def make_caller(args):
    """(call() -> the reply's status, close()) for the variant's transport."""
    if args.kind in ("fastapi", "starlette"):
        import aiohttp

        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=args.concurrency, keepalive_timeout=120),
            timeout=aiohttp.ClientTimeout(total=10))
        url = f"http://{HOST}:{args.port}/internal/reservations"
        headers = {"content-type": "application/json"}

        async def call():
            async with session.post(url, data=json.dumps(REQUEST), headers=headers) as resp:
                body = json.loads(await resp.read())
                return body["status"] if resp.status == 201 else str(resp.status)

        return call, session.close
    if args.kind == "grpc":
        import grpc

        from mercato.contracts.proto import inventory_pb2 as pb
        from mercato.contracts.proto import inventory_pb2_grpc as pb_grpc

        channel = grpc.aio.insecure_channel(f"{HOST}:{args.port}")
        stub = pb_grpc.ReservationsStub(channel)

        async def call():
            reply = await stub.Reserve(pb.ReserveRequest(
                reservation_id=REQUEST["reservation_id"], order_id=REQUEST["order_id"],
                items=[pb.Item(**i) for i in REQUEST["items"]]), timeout=10)
            return reply.status

        return call, channel.close
    import nats

    nc = await nats.connect(f"nats://{HOST}:{args.port}", max_reconnect_attempts=1)

    async def call():
        msg = await nc.request(SUBJECT, json.dumps(REQUEST).encode(), timeout=10)
        return json.loads(msg.data)["status"]

    return call, nc.close


async def run_client(args) -> None:
    watch = [int(p) for p in args.watch_pids.split(",") if p]
    call, close = await make_caller(args)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    start = time.perf_counter()
    record_from, stop = start + args.warmup, start + args.warmup + args.duration
    marks: dict[str, tuple] = {}

    async def mark_window() -> None:
        await asyncio.sleep(max(0.0, record_from - time.perf_counter()))
        marks["cpu0"] = [_load.proc_cpu_seconds(p) for p in watch], time.process_time()
        await asyncio.sleep(max(0.0, stop - time.perf_counter()))
        marks["cpu1"] = [_load.proc_cpu_seconds(p) for p in watch], time.process_time()

    async def worker() -> None:
        while (t0 := time.perf_counter()) < stop:
            try:
                status = await call()
                kind = None if status == "reserved" else f"reply {status}"
            except Exception as exc:  # any failure counts as an error, keeps the loop going
                kind = type(exc).__name__
            t1 = time.perf_counter()
            if record_from <= t1 < stop:
                if kind is None:
                    latencies.append(t1 - t0)
                else:
                    errors[kind] = errors.get(kind, 0) + 1

    try:
        await asyncio.gather(mark_window(), *(worker() for _ in range(args.concurrency)))
    finally:
        await close()
    (cpu0, self0), (cpu1, self1) = marks["cpu0"], marks["cpu1"]
    latencies.sort()
    n = len(latencies)

    def pick(q: float) -> float:
        return latencies[min(n - 1, int(q * n))] * 1000 if n else float("nan")

    print(json.dumps({
        "rps": n / args.duration, "calls": n, "p50_ms": pick(0.50), "p99_ms": pick(0.99),
        "errors": sum(errors.values()), "error_kinds": errors,
        "cpu_watched_s": [None if a is None or b is None else b - a
                          for a, b in zip(cpu0, cpu1, strict=True)],
        "cpu_self_s": self1 - self0}), flush=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--role", choices=["server", "client"], required=True)
    p.add_argument("--kind", choices=VARIANTS, required=True)
    p.add_argument("--port", type=int)
    p.add_argument("--watch-pids", default="")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=1.0)
    args = p.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops us with SIGTERM
    serve = {"grpc": serve_grpc, "nats": serve_nats}.get(args.kind, serve_http)
    import uvloop  # every variant on uvloop, as the platform's processes run

    uvloop.run(serve(args) if args.role == "server" else run_client(args))


if __name__ == "__main__":
    main()
