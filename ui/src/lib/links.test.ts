import { describe, expect, it } from "vitest";
import { expandLink, repoWebURL, safeHref } from "./links";

describe("safeHref", () => {
  const dropped = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\u0001javascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "//evil.example/x",
    "/relative/path",
    "not a url",
    "",
  ];
  for (const url of dropped) {
    it(`drops ${JSON.stringify(url)}`, () => {
      expect(safeHref(url)).toBeUndefined();
    });
  }

  it("keeps http and https links", () => {
    expect(safeHref("https://github.com/acme/app")).toBe("https://github.com/acme/app");
    expect(safeHref("http://127.0.0.1:8080/x?y=1")).toBe("http://127.0.0.1:8080/x?y=1");
  });

  it("removes credentials from the link", () => {
    expect(safeHref("https://user:secret@git.example/repo")).toBe("https://git.example/repo");
  });
});

describe("repoWebURL", () => {
  it("maps a git URL to its web page and refuses oci and javascript", () => {
    expect(repoWebURL("https://github.com/acme/app.git")).toBe("https://github.com/acme/app");
    expect(repoWebURL("oci://ghcr.io/acme/chart")).toBeUndefined();
    expect(repoWebURL("javascript:alert(1)//.git")).toBeUndefined();
  });
});

describe("expandLink", () => {
  it("fills placeholders escaped and still refuses javascript templates", () => {
    expect(expandLink("https://ci.example/{{ freight }}", { freight: "a b" })).toBe("https://ci.example/a%20b");
    expect(expandLink("javascript:{{freight}}", { freight: "x" })).toBeUndefined();
  });
});
