"""Every error the platform raises on purpose.

    VezaError
     ├── InputError                 the user's input cannot be used (HTTP 4xx, CLI exit 2)
     │    ├── EmptyInputError        no bytes at all
     │    ├── TooLargeError          over the configured size limit
     │    ├── NotAudioError          no decodable audio stream in the file
     │    │    └── UnsupportedAudioError  audio too long, or a sample rate or channel count
     │    │                               the pipeline does not process
     │    ├── ValidationError        fields of a request are missing or invalid (names each)
     │    └── ConflictError          a unique value (handle, email) is already taken
     ├── AuthError                  no credentials, or credentials that are not valid (401)
     ├── ForbiddenError             valid credentials without the right to do this (403)
     ├── RateLimitedError           too many attempts; says when to try again (429)
     ├── NotFoundError              a track, job or object does not exist
     │    └── ObjectNotFoundError    the object store has no such key
     ├── SignatureError             a signed URL was tampered with or has expired
     ├── ServiceError               a service we depend on failed; retrying may help
     │    ├── StoreError             the object store failed
     │    ├── DatabaseError          PostgreSQL failed
     │    └── BrokerError            the message broker failed
     ├── ConfigError                the settings are inconsistent
     ├── CancelledError             the track of a running stage was deleted
     └── PipelineError              processing failed for a reason inside the platform
"""

from __future__ import annotations


class VezaError(Exception):
    """Base of every error raised on purpose by Veza."""

    code = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InputError(VezaError):
    """Raised when the user's input cannot be used."""

    code = "bad_input"


class EmptyInputError(InputError):
    """Raised when an upload or file has no bytes."""

    code = "empty"


class TooLargeError(InputError):
    """Raised when an upload exceeds the configured size limit."""

    code = "too_large"


class NotAudioError(InputError):
    """Raised when a file has no audio stream that can be decoded."""

    code = "not_audio"


class UnsupportedAudioError(NotAudioError):
    """Raised when audio is longer than VEZA_MAX_DURATION_S or has a sample rate or channel
    count the pipeline does not process (``code``: too_long, unsupported_sample_rate,
    unsupported_channels)."""

    code = "unsupported_audio"


class ValidationError(InputError):
    """Raised when fields of a request are missing or invalid; ``fields`` maps each to why."""

    code = "invalid"

    def __init__(self, fields: dict[str, str]) -> None:
        detail = "; ".join(f"{name}: {why}" for name, why in fields.items())
        super().__init__(f"invalid request: {detail}")
        self.fields = dict(fields)


class ConflictError(InputError):
    """Raised when a value that must be unique is already taken."""

    code = "conflict"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AuthError(VezaError):
    """Raised when a request has no credentials or credentials that are not valid."""

    code = "unauthorized"


class ForbiddenError(VezaError):
    """Raised when the caller is known but may not do what they asked."""

    code = "forbidden"


class RateLimitedError(VezaError):
    """Raised when a caller made too many attempts; ``retry_after_s`` says when to come back."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))


class NotFoundError(VezaError):
    """Raised when a track, job or object does not exist."""

    code = "not_found"


class ObjectNotFoundError(NotFoundError):
    """Raised when the object store has no object under a key."""

    code = "object_not_found"


class SignatureError(VezaError):
    """Raised when a signed URL was tampered with or has expired."""

    code = "bad_signature"


class ServiceError(VezaError):
    """Raised when a service we depend on fails; a retry may succeed."""

    code = "service_unavailable"


class StoreError(ServiceError):
    """Raised when the object store fails."""

    code = "store_unavailable"


class DatabaseError(ServiceError):
    """Raised when PostgreSQL fails."""

    code = "database_unavailable"


class BrokerError(ServiceError):
    """Raised when the message broker fails."""

    code = "broker_unavailable"


class ConfigError(VezaError):
    """Raised when the settings are missing or inconsistent."""

    code = "bad_config"


class CancelledError(VezaError):
    """Raised inside a stage when its track was deleted while it ran."""

    code = "cancelled"


class PipelineError(VezaError):
    """Raised when processing fails for a reason inside the platform."""

    code = "pipeline"
