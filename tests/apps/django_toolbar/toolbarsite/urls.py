from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from toolbarsite import views

urlpatterns = [
    path("", views.home),
    path("blog/", views.blog),
    path("blog/<slug:slug>/", views.post),
    path("about/", views.about),
    path("healthz/", views.healthz),
    path("api/users/", views.api_users),
    path("account/", views.account),
    path("admin/", admin.site.urls),
    path("__debug__/", include("debug_toolbar.urls")),  # as many projects do, whatever DEBUG says
]
