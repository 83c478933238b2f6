/**
 * The lesson pane's DOM-free parts in Node: its markdown (escaped, links kept to the web and the
 * docs) and the URL form of the lesson, its step and a snapshot (web/settings.ts).
 */
import { describe, test, expect } from 'vitest';
import { renderMarkdown } from '../../web/markdown.js';
import { readSettings, settingsQuery } from '../../web/settings.js';

describe('lesson markdown', () => {
  test('paragraphs, lists, code, emphasis and links', () => {
    expect(renderMarkdown('one **two** `x<y`\nthree *four*\n\n- a\n  b\n- [c](docs/hvos.md)\n\n### H\n```\n<pre>\n```'))
      .toBe('<p>one <b>two</b> <code>x&lt;y</code> three <i>four</i></p><ul><li>a b</li><li><a href="docs/hvos.md" target="_blank" rel="noopener">c</a></li></ul>'
        + '<h4>H</h4><pre>&lt;pre&gt;</pre>');
  });
  test('no HTML or script links from a lesson file reach the page', () => {
    const html = renderMarkdown('<img src=x onerror=alert(1)> [x](javascript:alert(1)) [y]("onmouseover=1)');
    expect(html).not.toMatch(/<img|javascript:|href="&quot;/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('<a href="#"');
  });
});

describe('lesson and snapshot in the URL', () => {
  test('round trip, with the settings', () => {
    const { settings, notes } = readSettings('?mode=pv&lesson=hvm-vs-pv&step=2&snapshot=snaps%2Fa.hvsnap');
    expect(notes).toEqual([]);
    expect(settings).toMatchObject({ mode: 'pv', lesson: 'hvm-vs-pv', step: 2, snapshot: 'snaps/a.hvsnap' });
    expect(settingsQuery(settings)).toBe('?mode=pv&lesson=hvm-vs-pv&step=2&snapshot=snaps%2Fa.hvsnap');
    // Step 0 is the default; a bad step is 0; an id of other characters is no lesson.
    expect(settingsQuery(readSettings('?lesson=io-paths&step=0').settings)).toBe('?lesson=io-paths');
    expect(readSettings('?lesson=io-paths&step=-3').settings.step).toBe(0);
    expect(readSettings('?lesson=<b>').settings.lesson).toBeUndefined();
  });
});
