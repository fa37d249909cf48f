"""The deployment files describe code that exists.

No Docker engine runs the tests, so this is what keeps docker-compose.yml and
deploy/ honest: every module they run has a `__main__`, every environment variable
they set is a setting of that service, every file they copy or mount exists, and
the NATS configuration is accepted by the nats-server the project ships with.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.bus_users import deploy_configuration
from shared.settings import ServiceSettings
from wo.processes import nats_server_binary

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"


def load_compose() -> dict[str, Any]:
    with COMPOSE_FILE.open(encoding="utf-8") as file:
        compose = yaml.safe_load(file)
    assert isinstance(compose, dict) and isinstance(compose.get("services"), dict), (
        "docker-compose.yml has no services"
    )
    return compose


def services() -> dict[str, dict[str, Any]]:
    return dict(load_compose()["services"])


def built_services() -> dict[str, dict[str, Any]]:
    """Services running this project's image: built here, or using an image built here."""
    all_services = services()
    built_images = {s["image"] for s in all_services.values() if "build" in s and "image" in s}
    return {
        name: s
        for name, s in all_services.items()
        if "build" in s or s.get("image") in built_images
    }


def as_argv(command: str | list[str] | None) -> list[str]:
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def python_modules(argv: list[str]) -> list[str]:
    """Modules run as `python -m X` (also python3, python3.11, /usr/bin/python...)."""
    modules = []
    for i, arg in enumerate(argv[:-2]):
        if re.fullmatch(r"python(3(\.\d+)?)?", Path(arg).name) and argv[i + 1] == "-m":
            modules.append(argv[i + 2])
    return modules


def has_main(module: str) -> bool:
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return False
    if spec is None:
        return False
    if spec.submodule_search_locations is None:
        return True  # a plain module runs itself
    try:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    except ModuleNotFoundError:
        return False


def environment(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env)


def settings_class(module: str) -> type[ServiceSettings]:
    """The one settings class of the service whose package is `module`."""
    settings_module = importlib.import_module(f"{module}.settings")
    classes = [
        cls
        for _, cls in inspect.getmembers(settings_module, inspect.isclass)
        if issubclass(cls, ServiceSettings)
        and cls is not ServiceSettings
        and cls.__module__ == settings_module.__name__
    ]
    assert len(classes) == 1, (
        f"{settings_module.__name__} must define exactly one ServiceSettings subclass, "
        f"found {[c.__name__ for c in classes]}"
    )
    return classes[0]


def setting_names(cls: type[ServiceSettings]) -> set[str]:
    names = set()
    for name, field in cls.model_fields.items():
        names.add(name.upper())
        if isinstance(field.validation_alias, str):
            names.add(field.validation_alias.upper())
    return names


def dockerfiles() -> list[tuple[str, Path, Path]]:
    """(service, build context, Dockerfile) of every service built by compose."""
    found = []
    for name, service in services().items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = (COMPOSE_FILE.parent / build.get("context", ".")).resolve()
        found.append((name, context, context / build.get("dockerfile", "Dockerfile")))
    return found


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    lines: list[str] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    result = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def exec_form(arguments: str) -> list[str]:
    """Arguments of CMD/ENTRYPOINT/COPY in JSON (exec) or shell form."""
    if arguments.startswith("["):
        return [str(a) for a in yaml.safe_load(arguments)]
    return shlex.split(arguments)


def test_compose_build_contexts_and_dockerfiles_exist() -> None:
    assert dockerfiles(), "docker-compose.yml builds no service from this repository"
    problems = []
    for name, context, dockerfile in dockerfiles():
        if not context.is_dir():
            problems.append(f"service {name}: build context {context} does not exist")
        if not dockerfile.is_file():
            problems.append(f"service {name}: dockerfile {dockerfile} does not exist")
    assert not problems, "\n".join(problems)


def test_every_module_run_by_compose_or_the_dockerfile_has_a_main() -> None:
    runs: list[tuple[str, str]] = []
    for name, service in services().items():
        argv = as_argv(service.get("entrypoint")) + as_argv(service.get("command"))
        runs += [(f"docker-compose.yml service {name}", m) for m in python_modules(argv)]
    for _, _, dockerfile in dockerfiles():
        for keyword, arguments in instructions(dockerfile):
            if keyword in {"CMD", "ENTRYPOINT"}:
                origin = f"{dockerfile.relative_to(ROOT)} {keyword}"
                runs += [(origin, m) for m in python_modules(exec_form(arguments))]
    assert runs, "no `python -m` command found in docker-compose.yml or the Dockerfile"
    problems = [
        f"{origin} runs `python -m {module}`, which is not a module of the project with a __main__"
        for origin, module in runs
        if not has_main(module)
    ]
    assert not problems, "\n".join(problems)


