"""Haven's management commands, run one after another by one long-lived process.

The tests make a member of staff for nearly every sign-in: starting `manage.py` for each
costs a new Python and a Django set-up (about 0.7 s on these machines, 136 times a run).
This process is started once per live stack with the stack's environment and runs the
same commands through Django's `call_command`, against the same live database.

One request per line on stdin, JSON: {"args": ["create_staff", "--email=..."], "env":
{...}}; one answer per line on stdout: {"ok": true, "stdout": "..."} or {"ok": false,
"error": "..."}. The database connection is closed after each command, as a process of
its own would (the database may be restarted between two commands by a fault test).
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any


def serve() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings")
    import django

    django.setup()
    from django.core.management import CommandError, call_command
    from django.db import connections

    answers = sys.stdout
    sys.stdout = sys.stderr  # nothing a command prints may break the answers
    for line in sys.stdin:
        request: dict[str, Any] = json.loads(line)
        saved = {name: os.environ.get(name) for name in request.get("env", {})}
        os.environ.update(request.get("env", {}))
        output = io.StringIO()
        try:
            call_command(*request["args"], stdout=output, stderr=output)
            answer: dict[str, Any] = {"ok": True, "stdout": output.getvalue()}
        except (CommandError, SystemExit) as error:
            answer = {"ok": False, "error": f"{output.getvalue()}CommandError: {error}"}
        except Exception as error:  # the test that asked is told; this process goes on
            answer = {"ok": False, "error": f"{output.getvalue()}{error!r}"}
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            connections.close_all()
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
