import Markdown, { type Components } from "react-markdown";

/**
 * Markdown an agent or the owner wrote (a task's description or plan), rendered to
 * React elements by react-markdown: no HTML string is ever built or injected.
 * Raw HTML in the source is dropped (`skipHtml`), images are not shown (they would
 * load from anywhere), and a link keeps its target only when it is an absolute
 * http(s) or mailto URL — `javascript:`, `data:`, relative and protocol-relative
 * targets become plain text.
 */
export function safeUrl(url: string): string | null {
  const value = url.trim();
  if (!/^(https?:\/\/|mailto:)/i.test(value)) return null;
  try {
    const parsed = new URL(value);
    return parsed.protocol === "http:" || parsed.protocol === "https:" || parsed.protocol === "mailto:" ? parsed.href : null;
  } catch {
    return null;
  }
}

const components: Components = {
  a: ({ href, children }) =>
    href ? (
      <a href={href} rel="noopener noreferrer nofollow">
        {children}
      </a>
    ) : (
      <span className="dead-link">{children}</span>
    ),
  // Headings inside a task's text would break the page's outline: shown as strong paragraphs.
  h1: ({ children }) => <p className="md-heading">{children}</p>,
  h2: ({ children }) => <p className="md-heading">{children}</p>,
  h3: ({ children }) => <p className="md-heading">{children}</p>,
  h4: ({ children }) => <p className="md-heading">{children}</p>,
  h5: ({ children }) => <p className="md-heading">{children}</p>,
  h6: ({ children }) => <p className="md-heading">{children}</p>,
};

export function MarkdownText({ source }: { source: string }) {
  return (
    <div className="markdown">
      <Markdown skipHtml disallowedElements={["img"]} urlTransform={(url) => safeUrl(url)} components={components}>
        {source}
      </Markdown>
    </div>
  );
}
