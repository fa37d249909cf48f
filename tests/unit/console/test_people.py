"""Who the development sign-in offers."""

from __future__ import annotations

from services.console.service_layer.people import people
from shared.auth import Role


def test_the_directory_comes_first_by_role_then_each_roles_development_login() -> None:
    staff = [
        {"id": "tech-zhao", "name": "赵师傅", "role": "technician", "projects": ["sunny"],
         "trades": ["plumbing"]},
        {"id": "dev-customer_service", "name": "李客服", "role": "customer_service",
         "projects": ["sunny", "river"]},
        {"id": "odd", "name": "?", "role": "astronaut", "projects": ["sunny"]},
    ]  # fmt: skip
    listed = people(staff, ["river", "sunny"])
    assert [(p.role, p.subject) for p in listed] == [
        (Role.CUSTOMER_SERVICE, "dev-customer_service"),
        (Role.DISPATCHER, "dev-dispatcher"),
        (Role.TECHNICIAN, "dev-technician"),
        (Role.TECHNICIAN, "tech-zhao"),
        (Role.SUPERVISOR, "dev-supervisor"),
        (Role.PROJECT_MANAGER, "dev-project_manager"),
        (Role.HQ_QUALITY, "dev-hq_quality"),
    ]
    by_subject = {p.subject: p for p in listed}
    # The directory's entry wins over the development login of the same name.
    assert by_subject["dev-customer_service"].name == "李客服"
    assert by_subject["tech-zhao"].projects == frozenset({"sunny"})
    assert by_subject["tech-zhao"].trades == ("plumbing",)
    # A development login is granted every registered project.
    assert by_subject["dev-dispatcher"].projects == frozenset({"river", "sunny"})
