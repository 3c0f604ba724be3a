"""Orders' adapters: its event store and repository (the database), the participants'
commands over HTTP and gRPC, the catalog and cart clients, and the outbox's published
events. They implement ports.py and the repository the handlers use."""
