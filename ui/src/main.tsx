import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { takeTokenFromURL } from "./api/client";
import { App } from "./App";
import "@xyflow/react/dist/style.css";
import "./styles.css";

takeTokenFromURL();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
