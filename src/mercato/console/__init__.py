"""The console: server-rendered pages for operators (admins only), a client of the public
API's operations routes (docs/web.md)."""
