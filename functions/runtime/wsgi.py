"""The WSGI entry point the local gateway server loads: ``functions.runtime.wsgi:application``."""

from app import app
from functions.runtime.gateway import WsgiGateway

application = WsgiGateway(app)
