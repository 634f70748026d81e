"""Error pages: JSON under /api/, a Chinese page elsewhere; never a bare 500 for bad input."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

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


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        return render_error(exc.code or 500, MESSAGES.get(exc.code or 500))

    @app.errorhandler(OperationalError)
    def _store_down(exc: OperationalError):  # type: ignore[no-untyped-def]
        # The phone keeps its queue and retries on 5xx; say so rather than crash.
        app.logger.exception("store unavailable")
        return render_error(503)
