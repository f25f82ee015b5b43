"""The HTTP floor of `make bench`: a minimal Starlette endpoint on the same uvicorn, answering every request
of a scenario with the bytes the CMS answers its first one with. A cached answer can cost no less than this.

    BENCH_FLOOR_ANSWERS=var/bench python bench/floor.py    # serves POST/GET /floor/<scenario> on CMS_PORT
"""

from __future__ import annotations

import os
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ANSWERS = ".answer"


def create_app(folder: Path) -> Starlette:
    answers = {path.stem: path.read_bytes() for path in folder.glob(f"*{ANSWERS}")}

    async def answer(request: Request) -> Response:
        await request.body()  # read as any server reads it
        return Response(answers[request.path_params["scenario"]], media_type="application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [Route("/floor/{scenario}", answer, methods=["GET", "POST"]), Route("/healthz", healthz)]
    return Starlette(routes=routes)


if __name__ == "__main__":
    uvicorn.run(
        create_app(Path(os.environ["BENCH_FLOOR_ANSWERS"])),
        host=os.environ.get("CMS_HOST", "127.0.0.1"),
        port=int(os.environ["CMS_PORT"]),
        log_level="warning",
    )
