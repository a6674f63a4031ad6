"""REST routes under /raiden-lab/: parse, ask the manager, return its model.

Every verb is authenticated and authorized: resource ``raiden``, action ``read`` for GET and
``write`` for POST, so a custom Authorizer can let a collaborator watch but not stop clusters.
"""

from __future__ import annotations

import json
import re
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join

from ..errors import InputError, NotFound, RaidenError
from ..generated import fill, rewrite
from .classes import Forbidden
from .manager import ClusterManager

NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{0,63})"
HOST = r"(?P<host>[A-Za-z0-9.:_-]+)"
USER = r"(?P<user>[A-Za-z_][A-Za-z0-9_.-]{0,31})"
LESSON = r"(?P<file>[0-9]{2}-[a-z0-9-]{1,64}\.ipynb)"


REFUSED = object()


class BaseHandler(APIHandler):
    auth_resource = "raiden"

    def initialize(self, manager: ClusterManager) -> None:
        self.manager = manager

    async def answer(self, work: Any) -> None:
        """Expected failures become a 4xx with the sentence in the JSON body's ``message``.

        Not in the HTTP reason phrase: HTTP/2 carries none. Nothing else about the server leaks.
        """
        model = await self.attempt(work)
        if model is not REFUSED:
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(model))

    async def attempt(self, work: Any) -> Any:
        """The work's result, or REFUSED once an expected failure was answered with its status."""
        try:
            return await work
        except NotFound as e:
            self.refuse(404, str(e))
        except Forbidden as e:
            self.refuse(403, str(e))
        except InputError as e:
            self.refuse(400, str(e))
        except RaidenError as e:
            self.refuse(409, str(e))
        return REFUSED

    def stream_seconds(self) -> float | None:
        """The task stream's ``?seconds=N`` (default 60, kept within 1 s and an hour); None once refused."""
        try:
            seconds = float(self.get_query_argument("seconds", "60"))
        except ValueError:
            self.refuse(400, "seconds must be a number")
            return None
        return max(1.0, min(seconds, 3600.0))

    def refuse(self, status: int, sentence: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        first = next((line for line in sentence.splitlines() if line.strip()), "")
        self.finish(json.dumps({"message": first or f"refused ({status})"}))


class ClustersHandler(BaseHandler):
    """Every cluster this server knows, with its status."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(self.manager.clusters())


class ClusterHandler(BaseHandler):
    """One cluster's status: nodes, engines, samples, jobs."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.answer(self.manager.cluster(name))


class StartHandler(BaseHandler):
    """Start the cluster (`raiden up`)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        await self.answer(self.manager.start(name))


class StopHandler(BaseHandler):
    """Stop the cluster (`raiden down`)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        await self.answer(self.manager.stop(name))


class RestartNodeHandler(BaseHandler):
    """Restart one node's engines (`raiden restart HOST`)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str, host: str) -> None:
        await self.answer(self.manager.restart(name, host))


class InterruptHandler(BaseHandler):
    """Stop the tasks running on every engine (the Stop-work button)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        await self.answer(self.manager.interrupt(name))


class PowerHandler(BaseHandler):
    """Switch a node with its power hooks, or read its power (`raiden power`)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str, host: str, action: str) -> None:
        await self.answer(self.manager.power(name, host, action))


class EventsHandler(BaseHandler):
    """The cluster's latest events (`?limit=N`)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        try:
            limit = int(self.get_query_argument("limit", "50"))
        except ValueError:
            return self.refuse(400, "limit must be a whole number")
        await self.answer(self.manager.events(name, max(1, min(limit, 1000))))


class TasksHandler(BaseHandler):
    """The task stream: the tasks of the last `?seconds=N` (default 60), a lane per engine, and the nodes' heat."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        if (seconds := self.stream_seconds()) is not None:
            await self.answer(self.manager.tasks(name, seconds))


class SeatTasksHandler(BaseHandler):
    """A student's task stream: their own tasks on their seat's engines (`?seconds=N`, default 60)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        if (seconds := self.stream_seconds()) is not None:
            await self.answer(self.manager.seat_tasks(seconds))


class ViewHandler(BaseHandler):
    """What the sidebar shows in one request: a cluster (`?cluster=NAME`), its events (`?events=N`), the class."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        try:
            events = int(self.get_query_argument("events", "8"))
        except ValueError:
            return self.refuse(400, "events must be a whole number")
        name = self.get_query_argument("cluster", None) or None
        await self.answer(self.manager.view(name, max(0, min(events, 1000))))


class ClassCSVHandler(BaseHandler):
    """The class's grid as a CSV download (not JSON: APIHandler's finish would call it JSON)."""

    def finish(self, chunk: Any = None) -> Any:
        if self.get_status() == 200:
            return JupyterHandler.finish(self, chunk)
        return super().finish(chunk)

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        text = await self.attempt(self.manager.class_csv(name))
        if text is REFUSED:
            return
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="{name}-progress.csv"')
        self.finish(text)


class ClassHandler(BaseHandler):
    """Start or stop the class of a cluster (its teacher)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str, verb: str) -> None:
        await self.answer(self.manager.start_class(name) if verb == "start" else self.manager.stop_class(name))


