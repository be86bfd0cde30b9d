from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """DRF's page numbers, with input that is not a page number a 400 naming the parameter.

    DRF answers `?page=abc` or `?page=0` with a 404 "Invalid page." as if the page merely did
    not exist; a page past the end is still that 404.
    """

    page_size_query_param = "page_size"
    max_page_size = 1000

    def paginate_queryset(self, queryset, request, view=None):
        for name in (self.page_query_param, self.page_size_query_param):
            raw = request.query_params.get(name)
            if name == self.page_query_param and raw in self.last_page_strings:
                continue
            if raw is not None and (not raw.isascii() or not raw.isdigit() or int(raw) < 1):
                raise ValidationError({name: ["must be a whole number of at least 1"]})
        return super().paginate_queryset(queryset, request, view)
