// The guided lessons (docs/lessons/*.md, src/lessons/): every experiment a lesson's buttons run
// is run here the same way, headless, and every claim the lesson makes about the numbers is
// checked, so a lesson whose numbers stop being true fails here instead of misleading a student.
import { describe, expect, test } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCoreModule } from '../src/node/load-core.js';
import { evalCheck, formatFigure, lessonChecks, parseLesson, LessonError, type Lesson, type Results } from '../src/lessons/format.js';
import { runExperiment, runFleetExperiment } from '../src/lessons/run.js';
import { HVOS_ELF } from './support/hvos.js';

const DIR = join('docs', 'lessons');
const files = readdirSync(DIR).filter((f) => /^\d+-.*\.md$/.test(f)).sort();
const lessons: Lesson[] = files.map((f) => parseLesson(f, readFileSync(join(DIR, f), 'utf8')));
const hvos = readFileSync(HVOS_ELF);

describe('the lessons', () => {
  test('five lessons, in order, each with experiments, checks and answered questions', () => {
    expect(lessons.map((l) => l.id)).toEqual(['trap-emulate', 'hvm-vs-pv', 'shadow-vs-nested', 'io-paths', 'many-vms']);
    expect(lessons.map((l) => l.order)).toEqual([1, 2, 3, 4, 5]);
    for (const l of lessons) {
      expect(l.experiments.size, l.id).toBeGreaterThanOrEqual(2);
      expect(lessonChecks(l).length, l.id).toBeGreaterThanOrEqual(3);
      const answers = l.steps.flatMap((s) => s.blocks.filter((b) => b.kind === 'answer'));
      expect(answers.length, l.id).toBeGreaterThanOrEqual(2);
      expect(l.steps.length, l.id).toBeGreaterThanOrEqual(2);
    }
  });

  for (const lesson of lessons) {
    test(`${lesson.id}: every claim holds on the deterministic counters`, async () => {
      const source = await loadCoreModule();
      const results: Results = new Map();
      for (const e of lesson.experiments.values()) {
        const r = e.kind === 'run' ? await runExperiment(e, source, hvos) : await runFleetExperiment(e, source, hvos);
        // What the page shows must exist: a misspelt counter would show as a blank.
        for (const name of e.show) expect(Object.keys(r.figures), `${lesson.id}: ${e.name} shows ${name}`).toContain(name);
        if (e.kind === 'run') expect(r.console, `${lesson.id}: ${e.name}`).toContain(e.commands[0]);
        results.set(e.name, r.figures);
      }
      const failed: string[] = [];
      for (const c of lessonChecks(lesson)) {
        const v = evalCheck(c, results);
        if (v.ok !== true) failed.push(`docs/lessons/${lesson.file}:${c.line}: ${c.text} (the left side is ${v.value === undefined ? 'not measured' : formatFigure(v.value)})`);
      }
      expect(failed).toEqual([]);
    }, 300_000);
  }
});

describe('the lesson format', () => {
  const bad = (text: string) => () => parseLesson('09-x.md', text);
  test('a well-formed lesson: steps, experiments, checks with arithmetic', () => {
    const l = parseLesson('07-demo.md', [
      '# Demo', 'intro', '## One', '```hvlab-run a', 'label: A', 'mode: pv', 'command: syscall 10', 'command: compute 5', 'show: EXITS', '```',
      '```hvlab-check', 'a.EXITS / (2 + 3) between 1 and 2', 'a.EXITS - 1 >= 4', '```', '## Two', '```hvlab-answer', 'yes', '```'].join('\n'));
    expect(l).toMatchObject({ id: 'demo', order: 7, title: 'Demo' });
    expect(l.steps.map((s) => s.title)).toEqual(['', 'One', 'Two']);
    expect(l.experiments.get('a')).toMatchObject({ mode: 'pv', io: 'emulated', disk: 'none', commands: ['syscall 10', 'compute 5'], show: ['EXITS'] });
    const [c1, c2] = lessonChecks(l);
    expect(evalCheck(c1, new Map([['a', { EXITS: 7.5 }]]))).toEqual({ ok: true, value: 1.5 });
    expect(evalCheck(c1, new Map([['a', { EXITS: 11 }]]))).toEqual({ ok: false, value: 2.2 });
    expect(evalCheck(c2, new Map([['a', { EXITS: 5 }]]))).toEqual({ ok: true, value: 4 });
    expect(evalCheck(c2, new Map())).toEqual({ ok: undefined, value: undefined });
    expect(() => evalCheck(c2, new Map([['a', { EXIT: 5 }]]))).toThrow('a.EXITS: no such counter or figure');
  });
  test('mistakes are named with file and line', () => {
    expect(() => parseLesson('notes.md', '# x')).toThrow('notes.md:1: a lesson file is named NN-id.md');
    expect(bad('no title')).toThrow('09-x.md:1: a lesson starts with a `# Title` line');
    expect(bad('# T\n```hvlab-run a\nlabel: x\nmode: vmx\ncommand: ls\n```')).toThrow("09-x.md:4: mode 'vmx' is not one of native");
    expect(bad('# T\n```hvlab-run a\nlabel: x\nmode: pv\n```')).toThrow("experiment 'a' needs at least one 'command:'");
    expect(bad('# T\n```hvlab-run a\nlabel: x\nmode: pv\ncolour: red\ncommand: ls\n```')).toThrow("unknown key 'colour'");
    expect(bad('# T\n```hvlab-check\nb.EXITS > 1\n```')).toThrow("09-x.md:3: 'b' is not an experiment defined above this check");
    expect(bad('# T\n```hvlab-run a\nlabel: x\nmode: pv\ncommand: ls\n```\n```hvlab-check\na.EXITS >> 1\n```')).toThrow("'>' is not a number or EXPERIMENT.COUNTER");
    expect(bad('# T\n```hvlab-run a\nlabel: x\nmode: pv\ncommand: ls\n```\n```hvlab-check\na.EXITS\n```')).toThrow("a check is 'EXPR OP EXPR'");
    expect(bad('# T\n```hvlab-quiz\n```')).toThrow("unknown block 'hvlab-quiz'");
    expect(bad('# T\n```hvlab-run a\nlabel: x')).toThrow('code block is not closed');
    expect(bad('# T\n```hvlab-fleet f\nlabel: x\nconfig: {nope\n```')).toThrow("experiment 'f': config is not valid JSON");
  });
});
