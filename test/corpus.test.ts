// The bad-input corpus (test/corpus/, docs/loading.md "Bad input"): every entry of
// test/corpus/index.json is a command line a person could type with something wrong in it (a
// malformed image, drive or cost file, a bad or conflicting option). Each must end with a
// non-zero exit, nothing on stdout, exactly one line on stderr - the expected message, naming
// the file or option and what is wrong - and never a stack trace.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const corpus = join(root, 'test', 'corpus');
const bin = join(root, 'bin', 'hvlab.js');
const tmp = mkdtempSync(join(tmpdir(), 'hvlab-corpus-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Entry { name: string; wrong: string; args: string[]; error: string }
const entries = JSON.parse(readFileSync(join(corpus, 'index.json'), 'utf8')) as Entry[];

// The one file too big to commit: an 8 MiB initrd (zeros) that cannot fit below the device tree.
writeFileSync(join(tmp, 'initrd-8M.img'), '');
truncateSync(join(tmp, 'initrd-8M.img'), 8 << 20);

function hvlab(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('error', reject);
    p.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
    p.stdin.end();
  });
}

describe('the corpus is what make-corpus.mjs writes', () => {
  it('every committed file is byte-identical to a fresh build, and every file is used', async () => {
    const fresh = join(tmp, 'fresh');
    const r = await new Promise<number | null>((res) => spawn(process.execPath, [join(corpus, 'make-corpus.mjs'), fresh]).on('close', res));
    expect(r).toBe(0);
    const built = readdirSync(fresh).sort();
    expect(built.length).toBeGreaterThan(25);
    for (const f of built) expect(readFileSync(join(corpus, f)).equals(readFileSync(join(fresh, f))), f).toBe(true);
    const used = new Set(entries.flatMap((e) => e.args).filter((a) => a.startsWith('test/corpus/')).map((a) => a.slice('test/corpus/'.length)));
    // Built files no entry uses would be dead weight; notes.txt is the raw-binary stand-in.
    for (const f of built) expect(used.has(f), `${f} is used by an entry of index.json`).toBe(true);
  });
  it('the index covers what issue 17 lists', () => {
    const names = entries.map((e) => e.name);
    for (const n of ['empty file as the image', 'truncated ELF header', 'ELF for another machine', 'ELF of another class',
      'ELF of another endianness', 'ELF segment outside RAM', 'overlapping segments', 'huge p_filesz',
      'program header table past EOF', 'Image with a bad magic', 'kernel too big for --mem', 'initrd too large',
      'drive not a multiple of 512', 'missing file', 'directory given as the image', 'unknown option', '--mem 0', '--mem 99T',
      '--mode nope', '--max-instructions -1', '--clock x', '--io x', '--firmware /nonexistent', '--drive and --disk']) {
      expect(names).toContain(n);
    }
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('bad input: one line on stderr naming the problem, exit status 2, no stack trace', () => {
  for (const e of entries) {
    it(`${e.name} (${e.wrong})`, async () => {
      const args = e.args.map((a) => a.replace('{tmp}', tmp));
      const r = await hvlab(args);
      const expected = `hvlab: ${e.error.replace('{tmp}', tmp)}\n`;
      expect(r.stderr).not.toMatch(/^\s+at /m); // a stack frame
      expect(r.stderr).not.toMatch(/node:internal|Error:/);
      expect(r.stderr.split('\n')).toHaveLength(2); // one line and its newline
      expect(r.stderr).toBe(expected);
      // A bad file's message names the file (a conflict between options names the options).
      const file = e.args.find((a) => a.startsWith('test/corpus/') || a.startsWith('{tmp}'));
      if (file && !e.wrong.startsWith('conflict')) expect(r.stderr).toContain(file.replace('{tmp}', tmp));
      expect(r.stdout).toBe('');
      expect(r.status).toBe(2);
    }, 40_000);
  }
});
