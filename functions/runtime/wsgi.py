"""The WSGI entry point the local gateway server loads: ``functions.runtime.wsgi:application``."""

from app import app
from functions.observability import logger
from functions.runtime.gateway import WsgiGateway
from functions.runtime.state import announce_ready

logger.append_keys(function="api_handler")  # ./surge logs tells the functions apart by this
application = WsgiGateway(app)
announce_ready("gateway")
