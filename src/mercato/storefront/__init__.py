"""The storefront: server-rendered pages for shoppers, a client of the public API
(docs/web.md)."""
