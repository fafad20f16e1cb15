"""The center service (issue 11): reports over the network, operator roles, bundles for POS
terminals that pull, and the operator web page, on FastAPI and uvicorn.

``create_app(home_path, ...)`` is the ASGI application (tests drive it in process);
``start_http(home_path, "HOST:PORT", ...)`` serves it in a thread and returns a handle with
``address`` and ``stop()`` (``hotcast center serve --http`` calls it beside the scheduler).
The operator store it asks is ``auth.OperatorStore``; the pull container is described in
``center.service.pull``.
"""

from center.service.app import create_app
from center.service.auth import OperatorStore, Role
from center.service.limits import Bucket, ServiceLimits
from center.service.pull import CONTENT_TYPE
from center.service.server import HttpService, parse_listen, start_http

__all__ = ["CONTENT_TYPE", "Bucket", "HttpService", "OperatorStore", "Role", "ServiceLimits",
           "create_app", "parse_listen", "start_http"]
