"""Errors of the consent core. Each names what was wrong and where (a JSON pointer)."""

from dataclasses import dataclass, field


@dataclass
class FieldError:
    pointer: str
    message: str
    keyword: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "message": self.message, "keyword": self.keyword}


@dataclass
class ConsentError(Exception):
    """Base of the core's errors; `code` is stable, `errors` say where."""

    code: str
    message: str
    errors: list[FieldError] = field(default_factory=list)
    status: int = 400

    def __str__(self) -> str:
        parts = [self.message] + [f"{e.pointer or '/'}: {e.message}" for e in self.errors]
        return " ".join(parts)


def invalid(pointer: str, message: str, code: str = "invalid-input") -> ConsentError:
    return ConsentError(
        code=code, message=message, errors=[FieldError(pointer, message)], status=422
    )


def not_permitted(message: str, code: str = "not-permitted") -> ConsentError:
    return ConsentError(code=code, message=message, status=403)


def conflict(message: str, code: str = "conflict", pointer: str = "/status") -> ConsentError:
    return ConsentError(
        code=code, message=message, errors=[FieldError(pointer, message)], status=409
    )
