import { ApiError } from '../../src/client/http';
import { formatTree } from '../../src/cli/commands/goals';
import { clip, describeError, formatTable, printable } from '../../src/cli/output';

/**
 * Titles, notes and names are anyone's text: printed raw, an ESC sequence in
 * a goal title can clear the screen, retitle the terminal, write to the
 * clipboard (OSC 52) or forge lines. Human output shows them as escapes.
 */

// OSC retitle, clear screen, BEL, CR (overwrites the line), a right-to-left override, a C1 CSI.
const HOSTILE = 'Deploy\x1b]0;owned\x07\x1b[2J\rfake\u202Eevil\x9b31m';
// eslint-disable-next-line no-control-regex -- what must not be printed
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('printable', () => {
  it('turns every control character into a visible escape', () => {
    expect(printable(HOSTILE)).toBe('Deploy\\x1b]0;owned\\x07\\x1b[2J\\rfake\\u202eevil\\x9b31m');
    expect(printable('a\nb\tc')).toBe('a\\nb\\tc');
  });

  it('keeps newlines when asked (our own multi-line output), and leaves plain text alone', () => {
    expect(printable('one\ntwo\x1b', true)).toBe('one\ntwo\\x1b');
    expect(printable('Zürich → 東京 ✓')).toBe('Zürich → 東京 ✓');
  });
});

describe('human output of hostile text', () => {
  it('tables escape their cells, and stay aligned', () => {
    const table = formatTable(['id', 'title', 'state'], [['goal_1', HOSTILE, 'active'], ['goal_2', 'plain', 'done']]);
    expect(table).not.toMatch(RAW);
    const [header, first] = table.split('\n');
    expect(first!.indexOf('active')).toBe(header!.indexOf('STATE'));
  });

  it('clipped titles and trees escape them; a newline in a title cannot forge a line', () => {
    expect(clip(HOSTILE, 200)).not.toMatch(RAW);
    const leaf = { id: 'goal_2', title: 'child\nroot  [done]  goal_x', kind: 'leaf', lifecycle: 'active', children: [] };
    const tree = formatTree({ id: 'goal_1', title: HOSTILE, kind: 'composite', lifecycle: 'active', children: [leaf] } as never);
    expect(tree).not.toMatch(RAW);
    expect(tree.split('\n')).toHaveLength(2);
  });

  it('with --output, shows each output under its goal, on one line, in the tree\'s own branches', () => {
    const leaf = (id: string, output: unknown) => ({ id, title: id, kind: 'leaf', lifecycle: 'done', done_reason: 'accepted', children: [], child_count: 0, output });
    const root = {
      id: 'goal_r',
      title: 'Root',
      kind: 'composite',
      lifecycle: 'active',
      child_count: 3,
      output: null,
      children: [leaf('goal_a', { exit_code: 0, stdout: 'hi\n', stderr: '' }), leaf('goal_b', `line\n${HOSTILE}`)],
    };
    const tree = formatTree(root as never, { output: true });
    expect(tree).not.toMatch(RAW);
    expect(tree.split('\n')).toEqual([
      'Root  [active]  goal_r',
      '├─ goal_a  [done (accepted)]  goal_a',
      '│     output: {"exit_code":0,"stdout":"hi\\n","stderr":""}',
      '├─ goal_b  [done (accepted)]  goal_b',
      expect.stringMatching(/^│ {5}output: "line\\n.*"$/),
      '└─ +1 more',
    ]);
    // Without it, the tree is as before: one line per goal.
    expect(formatTree(root as never).split('\n')).toHaveLength(4);
  });

  it("an API error's message is escaped on the error line", () => {
    const { message } = describeError(new ApiError(400, 'VALIDATION_FAILED', `title ${HOSTILE} is too long`, undefined), { url: 'http://127.0.0.1:3000', tokenSource: 'flag or REPRISE_TOKEN' });
    expect(message).not.toMatch(RAW);
    expect(message).toContain('\\x1b[2J');
  });
});
