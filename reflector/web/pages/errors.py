"""Errors as pages a person understands: what happened and where to go next; for our own faults, the
request id that also names the failure in the server's log."""

from litestar.response import Template

_HEADINGS = {
    400: "That request didn't work",
    403: "You don't have access to this",
    405: "That action isn't available here",
    401: "Sign in to continue",
    413: "That is too large",
    429: "Too many tries",
    500: "Something went wrong on our side",
}
_EXPLANATIONS = {
    403: "It belongs to someone else, or it isn't shared with you. Ask its owner to share it.",
    404: "It may have been deleted, or the address may be mistyped.",
    405: "Go back and use the page's own buttons and links.",
    500: "It isn't something you did. Try again in a moment; if it keeps happening, tell the administrator "
    "and give them the request id below.",
}


def error_page(status: int, detail: str = "", *, subject: str = "page", request_id: str = "") -> Template:
    """The page for an error: our sentence for the common statuses, else the failure's own `detail`."""
    if status == 404:
        heading = f"We can't find that {subject}"
    else:
        heading = _HEADINGS.get(status) or _HEADINGS[500 if status >= 500 else 400]
    explanation = _EXPLANATIONS[500] if status >= 500 else _EXPLANATIONS.get(status, detail)
    return Template(
        template_name="pages/error.html",
        context={"status": status, "heading": heading, "explanation": explanation, "request_id": request_id},
        status_code=status,
        headers={"X-Request-ID": request_id} if request_id else None,
    )
