"""The published language: integration event schemas and shared API models, one module
per publishing service; data only. Filled by the messaging work (issue 3)."""
