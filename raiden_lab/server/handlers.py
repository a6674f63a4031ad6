"""REST routes under /raiden-lab/: parse, ask the manager, return its model. Every verb authenticated."""

from __future__ import annotations

import json
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..errors import InputError, RaidenError
from .manager import ClusterManager, NotFound

NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{0,63})"
HOST = r"(?P<host>[A-Za-z0-9.:_-]+)"
LESSON = r"(?P<file>[0-9]{2}-[a-z0-9-]{1,64}\.ipynb)"


class BaseHandler(APIHandler):
    def initialize(self, manager: ClusterManager) -> None:
        self.manager = manager

    async def answer(self, work: Any) -> None:
        """Expected failures become a 4xx with a sentence; nothing else about the server leaks."""
        try:
            model = await work
        except NotFound as e:
            raise tornado.web.HTTPError(404, reason=str(e).splitlines()[0]) from None
        except InputError as e:
            raise tornado.web.HTTPError(400, reason=str(e).splitlines()[0]) from None
        except RaidenError as e:
            raise tornado.web.HTTPError(409, reason=str(e).splitlines()[0]) from None
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(model))


class ClustersHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer(self.manager.clusters())


class ClusterHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        await self.answer(self.manager.cluster(name))


class StartHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        await self.answer(self.manager.start(name))


class StopHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        await self.answer(self.manager.stop(name))


class RestartNodeHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, name: str, host: str) -> None:
        await self.answer(self.manager.restart(name, host))


class EventsHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        try:
            limit = int(self.get_query_argument("limit", "50"))
        except ValueError:
            raise tornado.web.HTTPError(400, reason="limit must be a whole number") from None
        await self.answer(self.manager.events(name, max(1, min(limit, 1000))))


class InventoryHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        async def read() -> dict[str, Any]:
            return self.manager.read_inventory()

        await self.answer(read())


class LessonsHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        async def read() -> list[dict[str, Any]]:
            return self.manager.lessons()

        await self.answer(read())


class CopyLessonHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, file: str) -> None:
        await self.answer(self.manager.copy_lesson(file))


ROUTES = [
    (r"clusters", ClustersHandler),
    (rf"clusters/{NAME}", ClusterHandler),
    (rf"clusters/{NAME}/start", StartHandler),
    (rf"clusters/{NAME}/stop", StopHandler),
    (rf"clusters/{NAME}/nodes/{HOST}/restart", RestartNodeHandler),
    (rf"clusters/{NAME}/events", EventsHandler),
    (r"inventory", InventoryHandler),
    (r"lessons", LessonsHandler),
    (rf"lessons/{LESSON}/copy", CopyLessonHandler),
]


def setup_handlers(web_app: Any, manager: ClusterManager) -> None:
    base = url_path_join(web_app.settings["base_url"], "raiden-lab")
    web_app.add_handlers(".*$", [(url_path_join(base, path) + "/?$", handler, {"manager": manager})
                                 for path, handler in ROUTES])
