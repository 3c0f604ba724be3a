"""Regenerates the Python code of the ``.proto`` files beside this module (committed, so
an install needs no compiler): ``python -m mercato.contracts.proto.generate``.
tests/unit/contracts/test_proto_current.py generates into a temporary folder and fails
when the committed code differs."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[2]  # .../src, so the generated code imports mercato.contracts.proto.*


def protos() -> list[Path]:
    return sorted(HERE.glob("*.proto"))


def generate(out: Path) -> None:
    """Writes ``<name>_pb2.py``, ``<name>_pb2.pyi`` and ``<name>_pb2_grpc.py`` of every
    proto under ``out``/mercato/contracts/proto (needs grpcio-tools: a dev dependency)."""
    from grpc_tools import protoc  # only here: the services need only grpcio and protobuf

    out.mkdir(parents=True, exist_ok=True)
    for proto in protos():
        args = ["protoc", f"-I{SRC}", f"--python_out={out}", f"--pyi_out={out}",
                f"--grpc_python_out={out}", str(proto.relative_to(SRC))]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed on {proto.name}")


if __name__ == "__main__":
    generate(SRC)
    print(f"generated the code of {len(protos())} protos in {HERE}", file=sys.stderr)
