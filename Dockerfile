# One image for the gateway, the workers and the one-shot `prepare` step of docker-compose.yml;
# each service picks its role with `command:`. The default command is the gateway.
# Python 3.12: the Lambda runtime's (python3.12), so the image runs what AWS runs.
FROM python:3.12-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
# The runtime lock only (what `./surge up` installs: no test, load or packaging tools).
# Requirements first, so editing code does not reinstall them.
COPY requirements/up.txt requirements/up.txt
RUN pip install --require-hashes -r requirements/up.txt \
 && useradd --create-home --uid 10001 surge

COPY . .
USER surge

EXPOSE 8000
# The gateway exactly as `./surge up` runs it (functions/runtime/stack.py start_app_processes),
# but listening on all interfaces of the container.
CMD ["granian", "--interface", "wsgi", "--host", "0.0.0.0", "--port", "8000", \
     "--workers", "2", "--blocking-threads", "32", "--backlog", "2048", \
     "--working-dir", "/app", "--log-level", "warning", \
     "functions.runtime.wsgi:application"]
