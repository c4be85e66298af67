"""Calls Posture the way a client written for Microsoft Defender for Endpoint does:
MSAL Python's ConfidentialClientApplication (client credentials) with Posture as
the authority, then each seed endpoint with the bearer token over HTTPS.

usage: REQUESTS_CA_BUNDLE=<data_dir>/tls/ca.pem \
       python3 msal_client.py <base_url> <tenant_id> <client_id> <client_secret>

Prints one JSON object with what happened; exits 1 if no token was obtained.
"""

import json
import sys

import msal
import requests

AUDIENCE = "https://api.securitycenter.microsoft.com"
ENDPOINTS = [
    "machines/SecureConfigurationsAssessmentByMachine",
    "machines/SoftwareVulnerabilitiesByMachine",
    "machines/SoftwareInventoryByMachine",
    "machines/SoftwareInventoryNoProductCodeByMachine",
    "deviceavinfo",
]


def main():
    base, tenant, client_id, secret = sys.argv[1:5]
    authority = f"{base}/{tenant}"
    scopes = [f"{AUDIENCE}/.default"]
    out = {"msal": msal.__version__}

    # MSAL refuses an http authority: Posture must be reached over HTTPS.
    try:
        msal.ConfidentialClientApplication(
            client_id,
            client_credential=secret,
            authority=authority.replace("https://", "http://", 1),
            instance_discovery=False,
        )
        out["http_authority"] = "accepted"
    except ValueError:
        out["http_authority"] = "refused"

    app = msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret,
        authority=authority,
        instance_discovery=False,  # a non-Microsoft authority
    )
    result = app.acquire_token_for_client(scopes=scopes)
    if "access_token" not in result:
        out["error"] = result
        print(json.dumps(out))
        return 1
    token = result["access_token"]
    out["token_type"] = result.get("token_type")
    out["expires_in"] = result.get("expires_in")
    # A second call is answered from MSAL's token cache.
    again = app.acquire_token_for_client(scopes=scopes)
    out["second_call_source"] = again.get("token_source")
    out["same_token"] = again.get("access_token") == token

    out["endpoints"] = {}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    for path in ENDPOINTS:
        r = requests.get(f"{base}/api/{path}", headers=headers, params={"$top": "3"}, timeout=60)
        body = r.json()
        out["endpoints"][path] = {
            "status": r.status_code,
            "records": len(body.get("value", [])),
            "context": body.get("@odata.context"),
        }

    # A wrong secret: MSAL surfaces the OAuth2 error.
    bad = msal.ConfidentialClientApplication(
        client_id,
        client_credential="not-the-secret",
        authority=authority,
        instance_discovery=False,
    ).acquire_token_for_client(scopes=scopes)
    out["bad_secret_error"] = bad.get("error")
    out["bad_secret_codes"] = bad.get("error_codes")

    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
