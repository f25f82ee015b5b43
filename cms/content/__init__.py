"""The domain: every newsroom rule lives here once, called by the GraphQL edge, the CLI and the importers."""
