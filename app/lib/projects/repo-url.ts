/**
 * Repository URLs. GitHub URLs in any common form (https with or without
 * `www.`, `.git` or a trailing slash; `git@github.com:owner/repo.git`;
 * `ssh://git@github.com/owner/repo`; bare `owner/repo`) normalize to
 * `owner/repo`. Any other URL is kept as given, once it parses as a URL
 * (http, https, ssh, git) or an scp-like `user@host:path`.
 */

const OWNER = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})";
const REPO = "[A-Za-z0-9._-]{1,100}";
const GITHUB_FORMS: RegExp[] = [
  new RegExp(`^(${OWNER})/(${REPO})$`),
  new RegExp(`^(?:https?://)?(?:www\\.)?github\\.com/(${OWNER})/(${REPO})/?$`, "i"),
  new RegExp(`^git@github\\.com:(${OWNER})/(${REPO})/?$`, "i"),
  new RegExp(`^(?:ssh|git\\+ssh)://git@github\\.com(?::22)?/(${OWNER})/(${REPO})/?$`, "i"),
  new RegExp(`^git://github\\.com/(${OWNER})/(${REPO})/?$`, "i"),
];
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+$/;
export const REPO_URL_MAX = 500;

export type RepoUrl = { ok: true; value: string; github: boolean } | { ok: false; message: string };

/** The GitHub `owner/repo` of `input`, or null when it is not a GitHub repository URL. */
export function githubSlug(input: string): string | null {
  const trimmed = input.trim();
  for (const form of GITHUB_FORMS) {
    const m = form.exec(trimmed);
    if (!m) continue;
    const owner = m[1]!;
    const repo = m[2]!.replace(/\.git$/i, "");
    if (!repo || repo === "." || repo === ".." || owner.endsWith("-")) return null;
    return `${owner}/${repo}`;
  }
  return null;
}

/** Normalizes a repository URL for storage, or says why it is not one. */
export function normalizeRepoUrl(input: string): RepoUrl {
  const trimmed = input.trim();
  if (!trimmed) return { ok: false, message: "Repository URL is empty" };
  if (trimmed.length > REPO_URL_MAX) return { ok: false, message: `Repository URL must be at most ${REPO_URL_MAX} characters` };
  const slug = githubSlug(trimmed);
  if (slug) return { ok: true, value: slug, github: true };
  if (/github\.com/i.test(trimmed)) {
    return { ok: false, message: "Not a GitHub repository URL; expected https://github.com/owner/repo or owner/repo" };
  }
  if (SCP_LIKE.test(trimmed)) return { ok: true, value: trimmed, github: false };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { ok: false, message: "Not a valid repository URL" };
  }
  if (!["http:", "https:", "ssh:", "git:", "git+ssh:"].includes(url.protocol) || !url.hostname) {
    return { ok: false, message: "Repository URL must use http, https, ssh or git" };
  }
  if (/[\s\p{Cc}]/u.test(trimmed)) return { ok: false, message: "Repository URL contains control characters" };
  return { ok: true, value: trimmed, github: false };
}

/**
 * The form two repository URLs are compared in: lower-case `owner/repo` for
 * GitHub (GitHub names are case-insensitive); otherwise the URL lower-cased
 * without a trailing slash or `.git`. Null when `input` is not a repository URL.
 */
export function repoMatchKey(input: string): string | null {
  const normalized = normalizeRepoUrl(input);
  if (!normalized.ok) return null;
  if (normalized.github) return `github:${normalized.value.toLowerCase()}`;
  return normalized.value
    .toLowerCase()
    .replace(/\/+$/, "")
    .replace(/\.git$/, "");
}
