"""`check` reads folders the way App Service's Oryx does; one fixture folder per risk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunicorn import model, plans
from tunicorn.deploy.check import check, concurrency_line, has_errors, parse_settings_json
from tunicorn.errors import UsageError
from tunicorn.record import CheckResult, from_json, to_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"
ORYX = (
    "GUNICORN_CMD_ARGS=\"--timeout 600 --access-logfile '-' --error-logfile '-'"
    '{extra} --bind=0.0.0.0:8000 --chdir=/home/site/wwwroot" gunicorn {module}'
)


def run(case: str, **kwargs: object) -> CheckResult:
    return check(FIXTURES / case, **kwargs)  # type: ignore[arg-type]


def codes(result: CheckResult, level: str | None = None) -> set[str]:
    return {f.code for f in result.findings if level is None or f.level == level}


def serious(result: CheckResult) -> set[str]:
    return {f.code for f in result.findings if f.level in ("error", "warning")}


# --- App Service's module detection order ------------------------------------------------


@pytest.mark.parametrize(
    ("case", "module", "oryx_module"),
    [
        ("django", "mysite.wsgi:application", "mysite.wsgi"),  # Django wins over app.py
        ("order_application_first", "application:app", "application:app"),
        ("order_app_over_wsgi", "app:app", "app:app"),
        ("order_run_over_index", "run:app", "run:app"),
        ("order_wsgi_last", "wsgi:app", "wsgi:app"),
    ],
)
def test_module_detection_follows_oryx_order(case: str, module: str, oryx_module: str) -> None:
    result = run(case)
    assert result.module == module
    assert result.startup_source == "default"
    assert result.platform_command == ORYX.format(extra="", module=oryx_module)


def test_default_command_is_one_worker_one_thread() -> None:
    result = run("default_single")
    assert (result.workers, result.threads, result.worker_class) == (1, 1, "sync")
    assert result.timeout == 600
    assert serious(result) == {"single-worker-single-thread"}
    assert concurrency_line(result).endswith("one request at a time.")
    assert not has_errors(result)


def test_no_app_found_is_an_error() -> None:
    result = run("no_app")
    assert "no-app-found" in codes(result, "error")
    assert result.module == ""
    assert has_errors(result)


def test_module_without_app_object_is_an_error() -> None:
    assert "no-app-object" in codes(run("no_app_object"), "error")


# --- app settings ------------------------------------------------------------------------


def test_multiworkers_gives_two_cores_plus_one_from_plan() -> None:
    result = run(
        "default_single",
        settings={"PYTHON_ENABLE_GUNICORN_MULTIWORKERS": "true"},
        plan=plans.get("B2"),
    )
    assert result.workers == 5
    assert result.platform_command == ORYX.format(extra=" --workers=5", module="app:app")
    assert "single-worker-single-thread" not in codes(result)
    assert "cores-assumed" not in codes(result)


def test_multiworkers_without_plan_assumes_one_core_and_says_so() -> None:
    result = run("default_single", settings={"PYTHON_ENABLE_GUNICORN_MULTIWORKERS": "1"})
    assert result.workers == 3
    assert "cores-assumed" in codes(result, "info")


def test_custom_worker_and_thread_numbers_apply_with_multiworkers() -> None:
    result = run(
        "default_single",
        settings={
            "PYTHON_ENABLE_GUNICORN_MULTIWORKERS": "true",
            "PYTHON_GUNICORN_CUSTOM_WORKER_NUM": "2",
            "PYTHON_GUNICORN_CUSTOM_THREAD_NUM": "8",
        },
    )
    assert (result.workers, result.threads, result.worker_class) == (2, 8, "gthread")
    assert "--workers=2 --threads=8" in result.platform_command


def test_custom_numbers_without_multiworkers_are_ignored_with_a_warning() -> None:
    result = run("default_single", settings={"PYTHON_GUNICORN_CUSTOM_THREAD_NUM": "8"})
    assert (result.workers, result.threads) == (1, 1)
    assert "multiworkers-ignored" in codes(result, "warning")
    assert "--threads" not in result.platform_command


def test_multiworkers_is_ignored_when_a_startup_command_is_set() -> None:
    result = run("clean", settings={"PYTHON_ENABLE_GUNICORN_MULTIWORKERS": "true"})
    assert result.workers == 3
    assert "multiworkers-ignored" in codes(result, "warning")


def test_value_oryx_cannot_parse_is_an_error() -> None:
    result = run("default_single", settings={"PYTHON_ENABLE_GUNICORN_MULTIWORKERS": "yes"})
    assert "invalid-setting" in codes(result, "error")


def test_web_concurrency_sets_default_workers() -> None:
    result = run("default_single", settings={"WEB_CONCURRENCY": "4"})
    assert result.workers == 4


def test_startup_setting_replaces_default_and_names_a_script() -> None:
    result = run("default_single", startup="gunicorn -w 2 --threads=3 -k gthread -t 60 app:app")
    assert result.startup_source == "settings"
    assert (result.workers, result.threads, result.worker_class, result.timeout) == (
        2,
        3,
        "gthread",
        60,
    )
    script = run("clean", startup="startup.txt")  # a file name runs that file
    assert script.startup_source == "settings"
    assert script.workers == 3


def test_settings_json_reads_az_appsettings_list() -> None:
    text = '[{"name": "WEB_CONCURRENCY", "slotSetting": false, "value": "2"}]'
    assert parse_settings_json(text) == {"WEB_CONCURRENCY": "2"}
    assert parse_settings_json('{"A": "1", "B": null}') == {"A": "1", "B": ""}
    with pytest.raises(ValueError):
        parse_settings_json('[{"value": "no name"}]')


# --- gunicorn.conf.py --------------------------------------------------------------------


def test_conf_file_is_read_but_its_timeout_loses_to_600() -> None:
    result = run("conf_literal")
    assert (result.workers, result.threads, result.worker_class) == (4, 2, "gthread")
    assert result.timeout == 600
    assert "config-timeout-overridden" in codes(result, "info")


def test_computed_conf_values_are_named_not_guessed() -> None:
    result = run("conf_computed")
    assert result.workers == 1 and result.threads == 2
    info = [f for f in result.findings if f.code == "config-computed"]
    assert info and "workers" in info[0].message


# --- one fixture per risk ----------------------------------------------------------------


def test_memory_over_plan_is_an_error_and_says_estimate() -> None:
    result = run("memory_over_plan", plan=plans.get("B1"))
    found = [f for f in result.findings if f.code == "memory-over-plan"]
    assert found and found[0].level == "error"
    assert "estimate" in found[0].message
    assert "memory-over-plan" not in codes(run("memory_over_plan", plan=plans.get("P1mv3")))


def test_worker_memory_option_changes_the_verdict() -> None:
    result = run("clean", plan=plans.get("B1"), worker_memory_mib=600.0)
    assert "memory-over-plan" in codes(result, "error")


def test_memory_warning_uses_the_share_tune_and_recommend_use() -> None:
    b1 = plans.get("B1")
    per_worker = b1.memory_mib * model.MEMORY_SHARE / 3  # clean's startup.txt runs 3 workers
    # Just within the share (far over 75% of the plan): nothing to say.
    assert "memory-over-plan" not in codes(run("clean", plan=b1, worker_memory_mib=per_worker - 5))
    over = run("clean", plan=b1, worker_memory_mib=per_worker + 5)
    found = [f for f in over.findings if f.code == "memory-over-plan"]
    assert [f.level for f in found] == ["warning"]  # over the share, still under the plan
    assert f"over the {model.MEMORY_SHARE:.0%}" in found[0].message


def test_timeout_over_frontend_is_a_warning_for_a_user_command() -> None:
    result = run("timeout_over_frontend")
    assert "timeout-over-frontend" in codes(result, "warning")
    assert "timeout-over-frontend" in codes(run("default_single"), "info")


@pytest.mark.parametrize("case", ["debug_server", "flask_run", "run_at_import"])
def test_development_server_is_an_error(case: str) -> None:
    result = run(case)
    assert "debug-server" in codes(result, "error")
    assert has_errors(result)


def test_module_state_split_by_workers_is_flagged_as_heuristic() -> None:
    result = run("module_state")
    found = [f for f in result.findings if f.code == "module-state"]
    assert found and found[0].level == "warning"
    assert "CARTS" in found[0].message and "(heuristic)" in found[0].message


def test_thread_unsafe_code_with_threads() -> None:
    result = run("thread_unsafe")
    found = [f for f in result.findings if f.code == "thread-unsafe"]
    assert found and found[0].level == "warning"
    assert "sqlite3" in found[0].message and "hits" in found[0].message
    assert "(heuristic)" in found[0].message
    single = run("thread_unsafe", startup="gunicorn --workers 1 --timeout 60 app:app")
    assert "thread-unsafe" not in codes(single)


def test_gunicorn_missing_is_a_warning_for_a_container_and_info_on_app_service() -> None:
    docker = run("gunicorn_missing_docker")
    assert docker.startup_source == "Dockerfile"
    assert (docker.workers, docker.threads) == (2, 4)
    assert "gunicorn-missing" in codes(docker, "warning")
    assert "gunicorn-missing" in codes(run("gunicorn_missing_appservice"), "info")


def test_procfile_is_not_read_by_app_service() -> None:
    result = run("procfile_only")
    assert result.startup_source == "default" and result.workers == 1
    assert "procfile-ignored" in codes(result, "info")


def test_clean_folder_has_no_warnings_or_errors() -> None:
    result = run("clean", plan=plans.get("B1"))
    assert serious(result) == set()
    assert codes(result) == {"startup-file-assumed"}
    assert (result.workers, result.threads, result.worker_class, result.timeout) == (
        3,
        4,
        "gthread",
        120,
    )


def test_bad_paths_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        check(tmp_path / "missing")
    file = tmp_path / "app.py"
    file.write_text("app = None\n")
    with pytest.raises(UsageError, match="not a folder"):
        check(file)


def test_result_round_trips_through_json() -> None:
    result = run("module_state")
    assert from_json(to_json(result), CheckResult) == result


# --- ASGI apps, factories and packages ---------------------------------------------------


def message(result: CheckResult, code: str) -> str:
    return next(f.message for f in result.findings if f.code == code)


def test_fastapi_quickstart_is_found_with_the_command_that_serves_it() -> None:
    result = run("fastapi_quickstart")
    text = message(result, "no-app-found")
    assert "main:app, a FastAPI app (ASGI)" in text
    assert "--worker-class uvicorn_worker.UvicornWorker main:app" in text
    assert "uvicorn-worker" in text
    assert "single-worker-single-thread" not in codes(result)  # threads cannot fix it


def test_an_asgi_app_without_a_startup_command_is_an_error_with_the_right_command() -> None:
    result = run("fastapi_app_py", plan=plans.get("B1"))
    text = message(result, "asgi-sync-worker")
    assert "every request fails" in text
    assert "--workers 2 --worker-class uvicorn_worker.UvicornWorker app:app" in text
    assert has_errors(result) and "single-worker-single-thread" not in codes(result)


def test_the_quickstarts_deprecated_worker_warns_and_a_missing_uvicorn_is_an_error() -> None:
    result = run("fastapi_startup")  # requirements.txt: fastapi, gunicorn
    assert "uvicorn-worker-deprecated" in codes(result, "warning")
    assert "package-missing" in codes(result, "error")
    assert "uvicorn==" in message(result, "package-missing")


def test_a_sync_worker_in_the_startup_command_cannot_serve_an_asgi_app() -> None:
    result = run("fastapi_startup", startup="gunicorn --workers 4 --threads 4 main:app")
    assert "asgi-sync-worker" in codes(result, "error")
    fixed = run(
        "fastapi_startup", startup="gunicorn -w 2 -k uvicorn_worker.UvicornWorker main:app"
    )
    assert "asgi-sync-worker" not in codes(fixed)
    assert "uvicorn-worker==" in message(fixed, "package-missing")  # the line to add


def test_async_routes_that_block_the_event_loop_are_named() -> None:
    result = run("fastapi_blocking")
    found = [f.message for f in result.findings if f.code == "blocks-event-loop"]
    assert len(found) == 2
    assert found[0].startswith("GET /slow (main.py:") and "time.sleep()" in found[0]
    assert found[1].startswith("GET /proxy (main.py:") and "requests.get()" in found[1]
    assert all("blocks the event loop" in m and "plain def route" in m for m in found)


def test_a_factory_in_a_package_is_found() -> None:
    result = run("flaskr_factory")
    text = message(result, "no-app-found")
    assert "flaskr:create_app(), a Flask app factory, in package flaskr" in text
    assert "'flaskr:create_app()'" in text


def test_another_name_in_app_services_module_is_found() -> None:
    result = run("no_app_object")
    assert "no-app-object" in codes(result, "error")
    assert "app:application" in message(result, "app-found")


def test_a_django_projects_asgi_entry_is_noticed() -> None:
    result = run("django_asgi")
    text = message(result, "django-asgi")
    assert "mysite/asgi.py" in text
    assert "uvicorn_worker.UvicornWorker mysite.asgi:application" in text
    assert result.module == "mysite.wsgi:application"  # App Service still runs wsgi.py
