import { useEffect, useState } from "react";
import { setToken } from "../api/client";
import type { AuthConfig } from "../api/types";

/** LoginPage is shown whenever the API answers 401. */
export function LoginPage({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const [token, setTokenText] = useState("");

  useEffect(() => {
    fetch("/auth/config", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`GET /auth/config: ${r.status}`))))
      .then((c: AuthConfig) => setConfig(c))
      .catch(() => setConfig({ oidc: false, localToken: true }));
  }, []);

  const redirectTo = window.location.pathname + window.location.search;
  return (
    <main className="login" data-testid="login-page">
      <h1>Log in to Haul</h1>
      {config?.oidc && (
        <p>
          <a className="button primary" data-testid="sso-login" href={`/auth/login?redirectTo=${encodeURIComponent(redirectTo)}`}>
            Log in with SSO
          </a>
        </p>
      )}
      {(config === null || config.localToken) && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (!token.trim()) return;
            setToken(token.trim());
            onLoggedIn();
          }}
        >
          <label htmlFor="token">
            Token (printed by <code>haul up</code>, also in <code>&lt;data-dir&gt;/admin-token</code>)
          </label>
          <textarea id="token" data-testid="token-input" rows={3} value={token} onChange={(e) => setTokenText(e.target.value)} />
          <button type="submit" className="primary">
            Log in
          </button>
        </form>
      )}
    </main>
  );
}
