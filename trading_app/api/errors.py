"""Every error is JSON with a clear message; nothing unexpected escapes as an HTML 500 page."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from trading_app.services.order_validation import OrderValidationError

log = logging.getLogger(__name__)


def exception_handler(exc, context):
    if isinstance(exc, OrderValidationError):
        exc = ValidationError(exc.errors)
    elif isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        log.exception("unhandled error in %s", context.get("view"))
        return Response(
            {"detail": "internal error; the request was not applied"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return response
