"""A few real pages, and the routes a load must not measure as if they were pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse

POSTS = {"first-post": "The first post", "second-post": "The second post"}


def page(title: str, body: str) -> HttpResponse:
    return HttpResponse(f"<!doctype html><title>{title}</title><h1>{title}</h1>{body}")


def home(request: HttpRequest) -> HttpResponse:
    return page("Home", '<a href="/blog/">Blog</a> <a href="/about/">About</a>')


def blog(request: HttpRequest) -> HttpResponse:
    items = "".join(f'<li><a href="/blog/{slug}/">{t}</a></li>' for slug, t in POSTS.items())
    return page("Blog", f"<ul>{items}</ul>")


def post(request: HttpRequest, slug: str) -> HttpResponse:
    return page(POSTS.get(slug, "Not found"), "<p>…</p>")


def about(request: HttpRequest) -> HttpResponse:
    return page("About", "<p>A test site.</p>")


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def api_users(request: HttpRequest) -> JsonResponse:
    if request.headers.get("Authorization") != "Bearer tests-only":
        return JsonResponse({"detail": "not authenticated"}, status=401)
    return JsonResponse({"users": []})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return page("Account", "<p>yours</p>")
