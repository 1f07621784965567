"""The agent API (/api/v1)."""

from ninja import NinjaAPI

api = NinjaAPI(title="Patch review console: agent API", version="1", urls_namespace="api-v1")
