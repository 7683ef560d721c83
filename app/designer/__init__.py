"""The simple approval designer (仿钉钉): a tree of nodes in the browser, compiled to standard BPMN.

``tree`` defines the JSON format and its checks, ``compile`` turns a tree into BPMN (with a generated
diagram from ``layout``), ``parse`` reads the same subset back, ``templates`` holds the starting
points, ``service_tasks`` registers the service tasks the compiler emits (``inbox.cc``, ``http.call``),
``services`` and ``routes`` are the admin pages at /admin/designer.
"""


def init_app(app) -> None:
    """Register the service tasks the compiler emits (`inbox.cc`, `http.call`)."""
    from app.designer import service_tasks
    from app.engine.services import register_services

    register_services(service_tasks)
