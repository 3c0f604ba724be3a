"""The mobile backend-for-frontend (``mobile-bff``): ``/api/mobile/v1/...`` views shaped
for a phone and a GraphQL endpoint at ``/api/mobile/graphql`` (docs/api.md, docs/mobile.md)."""
