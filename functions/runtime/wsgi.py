"""The WSGI entry point the local gateway server loads: ``functions.runtime.wsgi:application``."""

from app import app
from functions.runtime.gateway import WsgiGateway
from functions.runtime.state import announce_ready

application = WsgiGateway(app)
announce_ready("gateway")
