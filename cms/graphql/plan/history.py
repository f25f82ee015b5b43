"""What changed: the change feed (`changes`) and an article's revisions."""
