import { describe, expect, it } from "vitest";
import { githubSlug, normalizeRepoUrl, repoMatchKey } from "../../app/lib/projects/repo-url";

describe("repository URL normalization", () => {
  const githubForms = [
    "https://github.com/acme/widgets",
    "https://github.com/acme/widgets.git",
    "https://github.com/acme/widgets/",
    "https://www.github.com/acme/widgets",
    "http://github.com/acme/widgets.git/",
    "github.com/acme/widgets",
    "git@github.com:acme/widgets.git",
    "git@github.com:acme/widgets",
    "ssh://git@github.com/acme/widgets",
    "ssh://git@github.com/acme/widgets.git",
    "acme/widgets",
    "  https://github.com/acme/widgets  ",
  ];
  for (const form of githubForms) {
    it(`normalizes ${JSON.stringify(form)} to owner/repo`, () => {
      expect(normalizeRepoUrl(form)).toEqual({ ok: true, value: "acme/widgets", github: true });
    });
  }

  it("keeps dots, dashes and underscores in repository names", () => {
    expect(githubSlug("https://github.com/my-org/my_repo.js.git")).toBe("my-org/my_repo.js");
  });

  it("keeps a non-GitHub URL exactly as given (trimmed)", () => {
    expect(normalizeRepoUrl(" https://gitlab.com/acme/widgets.git ")).toEqual({
      ok: true,
      value: "https://gitlab.com/acme/widgets.git",
      github: false,
    });
    expect(normalizeRepoUrl("git@gitlab.example.com:acme/widgets.git")).toEqual({
      ok: true,
      value: "git@gitlab.example.com:acme/widgets.git",
      github: false,
    });
  });

  it("refuses what is not a repository URL", () => {
    for (const bad of [
      "",
      "   ",
      "not a url",
      "javascript:alert(1)",
      "ftp://example.com/x",
      "https://github.com/acme",
      "https://github.com/acme/widgets/tree/main",
      "a/b/c",
      "x".repeat(600),
    ]) {
      expect(normalizeRepoUrl(bad).ok, bad).toBe(false);
    }
  });

  it("matches the same GitHub repository whatever the form or case", () => {
    const key = repoMatchKey("acme/widgets");
    expect(key).toBe("github:acme/widgets");
    expect(repoMatchKey("git@github.com:ACME/Widgets.git")).toBe(key);
    expect(repoMatchKey("https://www.github.com/acme/widgets/")).toBe(key);
    expect(repoMatchKey("acme/widgets2")).not.toBe(key);
  });

  it("matches a non-GitHub URL with or without .git and a trailing slash", () => {
    expect(repoMatchKey("https://gitlab.com/acme/widgets.git")).toBe(repoMatchKey("https://gitlab.com/Acme/widgets/"));
    expect(repoMatchKey("nonsense")).toBeNull();
  });
});
