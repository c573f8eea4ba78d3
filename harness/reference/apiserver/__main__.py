import os

# The API server opens no outgoing TLS connections, yet aiohttp builds two client SSL contexts
# when imported, each loading the system CA bundle: about 0.1 s of CPU at every start-up.
os.environ.setdefault("SSL_CERT_FILE", os.devnull)
os.environ.setdefault("SSL_CERT_DIR", os.devnull)

from harness.reference.apiserver.cli import main

main()
