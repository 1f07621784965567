"""The client's error types: one exception class per RFC 9457 problem `type` the API answers.

The console's problem types end in a stable slug (`…/problems/stale-base`); `problem_error`
picks the class for that slug, so an agent writes `except StaleBase:` instead of comparing
strings. A slug this client does not know yet still raises an `ApiError` (with `.slug` set),
so a newer console never breaks an older client. The list mirrors console/api/problems.py,
which this package cannot import (no Django here); tests/patches/test_client_problems.py
checks that every type the console declares has its class here.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://patch-console.invalid/problems/"


class ApiError(Exception):
    """An error answer from the API: its status and RFC 9457 problem document."""

    slug = ""  # the problem type's last path segment; "" for an answer that carried none

    def __init__(self, status: int, problem: dict[str, Any], headers: dict[str, str]) -> None:
        detail = problem.get("detail") or problem.get("title") or "error"
        super().__init__(f"{status} {problem.get('type', '')}: {detail}")
        self.status = status
        self.problem = problem
        self.headers = headers

    @property
    def title(self) -> str:
        return str(self.problem.get("title") or "")

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or "")


class Unreachable(Exception):
    """The console could not be reached (connection refused, DNS, timeout), after retries."""


# 400
class BadRequest(ApiError):
    slug = "bad-request"


class BadSignature(ApiError):
    slug = "bad-signature"


# 401 / 403
class Unauthorized(ApiError):
    slug = "unauthorized"


class UnknownKey(ApiError):
    slug = "unknown-key"


class KeyNotYours(ApiError):
    slug = "key-not-yours"


class RevokedKey(ApiError):
    slug = "revoked-key"


# 404 / 405
class NotFound(ApiError):
    slug = "not-found"


class UnknownTarget(ApiError):
    slug = "unknown-target"


class RevisesNotFound(ApiError):
    slug = "revises-not-found"


class UnknownLabel(ApiError):
    slug = "unknown-label"


class MethodNotAllowed(ApiError):
    slug = "method-not-allowed"


# 409
class ReplayedNonce(ApiError):
    slug = "replayed-nonce"


class ReplayedPatch(ApiError):
    slug = "replayed-patch"


class StaleBase(ApiError):
    slug = "stale-base"


class NotWithdrawable(ApiError):
    slug = "not-withdrawable"


class RevisesNotOpen(ApiError):
    slug = "revises-not-open"


class RebaseConflict(ApiError):
    slug = "rebase-conflict"


class NotStale(ApiError):
    slug = "not-stale"


# 413 / 415 / 422
class PayloadTooLarge(ApiError):
    slug = "payload-too-large"


class UnsupportedMediaType(ApiError):
    slug = "unsupported-media-type"


class MalformedEnvelope(ApiError):
    slug = "malformed-envelope"


class InvalidParameters(ApiError):
    slug = "validation-error"


class PatchTypeMismatch(ApiError):
    slug = "patch-type-mismatch"


class UnknownTest(ApiError):
    slug = "unknown-test"


class PatchDoesNotApply(ApiError):
    slug = "patch-does-not-apply"


class RevisesOtherTarget(ApiError):
    slug = "revises-other-target"


# 429 / 5xx
class TooManyPending(ApiError):
    slug = "too-many-pending"


class TooManyReports(ApiError):
    slug = "too-many-reports"


class InternalError(ApiError):
    slug = "internal-error"


class ServiceUnavailable(ApiError):
    slug = "service-unavailable"


PROBLEM_CLASSES: dict[str, type[ApiError]] = {
    cls.slug: cls
    for cls in (
        BadRequest,
        BadSignature,
        Unauthorized,
        UnknownKey,
        KeyNotYours,
        RevokedKey,
        NotFound,
        UnknownTarget,
        RevisesNotFound,
        UnknownLabel,
        MethodNotAllowed,
        ReplayedNonce,
        ReplayedPatch,
        StaleBase,
        NotWithdrawable,
        RevisesNotOpen,
        RebaseConflict,
        NotStale,
        PayloadTooLarge,
        UnsupportedMediaType,
        MalformedEnvelope,
        InvalidParameters,
        PatchTypeMismatch,
        UnknownTest,
        PatchDoesNotApply,
        RevisesOtherTarget,
        TooManyPending,
        TooManyReports,
        InternalError,
        ServiceUnavailable,
    )
}


def slug_of(problem_type: str) -> str:
    """The slug of one of the console's problem types; "" for any other URI."""
    return problem_type.removeprefix(PROBLEM_BASE) if problem_type.startswith(PROBLEM_BASE) else ""


def problem_error(status: int, problem: dict[str, Any], headers: dict[str, str]) -> ApiError:
    """The exception for an error answer, by its problem `type`."""
    slug = slug_of(str(problem.get("type") or ""))
    cls = PROBLEM_CLASSES.get(slug, ApiError)
    error = cls(status, problem, headers)
    error.slug = slug  # also for a type this client has no class for
    return error
