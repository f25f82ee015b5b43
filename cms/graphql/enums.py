"""The enums of the contract; domain enums are registered as they are, so no value is mapped twice."""

from __future__ import annotations

from enum import Enum

import strawberry

from cms.content.roles import Role
from cms.content.webhooks import Event as WebhookEvent
from cms.models import ArticleStatus, CorrectionKind, SourceKind, SourceRole

strawberry.enum(ArticleStatus)
strawberry.enum(SourceKind)
strawberry.enum(SourceRole)
strawberry.enum(CorrectionKind)
strawberry.enum(Role)
strawberry.enum(WebhookEvent, name="WebhookEvent")


@strawberry.enum
class BodyFormat(Enum):
    MARKDOWN = "MARKDOWN"
    HTML = "HTML"
    TEXT = "TEXT"


@strawberry.enum
class ChangeAction(Enum):
    UPSERT = "UPSERT"
    DELETE = "DELETE"


__all__ = [
    "ArticleStatus",
    "BodyFormat",
    "ChangeAction",
    "CorrectionKind",
    "Role",
    "SourceKind",
    "SourceRole",
    "WebhookEvent",
]
