"""One handler serves a page and its fragments: a full page for a browser, one template block for htmx."""

from typing import Any

from litestar import Request
from litestar.response import Response, Template


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request, template_name: str, context: dict[str, Any], *, block: str | None = None, status_code: int = 200
) -> Response[Any]:
    """The whole page, or only `block` of it when htmx asked (and not for a history restore)."""
    if block is None or not is_htmx(request) or request.headers.get("hx-history-restore-request") == "true":
        return Template(template_name=template_name, context=context, status_code=status_code)
    engine = request.app.template_engine
    template = engine.get_template(template_name)
    full = {**context, "request": request}
    html = "".join(template.blocks[block](template.new_context(full)))
    return Response(html, media_type="text/html", status_code=status_code)
