"""Form helpers shared by every app's pages."""

from django import forms
from django.core.exceptions import ValidationError


def apply_errors(form: forms.Form, exc: ValidationError, rename: dict | None = None) -> None:
    """Show a service's ValidationError on the form: each message on the field it names (after
    `rename`), and messages about fields the form does not have at the top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        field = (rename or {}).get(field, field)
        target = field if field in form.fields else None
        for error in errors:
            form.add_error(target, error)
