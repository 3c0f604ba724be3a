"""Operations on the running platform that more than one front end performs: the CLI
(``mercato deploy / promote / rollback``) and the gateway's console routes. Neither the
CLI nor the gateway owns them; both import them from here (docs/deployments.md)."""
