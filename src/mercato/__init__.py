"""Mercato: an e-commerce platform built as real Python microservices."""

__version__ = "0.1.0"
