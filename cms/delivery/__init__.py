"""The delivery edge: the one request pipeline every GraphQL request goes through (delivery.md)."""
