"""`wo up`'s demo projects register their buildings' units, and an older stack's get them."""

from __future__ import annotations

import json
from typing import Any

import httpx

from wo.demo import DEMO_PROJECTS, register_demo_projects

URL = "http://dispatch"


class FakeDispatch:
    """Answers the demo's registration as a stack that already has the projects."""

    def __init__(self, buildings: list[dict[str, Any]]) -> None:
        self.buildings = buildings
        self.updates: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(409, json={"code": "project_exists"})
        if request.method == "GET":
            return httpx.Response(200, json={"buildings": self.buildings})
        self.updates.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, json={})


def test_every_demo_building_registers_units_the_console_offers() -> None:
    for project in DEMO_PROJECTS:
        for building in project.registration()["details"]["buildings"]:
            assert building["units"][0] == f"{building['id'][1]}-101"
            assert len(building["units"]) == len(set(building["units"])) == 6


def test_a_demo_project_registered_without_units_gets_them_once() -> None:
    dispatch = FakeDispatch([{"id": "b1", "name": "1号楼", "units": []}])
    with httpx.Client(transport=httpx.MockTransport(dispatch)) as client:
        outcomes = register_demo_projects(client, URL, "token")

    assert set(outcomes.values()) == {"units added"}
    path, body = dispatch.updates[0]
    assert path == f"/v1/projects/{DEMO_PROJECTS[0].slug}"
    assert body == {"details": DEMO_PROJECTS[0].registration()["details"]}


def test_a_demo_project_with_units_is_left_as_it_is() -> None:
    dispatch = FakeDispatch([{"id": "b1", "name": "1号楼", "units": ["1-101", "1-999"]}])
    with httpx.Client(transport=httpx.MockTransport(dispatch)) as client:
        outcomes = register_demo_projects(client, URL, "token")

    assert set(outcomes.values()) == {"exists"} and dispatch.updates == []