def test_every_environment_variable_of_a_service_is_one_of_its_settings() -> None:
    problems = []
    for name, service in built_services().items():
        argv = as_argv(service.get("entrypoint")) + as_argv(service.get("command"))
        modules = [m for m in python_modules(argv) if m.startswith("services.")]
        if len(modules) != 1:
            problems.append(
                f"service {name}: cannot tell which service it runs from its command {argv}"
            )
            continue
        try:
            cls = settings_class(modules[0])
        except ModuleNotFoundError as exc:
            problems.append(f"service {name}: no settings module for {modules[0]} ({exc})")
            continue
        known = setting_names(cls)
        problems += [
            f"service {name} sets {variable}, which is not a field of "
            f"{cls.__module__}.{cls.__name__}"
            for variable in environment(service)
            if variable.upper() not in known
        ]
    assert not problems, "\n".join(problems)


def test_every_file_the_dockerfile_copies_exists() -> None:
    problems = []
    for _, context, dockerfile in dockerfiles():
        for keyword, arguments in instructions(dockerfile):
            if keyword not in {"COPY", "ADD"}:
                continue
            argv = exec_form(arguments)
            flags = [a for a in argv if a.startswith("--")]
            if any(f.startswith("--from") for f in flags):
                continue  # from another build stage, not from the context
            sources = [a for a in argv if not a.startswith("--")][:-1]
            for source in sources:
                if re.match(r"^[a-z]+://", source):
                    continue
                if not list(context.glob(source.lstrip("/"))):
                    problems.append(
                        f"{dockerfile.relative_to(ROOT)}: {keyword} {source} - "
                        f"no such file in the build context {context}"
                    )
    assert not problems, "\n".join(problems)


def test_every_file_mounted_from_the_repository_exists() -> None:
    problems = []
    for name, service in services().items():
        for volume in service.get("volumes") or []:
            if isinstance(volume, dict):
                source = volume.get("source", "") if volume.get("type") == "bind" else ""
            else:
                source = str(volume).split(":", 1)[0]
            if source.startswith((".", "/")) and not (COMPOSE_FILE.parent / source).exists():
                problems.append(f"service {name} mounts {source}, which does not exist")
    assert not problems, "\n".join(problems)


def test_services_depend_only_on_services_that_exist() -> None:
    names = set(services())
    problems = [
        f"service {name} depends on {dependency}, which is not a service"
        for name, service in services().items()
        for dependency in service.get("depends_on") or []
        if dependency not in names
    ]
    assert not problems, "\n".join(problems)


def nats_services() -> list[str]:
    return [
        name
        for name, service in services().items()
        if str(service.get("image", "")).split(":")[0].split("/")[-1] == "nats"
    ]


@pytest.mark.parametrize("name", nats_services())
def test_nats_node_configuration_is_accepted_by_nats_server(name: str, tmp_path: Path) -> None:
    """Run the node's command line through `nats-server -t`, mounts mapped to local paths."""
    service = services()[name]
    mounts: dict[str, str] = {}
    for volume in service.get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        local = COMPOSE_FILE.parent / source if source.startswith((".", "/")) else tmp_path
        mounts[target] = str(local)
    argv = [mounts.get(arg, arg) for arg in as_argv(service.get("command"))]
    if argv and not argv[0].startswith("-"):
        argv = argv[1:]  # the explicit `nats-server` executable name
    # The node's environment holds the bus users' passwords the configuration refers to.
    env = {**os.environ, **{key: "a-password" for key in service.get("environment") or {}}}
    result = subprocess.run(
        [nats_server_binary(), *argv, "-t"], capture_output=True, text=True, timeout=30, env=env
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and "is valid" in output, (
        f"service {name}: nats-server rejects its configuration: {output}"
    )


def test_the_deployed_nats_users_are_those_of_the_code() -> None:
    """deploy/nats/users.conf is what `python -m shared.bus_users` generates."""
    committed = (ROOT / "deploy" / "nats" / "users.conf").read_text(encoding="utf-8")
    assert committed == deploy_configuration(), (
        "run: python -m shared.bus_users > deploy/nats/users.conf"
    )


def service_settings_classes() -> list[type[ServiceSettings]]:
    """ServiceSettings and the settings class of every service package."""
    classes: list[type[ServiceSettings]] = [ServiceSettings]
    for path in sorted((ROOT / "services").glob("*/settings.py")):
        classes.append(settings_class(f"services.{path.parent.name}"))
    return classes


def test_operations_guide_documents_every_setting() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    problems = [
        f"docs/operations.md does not document {variable} ({cls.__module__}.{cls.__name__})"
        for cls in service_settings_classes()
        for variable in sorted(setting_names(cls))
        if f"`{variable}`" not in guide
    ]
    assert not problems, "\n".join(problems)
