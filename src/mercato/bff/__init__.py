"""Backends-for-frontends: one process per client kind (seed 004), each a client of the
services' published APIs that stores nothing and imports no service."""
