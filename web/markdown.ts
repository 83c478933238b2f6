/**
 * The little markdown the guided lessons use (docs/lessons/README.md), turned into HTML for the
 * lesson pane (web/lessons.ts). DOM-free, so the Node tests check it. Everything is escaped
 * first: no HTML from a lesson file reaches the page, and a link goes only to the web or to the
 * docs beside the page.
 */

export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[ch] as string));
}

/** Inline markdown: code, bold, emphasis, links (relative ones to the docs beside the page). */
function inline(text: string): string {
  const parts = text.split(/(`[^`]+`)/);
  return parts.map((part) => {
    if (part.startsWith('`') && part.endsWith('`') && part.length > 1) return `<code>${esc(part.slice(1, -1))}</code>`;
    return esc(part)
      .replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>')
      .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, '$1<i>$2</i>')
      .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, label: string, href: string) => {
        const safe = /^(https?:|\.\.?\/|docs\/|#)/.test(href) ? href : '#';
        return `<a href="${safe}" target="_blank" rel="noopener">${label}</a>`;
      });
  }).join('');
}

/**
 * The markdown the lessons use: paragraphs, `-` lists, `###` headings, fenced code, inline code,
 * bold, emphasis and links. Everything is escaped first: no HTML from a file reaches the page.
 */
export function renderMarkdown(md: string): string {
  const out: string[] = [];
  const lines = md.split('\n');
  let para: string[] = [];
  let list: string[] | undefined;
  const flushPara = () => { if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`); para = []; };
  const flushList = () => { if (list) out.push(`<ul>${list.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`); list = undefined; };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('```')) {
      flushPara(); flushList();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
      out.push(`<pre>${esc(code.join('\n'))}</pre>`);
      continue;
    }
    const h = /^#{3,6} (.+)$/.exec(line);
    if (h) { flushPara(); flushList(); out.push(`<h4>${inline(h[1])}</h4>`); continue; }
    const item = /^\s*[-*] (.+)$/.exec(line);
    if (item) { flushPara(); (list ??= []).push(item[1]); continue; }
    if (line.trim() === '') { flushPara(); flushList(); continue; }
    // A list item's continuation line (indented) belongs to the item.
    if (list && /^\s+\S/.test(line)) { list[list.length - 1] += ` ${line.trim()}`; continue; }
    flushList();
    para.push(line.trim());
  }
  flushPara(); flushList();
  return out.join('');
}
