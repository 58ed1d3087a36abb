from __future__ import annotations
from typing import Any
import httpx

def test_probe(shared_server: Any) -> None:
    """x"""
    h = {"Authorization": f"Bearer {shared_server.key}"}
    def go(name, **kw):
        try:
            r = httpx.post(shared_server.url + "/api/v1/generations", headers={**h, **kw.pop("headers", {})}, **kw)
            print(name, r.status_code, r.text[:150])
        except Exception as e:
            print(name, "EXC", e)
    go("NULCRID", json={"model": "seedance-1-0-pro", "prompt": "x", "client_request_id": "a\u0000b"})
    go("NULKEY", json={"model": "seedance-1-0-pro", "prompt": "x"}, headers={"Idempotency-Key": "a\x00b"})
    go("UNIKEY", json={"model": "seedance-1-0-pro", "prompt": "x"}, headers={"Idempotency-Key": "caf\u00e9".encode().decode("latin-1")})
    go("SURR2", content='{"model": "seedance-1-0-pro", "prompt": "\\ud800"}'.encode(), headers={"Content-Type": "application/json"})
    go("NULPARAM", json={"model": "seedance-1-0-pro", "prompt": "x", "params": {"resolution": "480p\u0000"}})
    go("NULMODEL", json={"model": "seedance-1-0-pro\u0000", "prompt": "x"})
    go("NULREFNAME", json={"model": "seedance-1-0-pro", "prompt": "x", "params": {"referenceMediaItems": [{"url": "https://10.0.0.1/a", "name": "a\u0000"}]}})
