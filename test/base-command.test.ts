import { describe, expect, it } from '@jest/globals';
import { Errors } from '@oclif/core';

import { describeError } from '../src/lib/base-command.js';
import { ApiError, DeniedResult, ManifestError, UsageError } from '../src/lib/errors.js';

describe('describeError', () => {
  it('prints a usage error as one line and a hint, exit 2', () => {
    expect(describeError(new UsageError('bad --port', 'write 80/TCP'))).toEqual({
      exitCode: 2,
      lines: ['error: bad --port', 'hint: write 80/TCP'],
    });
  });

  it('keeps the exit code of runtime errors and collapses their lines', () => {
    expect(describeError(new ApiError('forbidden:\n  list pods', 403))).toEqual({
      exitCode: 1,
      lines: ['error: forbidden: list pods'],
    });
    expect(describeError(new ManifestError('bad YAML', 'a.yaml', 3)).lines).toEqual(['error: a.yaml:3: bad YAML']);
  });

  it('prints nothing for a denied yes/no answer, exit 1', () => {
    expect(describeError(new DeniedResult('no'))).toEqual({ exitCode: 1, lines: [] });
  });

  it('turns oclif parse errors into usage errors without their boilerplate', () => {
    const error = Object.assign(
      new Errors.CLIError(
        'The following error occurred:\n  --from=<value> must also be provided\nSee more help with --help',
      ),
      { parse: {} },
    );
    expect(describeError(error)).toEqual({
      exitCode: 2,
      lines: ['error: --from=<value> must also be provided', 'hint: see --help for usage'],
    });
  });

  it('prints an unexpected error as one line, with the stack only under DEBUG', () => {
    const error = new TypeError('x is undefined');
    expect(describeError(error, {})).toEqual({ exitCode: 1, lines: ['error: x is undefined'] });
    const debug = describeError(error, { DEBUG: '1' });
    expect(debug.lines[1]).toContain('TypeError: x is undefined');
  });
});
