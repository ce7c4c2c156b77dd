/**
 * A short, human description of a browser from its User-Agent string, for the
 * Sessions page ("Firefox 133 on Windows"). Table-driven and deliberately small:
 * the first matching rule wins, so more specific browsers come before the
 * engines they are built on (Edge and Opera before Chrome, Chrome before Safari).
 */

export interface DeviceDescription {
  browser: string;
  os: string;
}

interface BrowserRule {
  name: string;
  /** The first capture group, when present, is the version; only its major part is shown. */
  pattern: RegExp;
}

const BROWSERS: readonly BrowserRule[] = [
  { name: "PreqStation CLI", pattern: /^preqstation-cli/ },
  { name: "curl", pattern: /^curl\/(\d+)/ },
  { name: "Wget", pattern: /^Wget\/(\d+)/ },
  { name: "Node.js", pattern: /^node(?:-fetch)?\b|\bundici\b/i },
  { name: "Python", pattern: /^python-requests\/(\d+)|^Python-urllib\/(\d+)/ },
  { name: "Edge", pattern: /\bEdg(?:e|A|iOS)?\/(\d+)/ },
  { name: "Opera", pattern: /\b(?:OPR|OPT|Opera)\/(\d+)/ },
  { name: "Samsung Internet", pattern: /\bSamsungBrowser\/(\d+)/ },
  { name: "Vivaldi", pattern: /\bVivaldi\/(\d+)/ },
  { name: "Firefox", pattern: /\b(?:Firefox|FxiOS)\/(\d+)/ },
  { name: "Headless Chrome", pattern: /\bHeadlessChrome\/(\d+)/ },
  { name: "Chrome", pattern: /\b(?:Chrome|CriOS)\/(\d+)/ },
  { name: "Chromium", pattern: /\bChromium\/(\d+)/ },
  { name: "Safari", pattern: /\bVersion\/(\d+)(?:\.\d+)*.*\bSafari\// },
];

interface OsRule {
  name: string;
  pattern: RegExp;
}

const SYSTEMS: readonly OsRule[] = [
  { name: "iOS", pattern: /\b(?:iPhone|iPad|iPod)\b/ },
  { name: "Android", pattern: /\bAndroid\b/ },
  { name: "ChromeOS", pattern: /\bCrOS\b/ },
  { name: "Windows", pattern: /\bWindows\b/ },
  { name: "macOS", pattern: /\bMac OS X\b|\bMacintosh\b/ },
  { name: "Linux", pattern: /\bLinux\b|\bX11\b/ },
];

export const UNKNOWN_BROWSER = "Unknown browser";
export const UNKNOWN_OS = "unknown OS";

export function describeUserAgent(userAgent: string | null | undefined): DeviceDescription {
  const ua = (userAgent ?? "").slice(0, 512);
  let browser = UNKNOWN_BROWSER;
  for (const rule of BROWSERS) {
    const m = rule.pattern.exec(ua);
    if (m) {
      const version = m.slice(1).find((g) => g !== undefined);
      browser = version ? `${rule.name} ${version}` : rule.name;
      break;
    }
  }
  const os = SYSTEMS.find((rule) => rule.pattern.test(ua))?.name ?? UNKNOWN_OS;
  return { browser, os };
}

/** "Firefox 133 on Windows", or just the browser when the system is unknown. */
export function formatDevice(userAgent: string | null | undefined): string {
  const { browser, os } = describeUserAgent(userAgent);
  return os === UNKNOWN_OS ? browser : `${browser} on ${os}`;
}
