"""The local platform's runtime, apart from the ``mercato`` commands (``mercato.cli``):
the supervisor and its control socket, the NATS servers and their users, the workloads'
keys and certificates, replicas, the trace store, ``run_up`` itself, and the libraries the
commands use to find and reach a running platform (``running``) and to deploy on it
(``deploy``). Nothing here imports ``mercato.cli`` (an import-linter contract)."""