class EndSeatHandler(BaseHandler):
    """End one student's seat (the teacher): their engines stop."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str, user: str) -> None:
        await self.answer(self.manager.end_seat(name, user))


class MySeatHandler(BaseHandler):
    """A student takes their seat, or gives it back."""

    @tornado.web.authenticated
    @authorized
    async def post(self, verb: str) -> None:
        await self.answer(self.manager.take_my_seat() if verb == "take" else self.manager.end_my_seat())


class InventoryHandler(BaseHandler):
    """The server folder's `raiden.toml`: its nodes, or the one-line error that stops it loading."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        async def read() -> dict[str, Any]:
            return self.manager.read_inventory()

        await self.answer(read())


class LessonsHandler(BaseHandler):
    """The workshop's lessons, each with its copy in `raiden-workshop/` once made."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        async def read() -> list[dict[str, Any]]:
            return self.manager.lessons()

        await self.answer(read())


class CopyLessonHandler(BaseHandler):
    """Copy a lesson into `raiden-workshop/` (a copy already there is kept)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, file: str) -> None:
        await self.answer(self.manager.copy_lesson(file))


ROUTES = [
    (r"clusters", ClustersHandler),
    (rf"clusters/{NAME}", ClusterHandler),
    (rf"clusters/{NAME}/start", StartHandler),
    (rf"clusters/{NAME}/stop", StopHandler),
    (rf"clusters/{NAME}/interrupt", InterruptHandler),
    (rf"clusters/{NAME}/nodes/{HOST}/restart", RestartNodeHandler),
    (rf"clusters/{NAME}/nodes/{HOST}/power/(?P<action>on|off|cycle|status)", PowerHandler),
    (rf"clusters/{NAME}/events", EventsHandler),
    (rf"clusters/{NAME}/tasks", TasksHandler),
    (r"view", ViewHandler),
    (rf"clusters/{NAME}/class.csv", ClassCSVHandler),
    (rf"clusters/{NAME}/class/(?P<verb>start|stop)", ClassHandler),
    (rf"clusters/{NAME}/class/seats/{USER}/end", EndSeatHandler),
    (r"seat/(?P<verb>take|end)", MySeatHandler),
    (r"seat/tasks", SeatTasksHandler),
    (r"inventory", InventoryHandler),
    (r"lessons", LessonsHandler),
    (rf"lessons/{LESSON}/copy", CopyLessonHandler),
]


def route_table() -> str:
    """The routes as the docs list them (``python -m raiden_lab.server.handlers docs/panel.md``)."""
    rows = ["| method | route | what it does |", "| --- | --- | --- |"]
    for path, handler in ROUTES:
        shown = re.sub(r"\(\?P<(\w+)>([^()]*(?:\([^()]*\))?[^()]*)\)", _placeholder, path)
        methods = ", ".join(m.upper() for m in ("get", "post") if m in handler.__dict__)
        what = (handler.__doc__ or "").strip().splitlines()[0].replace("|", "\\|")
        rows.append(f"| {methods} | `/raiden-lab/{shown}` | {what} |")
    return "\n".join(rows) + "\n"


def _placeholder(m: re.Match[str]) -> str:
    name, pattern = m.group(1), m.group(2)
    return "{" + pattern.replace("|", ",") + "}" if re.fullmatch(r"[a-z|]+", pattern) else name.upper()


def render_routes(text: str) -> str:
    return fill(text, "routes", lambda _: route_table())


def setup_handlers(web_app: Any, manager: ClusterManager) -> None:
    base = url_path_join(web_app.settings["base_url"], "raiden-lab")
    web_app.add_handlers(
        ".*$", [(url_path_join(base, path) + "/?$", handler, {"manager": manager}) for path, handler in ROUTES]
    )


if __name__ == "__main__":
    raise SystemExit(rewrite(render_routes, "the routes"))
