"""Run the test OpenID provider: `python -m tests.oidc_provider.serve FOLDER PORT SOCKET`.

It listens on 127.0.0.1:PORT (in the test namespace, for Haven and the browser) and on a
Unix socket (for the test process, outside the namespace). The first start makes its
RS256 signing key and database in FOLDER; a restart keeps both, as a real provider would.
"""

import os
import socket
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def main() -> None:
    folder, port, socket_path = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "signing-key.pem"
    if not key_file.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        key_file.write_bytes(pem)
    os.environ["IDP_FOLDER"] = str(folder)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"

    import django
    import uvicorn
    from django.core.asgi import get_asgi_application
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--run-syncdb", verbosity=0)
    tcp = socket.create_server(("127.0.0.1", port))
    socket_path.unlink(missing_ok=True)
    uds = socket.socket(socket.AF_UNIX)
    uds.bind(str(socket_path))
    config = uvicorn.Config(get_asgi_application(), log_level="info", lifespan="off")
    uvicorn.Server(config).run(sockets=[tcp, uds])


if __name__ == "__main__":
    main()
