import os

from harness.reference.apiserver.cli import main

# The API server opens no outgoing TLS connections, yet importing aiohttp builds two client SSL
# contexts, each loading the system CA bundle: about 0.1 s of CPU at every start-up. The bundle
# is hidden for that import only (overriding SSL_CERT_FILE/SSL_CERT_DIR, which CI images often
# set), then restored.
_saved = {name: os.environ.get(name) for name in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
os.environ.update(dict.fromkeys(_saved, os.devnull))
import aiohttp.web  # noqa: E402,F401

for _name, _value in _saved.items():
    if _value is None:
        del os.environ[_name]
    else:
        os.environ[_name] = _value

main()
