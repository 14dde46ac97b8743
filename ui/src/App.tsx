import { useEffect, useState } from "react";
import { api, onUnauthorized } from "./api/client";
import type { WhoAmI } from "./api/types";
import { match, navigate, usePath } from "./lib/router";
import { LoginPage } from "./pages/LoginPage";
import { ProjectPage } from "./pages/ProjectPage";
import { ProjectsPage } from "./pages/ProjectsPage";

export function App() {
  const path = usePath();
  const route = match(path);
  const [needLogin, setNeedLogin] = useState(false);
  const [session, setSession] = useState(0);
  const [me, setMe] = useState<WhoAmI | null>(null);

  useEffect(() => onUnauthorized(() => setNeedLogin(true)), []);
  useEffect(() => {
    api.get<WhoAmI>("/api/v1/whoami").then(setMe, () => setMe(null));
  }, [session]);

  if (needLogin) {
    return (
      <LoginPage
        onLoggedIn={() => {
          setNeedLogin(false);
          setSession((s) => s + 1);
        }}
      />
    );
  }
  return (
    <div className="app" key={session}>
      <header className="topbar">
        <a
          className="brand"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            navigate("/");
          }}
        >
          Haul
        </a>
        {route.page === "project" && <span className="crumb">/ {route.name}</span>}
        <span className="spacer" />
        {me && (
          <span className="whoami" data-testid="whoami" title={(me.groups ?? []).join(", ")}>
            {me.username}
          </span>
        )}
      </header>
      {route.page === "projects" && <ProjectsPage />}
      {route.page === "project" && <ProjectPage key={route.name} name={route.name} />}
      {route.page === "notFound" && (
        <main className="page">
          <h1>Not found</h1>
          <p>
            There is no page at <code>{path}</code>.
          </p>
        </main>
      )}
    </div>
  );
}
