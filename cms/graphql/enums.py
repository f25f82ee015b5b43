"""The enums of the contract; domain enums are registered as they are, so no value is mapped twice."""

from __future__ import annotations

from enum import Enum

import strawberry

from cms.content.roles import Role
from cms.models import ArticleStatus, SourceKind, SourceRole

strawberry.enum(ArticleStatus)
strawberry.enum(SourceKind)
strawberry.enum(SourceRole)
strawberry.enum(Role)


@strawberry.enum
class BodyFormat(Enum):
    MARKDOWN = "MARKDOWN"
    HTML = "HTML"
    TEXT = "TEXT"


@strawberry.enum
class ChangeAction(Enum):
    UPSERT = "UPSERT"
    DELETE = "DELETE"


@strawberry.enum
class WebhookEvent(Enum):
    ARTICLE_PUBLISHED = "ARTICLE_PUBLISHED"
    ARTICLE_UNPUBLISHED = "ARTICLE_UNPUBLISHED"
    ARTICLE_UPDATED = "ARTICLE_UPDATED"
    ARTICLE_DELETED = "ARTICLE_DELETED"
    CONTENT_CHANGED = "CONTENT_CHANGED"


__all__ = ["ArticleStatus", "BodyFormat", "ChangeAction", "Role", "SourceKind", "SourceRole", "WebhookEvent"]
