"""The GraphQL edge: thin types and resolvers that parse arguments, call `content` and map results."""
