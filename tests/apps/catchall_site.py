"""A site whose pages are all served by one catch-all route, as a CMS serves its pages from
its database: the router lists `/<path:path>` and nothing else, so only the links from `/`
find the pages. The links also lead where a crawl must not go: a logout link, the admin, a
static file, another site, mailto:, javascript:, a page that is missing and one that fails."""

from __future__ import annotations

from flask import Flask, abort

app = Flask(__name__)

NAV = (
    '<nav><a href="/">Home</a> <a href="/blog/">Blog</a> <a href="/about/#team">About</a> '
    '<a href="/logout/">Log out</a> <a href="/admin/">Admin</a> '
    '<a href="https://example.com/elsewhere">elsewhere</a> <a href="mailto:x@example.com">mail</a> '
    '<a href="javascript:void(0)">js</a> <a href="/static/site.css">css</a></nav>'
)
PAGES = {
    "": "<h1>Home</h1><p>Welcome. <a href='/blog/?page=1&amp;sort=new'>latest</a></p>",
    "blog/": (
        "<h1>Blog</h1><ul><li><a href='/blog/first-post/'>First</a></li>"
        "<li><a href='second-post/'>Second</a></li><li><a href='/blog/gone/'>Gone</a></li>"
        "<li><a href='/blog/broken/'>Broken</a></li></ul>"
    ),
    "blog/first-post/": "<h1>First post</h1>",
    "blog/second-post/": "<h1>Second post</h1>",
    "about/": "<h1>About</h1>",
}


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
def page(path: str) -> str:
    if path == "logout/":
        raise RuntimeError("the crawl followed a logout link")
    if path == "blog/broken/":
        abort(500)
    if path not in PAGES:
        abort(404)
    return f"<!doctype html><title>{path or 'home'}</title>{NAV}{PAGES[path]}"
