"""Error pages: JSON under /api/, a Chinese page elsewhere; never a bare 500 for bad input."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

MESSAGES = {
    400: "请求格式不正确。",
    403: "没有权限访问此页面。",
    404: "页面不存在。",
    405: "不支持此请求方式。",
    413: "提交的内容过大（上限 1 MB），请分批上传。",
    429: "操作过于频繁，请稍后再试。",
    503: "服务器暂时繁忙，请稍后重试，已填写的内容不会丢失。",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def render_error(status: int, message: str | None = None, code: str | None = None):  # type: ignore[no-untyped-def]
    message = message or MESSAGES.get(status, "请求无法完成。")
    if _wants_json():
        body = {"error": message}
        if code:
            body["code"] = code
        return jsonify(body), status
    return render_template("error.html", status=status, message=message), status


def _has_nul(values: MultiDict) -> bool:
    return any("\x00" in v for _, vs in values.lists() for v in vs)


class BoundedIntConverter(IntegerConverter):
    """<int:…> ids that fit the database's 32-bit integer; bigger ones are simply not found."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def register(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter

    @app.before_request
    def _refuse_nul():  # type: ignore[no-untyped-def]
        # No text field anywhere may hold NUL (PostgreSQL refuses it): say so before any work.
        if _has_nul(request.args) or (request.method == "POST" and _has_nul(request.form)):
            return render_error(400, "请求含有无效的空字符（\\u0000），请检查输入内容。",
                                "nul_character")
        return None

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        return render_error(exc.code or 500, MESSAGES.get(exc.code or 500))

    @app.errorhandler(OperationalError)
    def _store_down(exc: OperationalError):  # type: ignore[no-untyped-def]
        # The phone keeps its queue and retries on 5xx; say so rather than crash.
        app.logger.exception("store unavailable")
        return render_error(503)
