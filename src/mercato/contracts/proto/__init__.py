"""The internal API's gRPC contracts (docs/internal-transport.md §3): one ``.proto`` per
service, each with its committed generated code (``<name>_pb2``, ``<name>_pb2_grpc``);
``generate.py`` regenerates it."""
