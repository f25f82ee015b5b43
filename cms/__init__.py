"""Newsroom CMS: a GraphQL content API for news sites."""
